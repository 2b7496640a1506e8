"""The Rekognition engine against botocore's Stubber: every request is checked
against the real service model and against the exact parameters we expect."""

import boto3
import pytest
from botocore.stub import ANY

from photosense_cli import engines
from photosense_cli.engines.base import FACE_MATCH_THRESHOLD, Usage, cost_usd
from photosense_cli.engines.rekognition import RekognitionEngine, make_client
from photosense_cli.errors import EngineError, ItemFailed, Throttled
from tests.stubs import ConcurrentStubber

IMAGE = b"\xff\xd8\xff fake jpeg bytes"
SHA = "a" * 64


def engine(client, collection="photosense-lib1"):
    return RekognitionEngine(client, collection)


def box(left, top, width, height):
    return {"Left": left, "Top": top, "Width": width, "Height": height}


def test_index_faces_sends_bytes_into_the_collection_with_the_hash_as_external_id(client, stub):
    stub.add_response("index_faces", {"FaceRecords": [
        {"Face": {"FaceId": "11111111-1111-1111-1111-111111111111",
                  "BoundingBox": box(0.1, 0.2, 0.3, 0.4), "Confidence": 99.5}},
        {"Face": {"FaceId": "22222222-2222-2222-2222-222222222222",
                  "BoundingBox": box(-0.02, 0.9, 0.2, 0.2), "Confidence": 91.0}},
    ]}, {"CollectionId": "photosense-lib1", "Image": {"Bytes": IMAGE}, "ExternalImageId": SHA,
         "DetectionAttributes": ["DEFAULT"], "QualityFilter": "AUTO"})
    usage = Usage()

    faces = engine(client).index_faces(IMAGE, SHA, usage)

    assert [f.face_id[:8] for f in faces] == ["11111111", "22222222"]
    assert faces[0].box.as_tuple() == (0.1, 0.2, 0.3, 0.4) and faces[0].confidence == 99.5
    assert faces[1].box.left == 0.0 and faces[1].box.height == pytest.approx(0.1)  # clamped
    assert [c[0] for c in usage.calls] == ["IndexFaces"] and usage.calls[0][2] is None


def test_detect_text_keeps_only_lines_above_80(client, stub):
    geometry = {"BoundingBox": box(0.1, 0.1, 0.5, 0.1), "Polygon": []}
    stub.add_response("detect_text", {"TextDetections": [
        {"DetectedText": "Palais du LOUVRE", "Type": "LINE", "Confidence": 99.1, "Geometry": geometry},
        {"DetectedText": "Palais", "Type": "WORD", "Confidence": 99.5, "Geometry": geometry},
        {"DetectedText": "blurry sign", "Type": "LINE", "Confidence": 80.0, "Geometry": geometry},
        {"DetectedText": "Mairie", "Type": "LINE", "Confidence": 80.5, "Geometry": geometry},
    ]}, {"Image": {"Bytes": IMAGE}})

    lines = engine(client).detect_text(IMAGE, Usage())

    assert [ln.text for ln in lines] == ["Palais du LOUVRE", "Mairie"]
    assert lines[0].box.as_tuple() == (0.1, 0.1, 0.5, 0.1)


def test_search_faces_at_90_never_returns_the_face_itself(client, stub):
    me = "33333333-3333-3333-3333-333333333333"
    stub.add_response("search_faces", {"SearchedFaceId": me, "FaceMatches": [
        {"Similarity": 99.0, "Face": {"FaceId": "44444444-4444-4444-4444-444444444444"}},
        {"Similarity": 100.0, "Face": {"FaceId": me}},
    ]}, {"CollectionId": "photosense-lib1", "FaceId": me, "FaceMatchThreshold": 90.0,
         "MaxFaces": 100})

    matches = engine(client).search_faces(me, FACE_MATCH_THRESHOLD, Usage())

    assert [(m.face_id[:8], m.similarity) for m in matches] == [("44444444", 99.0)]


def test_open_collection_creates_it_once_and_accepts_an_existing_one(client, stub):
    stub.add_response("create_collection", {"StatusCode": 200},
                      {"CollectionId": "photosense-lib1"})
    stub.add_client_error("create_collection", "ResourceAlreadyExistsException",
                          expected_params={"CollectionId": "photosense-lib1"})
    e = engine(client, None)
    e.open_collection("photosense-lib1", [])
    e.open_collection("photosense-lib1", [])
    assert e.collection_id == "photosense-lib1"


def test_delete_faces_in_batches_of_4096_and_list_faces_pages(client, stub):
    ids = [f"{i:08d}-0000-0000-0000-000000000000" for i in range(5000)]
    stub.add_response("delete_faces", {"DeletedFaces": ids[:4096]},
                      {"CollectionId": "photosense-lib1", "FaceIds": ids[:4096]})
    stub.add_response("delete_faces", {"DeletedFaces": ids[4096:]},
                      {"CollectionId": "photosense-lib1", "FaceIds": ids[4096:]})
    stub.add_response("list_faces", {"Faces": [{"FaceId": ids[0], "ExternalImageId": SHA}],
                                     "NextToken": "t1"},
                      {"CollectionId": "photosense-lib1", "MaxResults": 4096})
    stub.add_response("list_faces", {"Faces": [{"FaceId": ids[1], "ExternalImageId": SHA}]},
                      {"CollectionId": "photosense-lib1", "MaxResults": 4096, "NextToken": "t1"})
    e = engine(client)
    e.delete_faces(ids)
    assert list(e.list_faces()) == [(ids[0], SHA), (ids[1], SHA)]


def test_errors_for_one_photo_are_bad_images_and_errors_for_all_are_fatal(client, stub):
    stub.add_client_error("detect_text", "InvalidImageFormatException", "Request has invalid image format")
    stub.add_client_error("detect_text", "ProvisionedThroughputExceededException", "slow down")
    stub.add_client_error("detect_text", "AccessDeniedException", "not allowed")
    e = engine(client)
    usage = Usage()
    with pytest.raises(ItemFailed, match="InvalidImageFormatException") as bad:
        e.detect_text(IMAGE, usage)
    assert bad.value.permanent  # the file is the problem: remembered until it changes
    with pytest.raises(Throttled, match="ProvisionedThroughput") as busy:
        e.detect_text(IMAGE, usage)  # for the importer's Pacer: slow down, send again
    assert not busy.value.permanent
    with pytest.raises(EngineError, match="AccessDenied"):
        e.detect_text(IMAGE, usage)
    # Failed calls are logged too; a throttled one is counted apart and never billed.
    assert [(op, c is not None) for op, _, c in usage.calls] == [("DetectText", True)] * 2
    assert usage.throttled == {"DetectText": 1}


def test_both_throttling_codes_reach_the_importers_pacer(client, stub):
    for code in ("ThrottlingException", "ProvisionedThroughputExceededException"):
        stub.add_client_error("index_faces", code, "slow down")
    usage = Usage()
    for _ in range(2):
        with pytest.raises(Throttled):
            engine(client).index_faces(IMAGE, SHA, usage)
    assert usage.throttled == {"IndexFaces": 2} and usage.calls == []


def test_housekeeping_calls_are_sent_again_after_a_passing_fault(client, stub):
    from photosense_cli.pacing import Pacers

    waits: list[float] = []
    e = engine(client)
    e.housekeeping = Pacers(sleep=waits.append)
    stub.add_client_error("delete_faces", "InternalServerError", "try later", 500)
    stub.add_client_error("delete_faces", "ThrottlingException", "slow down", 400)
    stub.add_response("delete_faces", {"DeletedFaces": ["f1"]},
                      {"CollectionId": "photosense-lib1", "FaceIds": ["f1"]})
    e.delete_faces(["f1"])
    stub.assert_no_pending_responses()
    assert waits[0] == 0.5  # pacing.FAULT_WAITS, as for a photo's calls
    assert e.housekeeping.pacer("DeleteFaces").throttles == 1  # the pace was cut


def test_a_throttled_collection_is_created_at_the_pace_the_service_allows(client, stub):
    """Seven throttles in a row (0.7 ** 7: one new library in 12 at a 70 % throttle rate)
    used to end the first import; the call is paced and sent again like a photo's."""
    from photosense_cli.pacing import Pacers

    e = engine(client)
    e.housekeeping = Pacers(sleep=lambda s: None)
    for _ in range(7):
        stub.add_client_error("create_collection", "ThrottlingException", "slow down", 400)
    stub.add_response("create_collection", {"StatusCode": 200},
                      {"CollectionId": "photosense-lib2"})
    e.open_collection("photosense-lib2", [])
    stub.assert_no_pending_responses()
    assert e.housekeeping.pacer("CreateCollection").throttles == 7
    assert e.collection_id == "photosense-lib2"


def test_the_pipeline_through_stubbed_rekognition(client, stub, tmp_path):
    """One photo through the real importer: the exact calls, in order, with the photo's hash."""
    import hashlib

    from photosense_cli.catalogue import Catalogue
    from photosense_cli.pipeline.importjob import Importer
    from tests.conftest import BOX, photo

    def open_collection_of_library(cat, engine):
        engine.open_collection(cat.collection_id(), [])
        with cat.transaction():
            cat.set_meta("collection_id", cat.collection_id())

    p = photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    data = p.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    cat = Catalogue(tmp_path / "lib.db")
    collection = f"photosense-{cat.get_meta('library_id')}"
    face = "55555555-5555-5555-5555-555555555555"
    stub.add_response("create_collection", {"StatusCode": 200}, {"CollectionId": collection})
    stub.add_response("index_faces", {"FaceRecords": [{"Face": {
        "FaceId": face, "BoundingBox": box(0.1, 0.1, 0.25, 0.3), "Confidence": 99.0}}]},
        {"CollectionId": collection, "Image": {"Bytes": data}, "ExternalImageId": sha,
         "DetectionAttributes": ["DEFAULT"], "QualityFilter": "AUTO"})
    stub.add_response("detect_text", {"TextDetections": []}, {"Image": {"Bytes": data}})
    stub.add_response("search_faces", {"FaceMatches": []},
                      {"CollectionId": collection, "FaceId": face, "FaceMatchThreshold": 80.0,
                       "MaxFaces": 100})

    engine = RekognitionEngine(client)
    open_collection_of_library(cat, engine)
    s = Importer(cat, engine, threads=1).run([str(tmp_path / "pics")])

    assert s.new == 1 and s.faces == 1 and s.people_created == 1
    assert s.to_json()["estimated_cost_usd"] == pytest.approx(0.003)
    assert cat.get_meta("collection_id") == collection
    # a rerun: no call at all (the stubber has no response left to give)
    again = Importer(cat, RekognitionEngine(client), threads=1).run([str(tmp_path / "pics")])
    assert again.skipped == 1 and sum(again.calls.values()) == 0


def test_a_match_in_the_band_asks_instead_of_joining_through_stubbed_rekognition(
        client, stub, tmp_path):
    """SearchFaces asks down to 80 (same price); a match at 85 to Ada's face starts its
    own person and queues "is this Ada?", one at 95 joins her."""

    from photosense_cli.catalogue import Catalogue
    from photosense_cli.pipeline.importjob import Importer
    from tests.conftest import BOX, photo

    cat = Catalogue(tmp_path / "lib.db")
    collection = f"photosense-{cat.get_meta('library_id')}"
    ada, maybe, sure = ("%s-1111-1111-1111-111111111111" % (c * 8) for c in "abc")
    stub.add_response("create_collection", {"StatusCode": 200}, {"CollectionId": collection})
    for i, (face, matches) in enumerate(((ada, []), (maybe, [(ada, 85.0)]),
                                         (sure, [(ada, 95.0), (maybe, 84.0)]))):
        photo(tmp_path / f"pics{i}" / "p.jpg", faces=[(0, BOX)], size=(640 + 10 * i, 480))
        stub.add_response("index_faces", {"FaceRecords": [{"Face": {
            "FaceId": face, "BoundingBox": box(0.1, 0.1, 0.25, 0.3), "Confidence": 99.0}}]},
            {"CollectionId": collection, "Image": ANY, "ExternalImageId": ANY,
             "DetectionAttributes": ["DEFAULT"], "QualityFilter": "AUTO"})
        stub.add_response("detect_text", {"TextDetections": []}, {"Image": ANY})
        stub.add_response("search_faces", {"FaceMatches": [
            {"Similarity": sim, "Face": {"FaceId": other}} for other, sim in matches]},
            {"CollectionId": collection, "FaceId": face, "FaceMatchThreshold": 80.0,
             "MaxFaces": 100})
    engine = RekognitionEngine(client)
    engine.open_collection(cat.collection_id(), [])
    with cat.transaction():
        cat.set_meta("collection_id", cat.collection_id())
    summaries = [Importer(cat, engine, threads=1).run([str(tmp_path / f"pics{i}")])
                 for i in range(3)]
    stub.assert_no_pending_responses()
    owner = {r["engine_face_id"]: r["person_id"] for r in cat.query(
        "SELECT engine_face_id, person_id FROM faces")}
    assert [s.people_created for s in summaries] == [1, 1, 0]
    assert summaries[1].faces_suggested == 1 and owner[sure] == owner[ada] != owner[maybe]
    [asked] = cat.face_suggestions()
    assert asked.person[0] == owner[ada] and asked.score == 85.0
    cat.close()


def test_client_uses_standard_configuration_and_leaves_retries_to_the_pacer(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_ENDPOINT_URL_REKOGNITION", "http://127.0.0.1:9")
    client = make_client(None, "eu-west-1", 8)
    assert client.meta.endpoint_url == "http://127.0.0.1:9"
    # botocore's retries would hide a throttle from the importer's Pacer: one attempt.
    assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 1}
    assert client.meta.region_name == "eu-west-1"


def test_missing_region_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(EngineError, match="--region"):
        make_client(None, None, 8)


def test_a_new_library_never_picks_the_cloud_on_its_own(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")  # credentials are no request to upload
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    assert engines.choose_engine_name(None, None) == "local"
    assert engines.choose_engine_name(None, "rekognition") == "rekognition"
    assert engines.choose_engine_name("rekognition", None) == "rekognition"
    with pytest.raises(EngineError, match="unknown engine"):
        engines.choose_engine_name(None, "google")


def test_cost_comes_from_each_engines_own_prices():
    from photosense_cli.engines.local import LocalEngine

    calls = {"IndexFaces": 1000, "DetectText": 1000, "SearchFaces": 2500, "ListFaces": 3}
    assert cost_usd(RekognitionEngine, calls) == pytest.approx(4.5)
    assert cost_usd(LocalEngine, calls) == 0.0
    assert engines.cost("rekognition", calls) == pytest.approx(4.5)
    assert engines.cost(None, calls) == 0.0


def test_a_timeout_fails_the_photo_not_the_run(client, monkeypatch):
    import botocore.exceptions

    def times_out(**kw):
        raise botocore.exceptions.ReadTimeoutError(endpoint_url="https://rekognition")

    monkeypatch.setattr(client, "detect_text", times_out)
    usage = Usage()
    with pytest.raises(ItemFailed, match="Read timeout") as e:
        engine(client).detect_text(IMAGE, usage)
    assert e.value.permanent is False  # the next run tries that photo again
    assert usage.calls[0][0] == "DetectText" and "Read timeout" in usage.calls[0][2]


def test_a_collection_deleted_outside_photosense_is_not_made_anew(client, stub):
    from photosense_cli.errors import CollectionMissing

    stub.add_client_error("describe_collection", "ResourceNotFoundException",
                          expected_params={"CollectionId": "photosense-lib1"})
    with pytest.raises(CollectionMissing, match="photosense-lib1"):
        engine(client, None).open_collection("photosense-lib1", [], create=False)


@pytest.fixture
def aws_in_env(monkeypatch):
    """Credentials and AWS_REGION as the AWS CLI reads them; the client is stubbed."""
    from photosense_cli.engines import rekognition

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_REGION", "eu-west-2")
    made = {}

    def stubbed(profile, region, workers):
        client = boto3.client("rekognition", region_name=region)
        made["stub"] = ConcurrentStubber(client)
        made["stub"].activate()
        made["region"] = region
        return client

    monkeypatch.setattr(rekognition, "make_client", stubbed)
    return made


def test_the_first_cloud_import_asks_before_sending_anything(aws_in_env, tmp_path, monkeypatch):
    from photosense_cli.cli import import_cmd
    from tests.conftest import BOX, Cli, photo

    for i in range(3):
        photo(tmp_path / "pics" / f"{i}.jpg", faces=[(i, BOX)], size=(640 + i, 480))
    monkeypatch.setattr(import_cmd, "interactive", lambda: True)
    cli = Cli(tmp_path / "lib.db")

    r = cli.runner.invoke(__import__("photosense_cli.cli", fromlist=["app"]).app,
                          ["import", str(tmp_path / "pics"), "--engine", "rekognition",
                           "--library", str(cli.library)], input="n\n", catch_exceptions=False)

    assert r.exit_code == 1
    # the question on lines of its own, before anything else is said
    assert r.stderr.startswith(
        "3 photos will be sent to Amazon Rekognition in eu-west-2 for faces and text, for "
        "about $0.01 (1 face a photo assumed).\nA photo holding 100 words or more (a page, a "
        "whiteboard) is read again in up to 4 bands, $0.004 more each (--max-text-tiles)."
        "\nGo on? [y/N]")
    assert r.stderr.endswith("photosense: nothing was sent, and no library was made\n")
    assert aws_in_env["region"] == "eu-west-2"
    # nothing is left of the library the user declined, lock included
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pics"]


def test_a_script_is_told_and_the_import_goes_on(aws_in_env, tmp_path, monkeypatch):
    from photosense_cli.catalogue import Catalogue
    from tests.conftest import BOX, Cli, photo

    p = photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    cli = Cli(tmp_path / "lib.db")
    stubs = stub_new_library(monkeypatch, cli, p, None, detect_texts=1)
    r = cli("import", tmp_path / "pics", "--engine", "rekognition")

    assert ("1 photo will be sent to Amazon Rekognition in eu-west-2 for faces and text, for "
            "about $0.00 (1 face a photo assumed)\n") in r.stderr
    assert Catalogue(cli.library).get_meta("engine") == "rekognition"
    stubs[0].assert_no_pending_responses()


def test_a_new_cloud_library_starts_under_throttling(aws_in_env, tmp_path, monkeypatch):
    """Five throttled CreateCollection calls in a row: the import waits and goes on."""
    from photosense_cli.catalogue import Catalogue
    from tests.conftest import BOX, Cli, photo

    p = photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    cli = Cli(tmp_path / "lib.db")
    stubs = stub_new_library(monkeypatch, cli, p, "f-1", detect_texts=1, throttled_creates=5)
    r = cli.json("import", tmp_path / "pics", "--engine", "rekognition", "--yes")
    stubs[0].assert_no_pending_responses()
    assert r["files"]["new"] == 1 and r["faces"] == 1 and r["files"]["failed"] == 0
    assert Catalogue(cli.library).get_meta("engine") == "rekognition"


def test_a_dry_run_estimates_the_cloud_without_credentials(tmp_path):
    from tests.conftest import BOX, Cli, photo

    for i in range(4):
        photo(tmp_path / "pics" / f"{i}.jpg", faces=[(i, BOX)], size=(640 + i, 480))
    r = Cli(tmp_path / "lib.db")("import", tmp_path / "pics", "--engine", "rekognition",
                                 "--dry-run")
    assert r.stderr.splitlines() == [
        "SearchFaces estimated at 1.00 faces a photo (assumed: no photo analysed yet)",
        "A photo holding 100 words or more (a page, a whiteboard) is read again in up to 4 "
        "bands, $0.004 more each (--max-text-tiles)",
        "Would analyse 4 new photos; 0 failed.",
        "rekognition calls (estimated): DetectText 4, IndexFaces 4, SearchFaces 4 ≈ $0.012."]
    assert not (tmp_path / "lib.db").exists()


def test_max_cost_stops_a_run_before_it_spends_more(cli_priced, tmp_path):
    cli, fake = cli_priced
    for i in range(10):
        photo_ = __import__("tests.conftest", fromlist=["photo"]).photo
        photo_(tmp_path / "pics" / f"{i}.jpg", faces=[(i % 12, (0.1, 0.1, 0.25, 0.3))],
               size=(640 + i, 480))

    r = cli("import", tmp_path / "pics", "--engine", "fake", "--workers", "1", "--max-cost",
            "0.012", "--json", code=2)

    s = __import__("json").loads(r.stdout)
    assert s["files"]["new"] == 4 and s["files"]["over_budget"] == 6
    assert s["max_cost_reached"] is True and s["estimated_cost_usd"] <= 0.012
    assert r.stderr.endswith("photosense: --max-cost: stopped before spending more than $0.01: "
                             "6 photos not started; run again to go on\n")
    status = cli.json("status")
    assert status["last_import"]["cost_usd"] == s["estimated_cost_usd"]
    again = cli.json("import", tmp_path / "pics")  # no cap: the rest are analysed
    assert again["files"]["new"] == 6


@pytest.fixture
def cli_priced(fake, library, monkeypatch):
    """The fake engine at Rekognition's prices."""
    from tests.conftest import Cli

    monkeypatch.setattr(type(fake), "prices_usd", RekognitionEngine.prices_usd)
    return Cli(library), fake


def test_the_concurrent_stubber_keeps_order_per_operation_and_checks_parameters(client):
    """A photo's IndexFaces and DetectText race each other; the stubber used by the
    CLI tests must accept either order and still check every request."""
    from botocore.exceptions import StubAssertionError

    stub = ConcurrentStubber(client)
    stub.add_response("index_faces", {"FaceRecords": []},
                      {"CollectionId": "c", "Image": {"Bytes": IMAGE}})
    stub.add_response("detect_text", {"TextDetections": [
        {"DetectedText": "second", "Type": "LINE", "Confidence": 99.0}]},
        {"Image": {"Bytes": IMAGE}})
    stub.add_response("detect_text", {"TextDetections": [
        {"DetectedText": "third", "Type": "LINE", "Confidence": 99.0}]},
        {"Image": {"Bytes": b"other"}})
    stub.activate()

    first = client.detect_text(Image={"Bytes": IMAGE})
    assert first["TextDetections"][0]["DetectedText"] == "second"
    with pytest.raises(StubAssertionError):
        client.detect_text(Image={"Bytes": IMAGE})  # the next DetectText expects b"other"
    assert client.detect_text(Image={"Bytes": b"other"})["TextDetections"][0][
        "DetectedText"] == "third"
    assert client.index_faces(CollectionId="c", Image={"Bytes": IMAGE})["FaceRecords"] == []
    stub.assert_no_pending_responses()


def test_text_local_sends_only_faces_to_rekognition(aws_in_env, tmp_path, monkeypatch):
    """--text local: exactly IndexFaces and the SearchFaces of each face reach Rekognition
    (the Stubber refuses any DetectText); the offline engine reads the text, free."""
    from photosense_cli.engines.fake import FakeEngine
    from tests.conftest import BOX, TEXT_BOX, Cli, photo, register

    p = photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)], texts=[(0, TEXT_BOX)])
    offline = FakeEngine(texts={0: ["Quarterly whiteboard"]})
    seen: list = []
    register(monkeypatch, "local", offline, seen)
    cli = Cli(tmp_path / "lib.db")
    stubs = stub_new_library(monkeypatch, cli, p, "11111111-1111-1111-1111-111111111111")

    r = cli("import", tmp_path / "pics", "--engine", "rekognition", "--text", "local", "--json")
    s = __import__("json").loads(r.stdout)
    assert ("1 photo will be sent to Amazon Rekognition in eu-west-2 for faces (text is read "
            "on this machine), for about $0.00") in r.stderr

    stubs[0].assert_no_pending_responses()
    assert s["calls"] == {"DetectText (offline)": 1, "IndexFaces": 1, "SearchFaces": 1}
    assert s["estimated_cost_usd"] == 0.002  # IndexFaces and SearchFaces; the text is free
    assert s["text_lines"] == 1 and offline.calls["DetectText"] == 1
    assert [o.text_only for o in seen] == [True]  # the offline engine loads no face model
    assert [h["path"] for h in cli.json("search", "whiteboard")] == [str(p)]


def test_text_local_in_a_dry_run_and_the_consent_question(aws_in_env, tmp_path):
    from tests.conftest import BOX, Cli, photo

    for i in range(4):
        photo(tmp_path / "pics" / f"{i}.jpg", faces=[(i, BOX)], size=(640 + i, 480))
    cli = Cli(tmp_path / "lib.db")
    r = cli("import", tmp_path / "pics", "--engine", "rekognition", "--text", "local",
            "--dry-run")
    assert r.stderr.splitlines()[-1] == ("rekognition calls (estimated): "
                                         "DetectText (offline) 4, IndexFaces 4, SearchFaces 4 "
                                         "≈ $0.008.")
    r = cli("import", tmp_path / "pics", "--engine", "rekognition", "--text", "bogus", code=2)
    assert "'bogus' is not one of" in " ".join(r.stderr.replace("│", " ").split())


def test_prefilter_local_calls_index_faces_only_where_a_face_may_be(aws_in_env, tmp_path,
                                                                    monkeypatch):
    """--prefilter local: the offline detector looks first; a landscape gets DetectText
    only, a portrait IndexFaces and SearchFaces too. The Stubber holds exactly those."""
    from photosense_cli.engines.fake import FakeEngine
    from tests.conftest import BOX, Cli, photo, register

    face = photo(tmp_path / "pics" / "face.jpg", faces=[(0, BOX)])
    photo(tmp_path / "pics" / "landscape.jpg", size=(700, 500))
    offline = FakeEngine()
    seen: list = []
    register(monkeypatch, "local", offline, seen)
    cli = Cli(tmp_path / "lib.db")
    stubs = stub_new_library(monkeypatch, cli, face, "22222222-2222-2222-2222-222222222222",
                             detect_texts=2)
    s = cli.json("import", tmp_path / "pics", "--engine", "rekognition",
                 "--prefilter", "local")

    stubs[0].assert_no_pending_responses()
    assert s["calls"] == {"DetectText": 2, "FaceProbe (offline)": 2, "IndexFaces": 1,
                          "SearchFaces": 1}
    assert s["estimated_cost_usd"] == 0.004 and s["faces"] == 1
    assert [(o.faces_only, o.text_only) for o in seen] == [(True, False)]

    photo(tmp_path / "more" / "b.jpg", faces=[(1, BOX)], size=(600, 450))
    dry = cli("import", tmp_path / "more", "--engine", "rekognition", "--prefilter", "local",
              "--dry-run")
    assert dry.stderr.splitlines()[-3:] == [
        "--prefilter local: IndexFaces and SearchFaces only for the photos the offline "
        "detector sees a face in (not run in a dry run; the estimate counts every photo)",
        "Would analyse 1 new photo; 0 failed.",
        "rekognition calls (estimated): DetectText 1, FaceProbe (offline) 1, IndexFaces 1, "
        "SearchFaces 0 ≈ $0.002."]  # the library so far: 1 face in 2 photos, rounded


def stub_new_library(monkeypatch, cli, face_photo, face_id, detect_texts=0, throttled_creates=0):
    """Rekognition for a new library's first import of one photo with one face (or none,
    face_id None): the collection made, IndexFaces of that photo, SearchFaces of its face, and
    `detect_texts` DetectText calls; nothing else is accepted. Returns the stubbers made."""
    import hashlib

    from photosense_cli.catalogue import Catalogue
    from photosense_cli.engines import rekognition

    stubs = []

    def stubbed(profile, region, workers):
        client = boto3.client("rekognition", region_name=region)
        stub = ConcurrentStubber(client)
        stubs.append(stub)
        collection = f"photosense-{Catalogue(cli.library).library_id}"
        for _ in range(throttled_creates):
            stub.add_client_error("create_collection", "ThrottlingException", "slow down", 400)
        stub.add_response("create_collection", {"StatusCode": 200}, {"CollectionId": collection})
        records = [{"Face": {
            "FaceId": face_id, "Confidence": 99.9,
            "BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.25, "Height": 0.3}}}]
        stub.add_response("index_faces", {"FaceRecords": records if face_id else []},
                          {"CollectionId": collection, "Image": ANY,
                           "ExternalImageId": hashlib.sha256(face_photo.read_bytes()).hexdigest(),
                           "DetectionAttributes": ["DEFAULT"], "QualityFilter": "AUTO"})
        if face_id:
            stub.add_response("search_faces", {"FaceMatches": []},
                              {"CollectionId": collection, "FaceId": face_id,
                               "FaceMatchThreshold": 80.0, "MaxFaces": 100})
        for _ in range(detect_texts):
            stub.add_response("detect_text", {"TextDetections": []}, {"Image": ANY})
        stub.activate()
        return client

    monkeypatch.setattr(rekognition, "make_client", stubbed)
    return stubs
