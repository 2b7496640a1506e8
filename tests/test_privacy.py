"""Biometric privacy: `people forget`, suppression templates, folder rules, the inventory."""

from __future__ import annotations

import json
import sqlite3

import pytest
from botocore.stub import Stubber

from photosense_cli.engines.rekognition import RekognitionEngine
from tests.conftest import BOX, BOX2, photo


def rows(library, sql, params=()):
    conn = sqlite3.connect(library)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def person_of(cli, name):
    return next(p for p in cli.json("people", "--all") if p["name"] == name)


@pytest.fixture
def ada(cli, tmp_path):
    """Ada (identity 0) in three photos, two of them with Bob (identity 1); named, with
    history, suggestions and a sidecar photosense wrote beside one photo."""
    pics = tmp_path / "pics"
    photo(pics / "a.jpg", faces=[(0, BOX), (1, BOX2)])
    photo(pics / "b.jpg", faces=[(0, BOX), (1, BOX2)], size=(600, 480))
    photo(pics / "c.jpg", faces=[(0, BOX)], size=(620, 480))
    cli.import_(pics)
    people = cli.json("people", "--all")
    ada_id = next(p["id"] for p in people if p["faces"] == 3)
    bob_id = next(p["id"] for p in people if p["faces"] == 2)
    cli("people", "rename", ada_id, "Ada")
    cli("people", "rename", bob_id, "Bob")
    cli("people", "hide", "Ada")
    cli("people", "unhide", "Ada")
    sidecar = pics / "a.jpg.xmp"
    sidecar.write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        'xmp:Rating="4"/></rdf:RDF></x:xmpmeta>')
    cli("xmp", "write", pics, "--keywords")
    assert "Ada" in sidecar.read_text() and "Bob" in sidecar.read_text()
    return pics, ada_id, bob_id


def test_forget_erases_the_person_everywhere_and_counts_again(cli, fake, ada, library):
    pics, ada_id, bob_id = ada
    ada_faces = {r[0] for r in rows(library, "SELECT engine_face_id FROM faces "
                                    "WHERE person_id = ?", (ada_id,))}
    assert len(ada_faces) == 3 and ada_faces <= set(fake.faces)

    cli("search", "save", "with-ada", "--person", "Ada")
    r = cli.json("people", "forget", "Ada", "--yes")

    assert r["complete"] and r["left"] == [] and r["faces"] == 3 and r["photos"] == 3
    assert "Ada" not in json.dumps(cli.json("search", "show", "with-ada"))
    assert rows(library, "SELECT name, person_id FROM saved_search_people") == [
        ("a forgotten person", None)]
    assert rows(library, "SELECT count(*) FROM saved_searches WHERE query LIKE '%Ada%'") == [
        (0,)]
    assert r["engine"] == {"name": "fake", "faces_deleted": 3, "faces_left": 0,
                           "kept_for_template": 0, "users_deleted": 0}
    assert r["catalogue"]["faces"] == 3 and r["catalogue"]["faces_left"] == 0
    assert r["catalogue"]["history"] >= 3  # rename, hide, unhide: sealed
    # the engine: none of hers left, Bob's untouched
    assert not ada_faces & set(fake.faces) and len(fake.faces) == 2
    # the catalogue: no face, no person, no name anywhere in it
    assert rows(library, "SELECT count(*) FROM people WHERE id = ?", (ada_id,)) == [(0,)]
    assert rows(library, "SELECT count(*) FROM faces") == [(2,)]
    assert rows(library, "SELECT count(*) FROM changes WHERE summary LIKE '%Ada%' "
                "OR undo LIKE '%Ada%'") == [(0,)]
    assert rows(library, "SELECT count(*) FROM forgotten_faces") == [(3,)]
    # Bob's own correction is his: kept as it was
    assert rows(library, "SELECT count(*) FROM changes WHERE summary LIKE '%Bob%'") == [(1,)]
    engine = cli.json("status")["biometric"]["engine"]
    assert engine == {"counted_there": True, "faces": 2, "users": 0, "error": None}
    # the photos stay, with Bob
    assert len(cli.json("search", "--person", "Bob")) == 2
    assert rows(library, "SELECT count(*) FROM photos") == [(3,)]
    # the sidecar: her region and keywords gone, Bob's and the rating kept
    text = (pics / "a.jpg.xmp").read_text()
    assert "Ada" not in text and "Bob" in text and 'xmp:Rating="4"' in text
    assert r["sidecars_rewritten"] == [str(pics / f"{n}.jpg.xmp") for n in "abc"]
    # forgetting cannot be undone, nor can what came before it be reached
    assert "cannot be undone" in cli("undo", code=2).stderr


def test_forgotten_faces_never_come_back(cli, fake, ada, library, tmp_path):
    pics, ada_id, bob_id = ada
    cli("people", "forget", "Ada", "--yes")
    calls_before = fake.calls["SearchFaces"]
    # the same content at another path, and a rebuild of the whole library on the engine
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "c2.jpg").write_bytes((pics / "c.jpg").read_bytes())
    cli.import_(tmp_path / "copy")
    s = cli.json("reindex", "--engine", "fake", "--yes")
    assert s["privacy"]["faces_forgotten"] == 3
    assert fake.calls["SearchFaces"] - calls_before == 2  # Bob's only: hers never searched
    assert rows(library, "SELECT count(*) FROM faces") == [(2,)]
    assert [p["name"] for p in cli.json("people", "--all")] == ["Bob"]
    assert len(fake.faces) == 2  # the rebuilt faces of hers were deleted at once
    said = cli("reindex", "--engine", "fake", "--yes").stderr
    assert "Dropped 3 faces of forgotten people (not stored)." in said


def test_a_photo_forget_undone_after_the_person_was_forgotten_keeps_them_out(
        cli, fake, ada, library):
    pics, ada_id, bob_id = ada
    cli("forget", pics / "c.jpg", "--yes")  # its faces' boxes and people go to history
    cli("undo")  # kept, with her, until the next import meets the photo again
    assert "Ada" in json.dumps(rows(library, "SELECT faces FROM restorable"))
    cli("people", "forget", "Ada", "--yes")
    r = cli.import_(pics)
    assert r["files"]["new"] == 1 and r["privacy"]["faces_forgotten"] == 1
    assert "Ada" not in json.dumps(rows(library, "SELECT faces FROM restorable"))
    assert rows(library, "SELECT count(*) FROM faces WHERE photo_id NOT IN "
                "(SELECT photo_id FROM faces WHERE person_id = ?)", (bob_id,)) == [(0,)]


def test_never_again_drops_a_new_matching_face_without_storing_it(cli, fake, ada, library,
                                                                   tmp_path):
    pics, ada_id, bob_id = ada
    r = cli.json("people", "forget", "Ada", "--yes", "--never-again")
    assert r["engine"]["kept_for_template"] == 3 and r["suppression_template"] == 1
    templates = cli.json("people", "suppressed")
    assert templates == [{"id": 1, "label": None, "engine": "fake", "faces": 3,
                          "kept_in_engine": 3, "created_at": templates[0]["created_at"]}]
    in_engine = set(fake.faces)
    photo(tmp_path / "new" / "d.jpg", faces=[(0, BOX), (2, BOX2)])
    s = cli.import_(tmp_path / "new")
    assert s["privacy"]["faces_suppressed"] == 1 and s["faces"] == 1
    assert set(fake.faces) - in_engine == {fid for (fid,) in rows(
        library, "SELECT engine_face_id FROM faces WHERE photo_id = "
        "(SELECT max(id) FROM photos)")}  # only the other face stayed in the engine
    assert rows(library, "SELECT count(*) FROM faces") == [(3,)]
    # dropped, the template's faces leave the engine and her faces are kept again
    kept = {fid for (fid,) in rows(library, "SELECT engine_face_id FROM suppression_faces")}
    assert len(kept) == 3 and kept <= set(fake.faces)
    assert "3 faces deleted" in cli("people", "suppressed", "--remove", "1").stderr
    assert not kept & set(fake.faces) and len(fake.faces) == 3  # Bob's two, the new one
    photo(tmp_path / "new2" / "e.jpg", faces=[(0, BOX)])
    assert cli.import_(tmp_path / "new2")["privacy"]["faces_suppressed"] == 0
    assert cli.json("people", "suppressed") == []


def test_forget_asks_on_a_terminal_and_refuses_in_a_script(cli, ada, monkeypatch):
    r = cli("people", "forget", "Ada", code=2)
    assert "pass --yes" in r.stderr and "3 faces" in r.stderr
    monkeypatch.setattr("photosense_cli.cli.people_cmd.interactive", lambda: True)
    asked = []
    monkeypatch.setattr("photosense_cli.cli.people_cmd.ask",
                        lambda q: asked.append(q) or False)
    cli("people", "forget", "Ada", code=1)
    assert "cannot be undone" in asked[0]
    assert len(cli.json("people", "show", "Ada")["faces"]) == 3


# -- Rekognition, through the Stubber ----------------------------------------------------


def _rekognition_library(tmp_path):
    from photosense_cli.catalogue import Catalogue
    from photosense_cli.engines.base import DetectedFace
    from photosense_cli.records import Box

    cat = Catalogue(tmp_path / "lib.db")
    with cat.transaction():
        cat.set_meta("engine", "rekognition")
        cat.set_meta("collection_id", cat.collection_id())
        person = cat.create_person()
        other = cat.create_person()
        for i, who in enumerate((person, person, other)):
            pid = cat.insert_photo({"sha256": f"{i:064d}", "size": 1, "width": 10,
                                    "height": 10, "format": "JPEG", "taken_at": None,
                                    "taken_at_source": "file", "engine": "rekognition"})
            cat.insert_face(pid, who, DetectedFace(f"face-{i}", Box(0.1, 0.1, 0.2, 0.2), 99))
    return cat, person


def _listed(*ids):
    return {"Faces": [{"FaceId": f, "ExternalImageId": "x"} for f in ids]}


def test_a_delete_that_fails_halfway_is_reported_and_a_rerun_finishes(client, tmp_path):
    from photosense_cli import privacy

    cat, person = _rekognition_library(tmp_path)
    collection = cat.collection_id()
    engine = RekognitionEngine(client, collection)
    listing = {"CollectionId": collection, "MaxResults": 4096}
    with Stubber(client) as stub:
        stub.add_response("list_faces", _listed("face-0", "face-1", "face-2"), listing)
        stub.add_client_error("delete_faces", "InvalidParameterException", "half done",
                              expected_params={"CollectionId": collection,
                                               "FaceIds": ["face-0", "face-1"]})
        stub.add_response("list_faces", _listed("face-1", "face-2"), listing)  # one went
        r = privacy.forget_person(cat, privacy.plan(cat, cat.person(person)), lambda: engine)
        stub.assert_no_pending_responses()
    assert r.engine_deleted == 1 and r.engine_left == 1 and len(r.left) == 1
    assert "1 of their faces are still in the collection" in r.left[0]
    assert "InvalidParameterException" in r.left[0]
    # nothing was erased here: the same command finds the person whole and finishes
    assert cat.person(person) is not None and len(cat.faces_of_person(person)) == 2
    with Stubber(client) as stub:
        stub.add_response("list_faces", _listed("face-1", "face-2"), listing)
        stub.add_response("delete_faces", {"DeletedFaces": ["face-1"]},
                          {"CollectionId": collection, "FaceIds": ["face-1"]})
        stub.add_response("list_faces", _listed("face-2"), listing)
        r = privacy.forget_person(cat, privacy.plan(cat, cat.person(person)), lambda: engine)
        stub.assert_no_pending_responses()
    assert r.left == [] and r.engine_left == 0 and r.catalogue["faces"] == 2
    assert cat.person(person) is None and cat.faces_left(person, ["face-0", "face-1"]) == 0
    assert cat.count_forgotten_faces() == 2
    cat.close()


def test_never_again_on_rekognition_keeps_the_largest_faces_as_the_template(client, tmp_path):
    from photosense_cli import privacy

    cat, person = _rekognition_library(tmp_path)
    collection = cat.collection_id()
    listing = {"CollectionId": collection, "MaxResults": 4096}
    with Stubber(client) as stub:
        # both faces kept for the template: nothing to delete, nothing listed as left
        stub.add_response("list_faces", _listed("face-0", "face-1", "face-2"), listing)
        stub.add_response("list_faces", _listed("face-0", "face-1", "face-2"), listing)
        r = privacy.forget_person(cat, privacy.plan(cat, cat.person(person)),
                                  lambda: RekognitionEngine(client, collection),
                                  never_again=True, label="do not match")
        stub.assert_no_pending_responses()
    assert r.left == [] and r.kept_in_engine == 2
    assert cat.template_face_ids("rekognition") == {"face-0", "face-1"}
    # crash recovery keeps the template's faces: the catalogue knows them
    with Stubber(client) as stub:
        stub.add_response("list_faces", _listed("face-0", "face-1", "face-2", "stray"), listing)
        stub.add_response("delete_faces", {"DeletedFaces": ["stray"]},
                          {"CollectionId": collection, "FaceIds": ["stray"]})
        from photosense_cli.pipeline.runner import delete_unknown_faces

        assert delete_unknown_faces(cat, RekognitionEngine(client, collection)) == 1
    assert [t.label for t in cat.templates()] == ["do not match"]
    cat.close()


# -- folder rules --------------------------------------------------------------------------


@pytest.fixture
def rules(tmp_path, monkeypatch):
    """A config with a cloud = false folder and a faces = false one; the offline OCR is a
    fake registered as 'local', so its calls are counted apart from the cloud engine's."""
    from photosense_cli import engines
    from photosense_cli.engines.fake import FakeEngine
    from tests.conftest import register

    config = tmp_path / "config.toml"
    config.write_text(f'[[folders]]\npath = "{tmp_path / "pics" / "kids"}"\ncloud = false\n\n'
                      f'[[folders]]\npath = "{tmp_path / "pics" / "work"}"\nfaces = false\n')
    monkeypatch.setenv("PHOTOSENSE_CONFIG", str(config))
    offline = FakeEngine(texts={0: ["HOMEWORK"]})
    register(monkeypatch, "local", offline)
    monkeypatch.setattr(engines, "local_available", lambda: True)
    return offline


def test_a_cloud_false_folder_causes_no_engine_call(cli, fake, rules, tmp_path, library):
    from tests.conftest import TEXT_BOX

    pics = tmp_path / "pics"
    photo(pics / "kids" / "k.jpg", faces=[(0, BOX)], texts=[(0, TEXT_BOX)])
    photo(pics / "work" / "w.jpg", faces=[(1, BOX)], texts=[(0, TEXT_BOX)], size=(600, 480))
    photo(pics / "other.jpg", faces=[(2, BOX2)])
    s = cli.import_(pics)
    # the cloud engine saw two photos: other.jpg whole, w.jpg's text only
    assert fake.calls["IndexFaces"] == 1 and fake.calls["DetectText"] == 2
    assert len(fake.received) == 1
    assert rules.calls["DetectText"] == 1 and rules.calls["IndexFaces"] == 0
    assert s["privacy"]["no_cloud"] == 1 and s["privacy"]["no_faces"] == 1
    assert s["faces"] == 1, s
    assert s["calls"]["DetectText (offline)"] == 1
    marks = dict(rows(library, "SELECT l.path, p.protection FROM photos p "
                      "JOIN locations l ON l.photo_id = p.id"))
    assert marks == {str(pics / "kids" / "k.jpg"): "no-cloud",
                     str(pics / "work" / "w.jpg"): "no-faces", str(pics / "other.jpg"): None}
    assert [h["path"] for h in cli.json("search", "homework")] == [str(pics / "kids" / "k.jpg")]
    text = cli("import", pics, "--engine", "fake").stderr
    assert "Folder rules" not in text  # nothing new: nothing kept back this time
    b = cli.json("status")["biometric"]
    assert b["folders"] == [
        {"path": str(pics / "kids"), "cloud": False, "faces": True, "photos": 1},
        {"path": str(pics / "work"), "cloud": True, "faces": False, "photos": 1}]
    assert b["protected_photos"] == {"no-cloud": 1, "no-faces": 1}


def test_the_dry_run_counts_what_the_rules_keep_back(cli, fake, rules, tmp_path):
    pics = tmp_path / "pics"
    photo(pics / "kids" / "k.jpg", faces=[(0, BOX)])
    photo(pics / "other.jpg", faces=[(2, BOX2)])
    r = cli("import", pics, "--engine", "fake", "--dry-run", "--json")
    s = json.loads(r.stdout)
    assert s["calls"]["IndexFaces"] == 1 and s["calls"]["DetectText (offline)"] == 1
    assert s["privacy"]["no_cloud"] == 1
    assert "1 photo in folders with cloud = false stay on this machine" in r.stderr
    assert sum(fake.calls.values()) == 0


def test_a_photo_moved_into_a_protected_folder_loses_its_faces(cli, fake, rules, tmp_path,
                                                               library):
    pics = tmp_path / "pics"
    photo(pics / "k.jpg", faces=[(0, BOX), (1, BOX2)])
    cli.import_(pics)
    assert len(fake.faces) == 2
    (pics / "kids").mkdir()
    (pics / "k.jpg").rename(pics / "kids" / "k.jpg")
    r = cli("import", pics, "--engine", "fake")
    assert "Deleted 2 faces of photos now under a folder rule" in r.stderr
    assert "1 photo moved or renamed" in r.stderr
    assert fake.faces == {} and rows(library, "SELECT count(*) FROM faces") == [(0,)]
    assert rows(library, "SELECT protection FROM photos") == [("no-cloud",)]
    assert cli.json("people", "--all") == []
    # moved out again, it stays protected: nothing is sent for it, no face comes back
    (pics / "kids" / "k.jpg").rename(pics / "k.jpg")
    calls = dict(fake.calls)
    s = cli.import_(pics)
    assert s["files"]["moved"] == 1 and s["faces"] == 0 and dict(fake.calls) == calls
    assert rows(library, "SELECT protection FROM photos") == [("no-cloud",)]


def test_a_rule_added_later_takes_the_faces_of_photos_already_there(cli, fake, tmp_path,
                                                                   library, monkeypatch):
    pics = tmp_path / "pics"
    photo(pics / "work" / "w.jpg", faces=[(0, BOX)])
    cli.import_(pics)
    config = tmp_path / "later.toml"
    config.write_text(f'[[folders]]\npath = "{pics / "work"}"\nfaces = false\n')
    monkeypatch.setenv("PHOTOSENSE_CONFIG", str(config))
    s = cli.import_(pics)  # the file is unchanged: only the rule is new
    assert s["files"]["skipped"] == 1 and s["privacy"]["faces_removed_by_rule"] == 1
    assert fake.faces == {} and rows(library, "SELECT protection FROM photos") == [("no-faces",)]


def test_without_the_offline_ocr_the_text_of_a_cloud_false_photo_is_left_unread(
        cli, fake, rules, tmp_path, monkeypatch):
    from photosense_cli import engines
    from tests.conftest import TEXT_BOX

    monkeypatch.setattr(engines, "local_available", lambda: False)
    photo(tmp_path / "pics" / "kids" / "k.jpg", faces=[(0, BOX)], texts=[(0, TEXT_BOX)])
    r = cli("import", tmp_path / "pics", "--engine", "fake")
    assert ("1 photos under cloud = false had their text left unread: the offline OCR is "
            "not installed") in r.stderr
    assert sum(fake.calls.values()) == 0 and rules.calls["DetectText"] == 0
    assert cli.json("status")["text_lines"] == 0


def test_a_bad_folder_rule_is_one_line_naming_the_file(cli, tmp_path, monkeypatch):
    config = tmp_path / "bad.toml"
    config.write_text('[[folders]]\npath = "~/x"\ncloud = "no"\n')
    monkeypatch.setenv("PHOTOSENSE_CONFIG", str(config))
    r = cli("status", code=2)
    assert r.stderr == (f"photosense: {config}: [[folders]] entry 1: cloud must be true or "
                        "false, not 'no'\n")
    config.write_text('[[folders]]\ncloud = false\n')
    assert "entry 1 needs a path" in cli("status", code=2).stderr


# -- files, the remainder, the offline template ------------------------------------------


def test_crops_and_sheets_that_show_them_go_and_a_changed_one_is_named(cli, fake, ada,
                                                                     tmp_path, library):
    pics, ada_id, bob_id = ada
    crops = tmp_path / "crops"
    cli("people", "faces", "Ada", "--out", crops)
    cli("people", "show", "Ada", "--sheet", tmp_path / "ada.png")
    cli("people", "show", "Bob", "--sheet", tmp_path / "bob.png")
    written = sorted(p.name for p in crops.iterdir())
    assert len(written) == 3
    b = cli.json("status")["biometric"]["files"]
    assert b == {"crops": 3, "sheets": 2, "sidecars_naming_people": 3}
    changed = crops / written[0]
    changed.write_bytes(changed.read_bytes() + b"edited")  # the user's now

    r = cli("people", "forget", "Ada", "--yes", "--json", code=1)
    report = json.loads(r.stdout)
    assert sorted(report["files_deleted"]) == sorted(
        [str(crops / n) for n in written[1:]] + [str(tmp_path / "ada.png")])
    assert changed.exists() and (tmp_path / "bob.png").exists()
    assert report["left"] == [f"{changed}: a crop that shows them, changed since photosense "
                              "wrote it; not deleted"]
    assert f"photosense: person {ada_id}: left: {changed}" in r.stderr
    # c.jpg's sidecar named only her: it stays, naming no one, and is no longer counted
    assert cli.json("status")["biometric"]["files"] == {"crops": 1, "sheets": 1,
                                                        "sidecars_naming_people": 2}


def test_a_sidecar_that_cannot_be_rewritten_is_left_and_named(cli, fake, ada, tmp_path):
    pics, ada_id, bob_id = ada
    locked = pics / "c.jpg.xmp"
    locked.chmod(0o444)
    r = cli("people", "forget", "Ada", "--yes", "--json", code=1)
    report = json.loads(r.stdout)
    assert not report["complete"] and str(pics / "a.jpg.xmp") in report["sidecars_rewritten"]
    assert report["left"] == [f"{locked}: read-only; left as it is (make it writable to let "
                              "photosense update it)"]
    assert "Ada" in locked.read_text()  # left, as the report says
    locked.chmod(0o644)
    cli("xmp", "write", pics / "c.jpg")  # what the user does next: the region goes
    assert "Ada" not in locked.read_text()


def test_an_offline_template_is_the_mean_and_matches_a_new_face(tmp_path):
    """The offline engine's template, without the models: the mean descriptor primed into
    the engine's index, where a new face near it matches at 90 and a stranger does not."""
    import numpy as np

    from photosense_cli import privacy
    from photosense_cli.catalogue import Catalogue
    from photosense_cli.engines.base import DetectedFace, Usage
    from photosense_cli.engines.local import LocalEngine
    from photosense_cli.pipeline.runner import attach
    from photosense_cli.records import Box

    rng = np.random.default_rng(7)
    centre = rng.normal(0, 0.1, 128).astype(np.float32)
    cat = Catalogue(tmp_path / "lib.db")
    with cat.transaction():
        cat.set_meta("engine", "local")
        person = cat.create_person()
        for i in range(4):
            pid = cat.insert_photo({"sha256": f"{i:064d}", "size": 1, "width": 10,
                                    "height": 10, "format": "JPEG", "taken_at": None,
                                    "taken_at_source": "file", "engine": "local"})
            d = (centre + rng.normal(0, 0.02, 128)).astype(np.float32)
            cat.insert_face(pid, person, DetectedFace(f"f{i}", Box(0.1, 0.1, 0.2, 0.2), 99,
                                                      d.tobytes()))
    r = privacy.forget_person(cat, privacy.plan(cat, cat.person(person)), None,
                              never_again=True)
    assert r.left == [] and r.template == 1 and r.kept_in_engine == 0
    assert cat.template_face_ids("local") == {"suppress-1"}
    engine = LocalEngine(processes=1)
    attach(cat, engine)
    assert [fid for fid, _ in engine.list_faces()] == ["suppress-1"]  # her faces are gone
    near = (centre + rng.normal(0, 0.02, 128)).astype(np.float32)
    far = rng.normal(0, 0.1, 128).astype(np.float32)
    engine._add("new", near)
    engine._add("stranger", far)
    assert [m.face_id for m in engine.search_faces("new", 90.0, Usage())] == ["suppress-1"]
    assert engine.search_faces("stranger", 90.0, Usage()) == []
    cat.close()


def test_the_consent_question_says_what_the_rules_keep_here(cli, fake, rules, tmp_path,
                                                             monkeypatch):
    from photosense_cli.engines.rekognition import RekognitionEngine as Priced

    monkeypatch.setattr(type(fake), "prices_usd", Priced.prices_usd)
    pics = tmp_path / "pics"
    photo(pics / "kids" / "k.jpg", faces=[(0, BOX)])
    photo(pics / "work" / "w.jpg", faces=[(1, BOX)])
    photo(pics / "other.jpg", faces=[(2, BOX2)])
    r = cli("import", pics, "--engine", "fake")  # a script: told on stderr, not asked
    assert ("2 photos will be sent to the fake engine for faces and text, for about $0.01 "
            "(1 face a photo assumed); 1 photo in folders with cloud = false stay on this "
            "machine (text read offline, no faces); 1 in folders with faces = false get no "
            "face analysis") in r.stderr


def test_status_counts_the_collection_there_for_free(client):
    engine = RekognitionEngine(client, "photosense-lib1")
    with Stubber(client) as stub:
        stub.add_response("describe_collection", {"FaceCount": 12, "UserCount": 3},
                          {"CollectionId": "photosense-lib1"})
        assert engine.collection_counts() == {"faces": 12, "users": 3}
    assert RekognitionEngine.prices_usd.get("DescribeCollection", 0) == 0


def test_another_tools_region_is_named_left_untouched_and_not_read_back(cli, fake, tmp_path,
                                                                      library):
    pics = tmp_path / "pics"
    p = photo(pics / "d.jpg", faces=[(0, BOX)])
    cx, cy = BOX[0] + BOX[2] / 2, BOX[1] + BOX[3] / 2
    theirs = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
              'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
              'rdf:about="" xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"'
              ' xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"><mwg-rs:Regions '
              'rdf:parseType="Resource"><mwg-rs:RegionList><rdf:Bag><rdf:li><rdf:Description '
              f'mwg-rs:Name="Ada" mwg-rs:Type="Face"><mwg-rs:Area stArea:x="{cx}" '
              f'stArea:y="{cy}" stArea:w="{BOX[2]}" stArea:h="{BOX[3]}" '
              'stArea:unit="normalized"/></rdf:Description></rdf:li></rdf:Bag>'
              '</mwg-rs:RegionList></mwg-rs:Regions></rdf:Description></rdf:RDF></x:xmpmeta>')
    sidecar = pics / "d.jpg.xmp"
    sidecar.write_text(theirs)

    from photosense_cli.engines.fake import draw_photo

    own = pics / "e.jpg"  # the name in the photo's own XMP: an original, never changed
    draw_photo(faces=[(0, BOX)], size=(600, 480)).save(own, "JPEG", xmp=theirs.encode())
    original = own.read_bytes()
    cli.import_(pics)
    assert [q["name"] for q in cli.json("people", "--all")] == ["Ada"]  # named by digiKam

    r = cli.json("people", "forget", "Ada", "--yes")

    assert r["complete"] and r["named_elsewhere"] == [str(sidecar), str(own)]
    assert own.read_bytes() == original
    assert r["sidecars_rewritten"] == [] and sidecar.read_text() == theirs  # not ours
    # the photo analysed again from its file, sidecar read: her face and the name are dropped
    cli("forget", p, "--yes")
    cli("undo")
    s = cli.import_(pics)
    assert s["files"]["new"] == 1 and s["privacy"]["faces_forgotten"] == 1
    assert cli.json("people", "--all") == []
    assert rows(library, "SELECT count(*) FROM xmp_regions") == [(0,)]


def test_a_relative_folder_rule_is_refused(cli, tmp_path, monkeypatch):
    config = tmp_path / "rel.toml"
    config.write_text('[[folders]]\npath = "kids"\ncloud = false\n')
    monkeypatch.setenv("PHOTOSENSE_CONFIG", str(config))
    assert cli("status", code=2).stderr == (
        f"photosense: {config}: [[folders]] entry 1: path 'kids' must be absolute or start "
        "with ~\n")


def test_never_again_outlives_a_reindex_to_another_engine(cli, fake, ada, tmp_path,
                                                          monkeypatch, library):
    from photosense_cli.engines.fake import FakeEngine
    from tests.conftest import register

    cli("people", "forget", "Ada", "--yes", "--never-again")
    other = FakeEngine()
    register(monkeypatch, "other", other)

    s = cli.json("reindex", "--engine", "other", "--yes")

    # her three faces, met again on the new engine, became the template there
    assert s["privacy"]["faces_forgotten"] == 3 and s["faces"] == 2
    [t] = cli.json("people", "suppressed")
    assert t["engine"] == "other" and t["kept_in_engine"] == 3
    kept = {fid for (fid,) in rows(library, "SELECT engine_face_id FROM suppression_faces")}
    assert kept <= set(other.faces) and len(other.faces) == 5  # Bob's two and the template
    assert fake.faces == {}  # the old collection, template and all, went with the switch
    assert rows(library, "SELECT count(*) FROM faces") == [(2,)]
    photo(tmp_path / "new" / "d.jpg", faces=[(0, BOX)])
    assert cli.json("import", tmp_path / "new")["privacy"]["faces_suppressed"] == 1
    assert [p["name"] for p in cli.json("people", "--all")] == ["Bob"]


def test_status_offline_asks_no_engine(cli, fake, ada):
    before = fake.calls["DescribeCollection"]
    b = cli.json("status", "--offline")["biometric"]
    assert b["engine"] == {"counted_there": False, "faces": None, "users": None, "error": None}
    assert fake.calls["DescribeCollection"] == before
    assert b["catalogue"]["faces"] == 5 and b["catalogue"]["forgotten_faces"] == 0
    assert cli.json("status")["biometric"]["engine"]["faces"] == 5
    assert fake.calls["DescribeCollection"] == before + 1


def test_a_person_changed_while_being_forgotten_is_left_whole(cli, fake, ada, monkeypatch,
                                                             library):
    """A merge committed between the plan and the erasing: nothing is erased here, and the
    same command, run again, erases the person with the face that joined."""
    from photosense_cli import privacy

    pics, ada_id, bob_id = ada
    real = privacy._delete_in_engine

    def merge_meanwhile(engine, doomed, report, kept=()):
        ok = real(engine, doomed, report, kept)
        cli("people", "merge", "Ada", "Bob", "--yes")  # another process, in effect
        return ok

    monkeypatch.setattr(privacy, "_delete_in_engine", merge_meanwhile)
    r = cli("people", "forget", "Ada", "--yes", code=2)
    assert "changed while being forgotten" in r.stderr
    assert rows(library, "SELECT count(*) FROM faces WHERE person_id = ?", (ada_id,)) == [(5,)]
    monkeypatch.setattr(privacy, "_delete_in_engine", real)
    report = cli.json("people", "forget", "Ada", "--yes")
    assert report["complete"] and report["faces"] == 5 and fake.faces == {}


def test_never_again_says_so_when_the_collection_has_none_of_their_faces(client, tmp_path):
    from photosense_cli import privacy

    cat, person = _rekognition_library(tmp_path)
    collection = cat.collection_id()
    listing = {"CollectionId": collection, "MaxResults": 4096}
    with Stubber(client) as stub:  # her faces were deleted outside photosense
        stub.add_response("list_faces", _listed("face-2"), listing)
        stub.add_response("list_faces", _listed("face-2"), listing)
        r = privacy.forget_person(cat, privacy.plan(cat, cat.person(person)),
                                  lambda: RekognitionEngine(client, collection),
                                  never_again=True)
        stub.assert_no_pending_responses()
    assert r.left == ["no face of theirs is in the collection to keep as the template: "
                      "--never-again could not be done"]
    assert r.template is None and cat.templates() == [] and cat.person(person) is None
    cat.close()


def test_a_reindex_that_fails_halfway_keeps_the_template_for_the_run_that_finishes(
        cli, fake, ada, monkeypatch, library):
    from photosense_cli.engines.fake import FakeEngine
    from photosense_cli.errors import ItemFailed
    from tests.conftest import register

    cli("people", "forget", "Ada", "--yes", "--never-again")
    template_faces = set(fake.faces) - {fid for (fid,) in rows(
        library, "SELECT engine_face_id FROM faces")}
    other = FakeEngine()
    register(monkeypatch, "other", other)

    def search_fails(operation):  # after her faces were set aside for the template
        if operation == "SearchFaces":
            raise ItemFailed("the service timed out", permanent=False)

    other.before_call = search_fails
    cli("reindex", "--engine", "other", "--yes", code=1)
    # a.jpg and b.jpg failed on Bob's search: nothing of them is left in the new engine,
    # her faces set aside for the template included; c.jpg (hers alone) moved it
    kept = {fid for (fid,) in rows(library, "SELECT engine_face_id FROM suppression_faces")}
    assert set(other.faces) == kept and len(kept) == 1
    assert cli.json("people", "suppressed")[0]["engine"] == "other"
    other.before_call = None
    cli("reindex", "--engine", "other", "--yes")
    [t] = cli.json("people", "suppressed")
    assert t["engine"] == "other" and t["kept_in_engine"] == 3 and fake.faces == {}
    assert len(other.faces) == 5 and not template_faces & set(other.faces)


def test_a_rule_holds_through_a_symbolic_link_and_a_deeper_rule_relaxes_it(tmp_path):
    from photosense_cli.policy import NO_CLOUD, NO_FACES, FolderRule, FolderRules

    real = tmp_path / "real" / "kids"
    real.mkdir(parents=True)
    (tmp_path / "link").symlink_to(tmp_path / "real")
    rules = FolderRules((FolderRule(str(tmp_path / "link" / "kids"), cloud=False, faces=False),
                         FolderRule(str(tmp_path / "link" / "kids" / "public"))))
    inside = rules.verdict([str(real / "a.jpg")], cloud_engine=True)
    assert inside.protection == {NO_CLOUD, NO_FACES} and not inside.faces and inside.text_here
    public = rules.verdict([str(real / "public" / "b.jpg")], cloud_engine=True)
    assert public.protection == frozenset() and public.faces and not public.text_here
    # a photo also at a protected path takes that path's rule; a mark is never lifted
    both = rules.verdict([str(real / "public" / "b.jpg"), str(real / "c.jpg")], True)
    assert not both.faces
    marked = rules.verdict([str(tmp_path / "elsewhere.jpg")], True, marked="no-cloud")
    assert marked.protection == {NO_CLOUD} and not marked.faces
    assert rules.verdict([str(tmp_path / "elsewhere.jpg")], False, "no-cloud").faces
