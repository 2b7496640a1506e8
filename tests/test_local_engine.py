"""The offline engine on real photos: faces into people, text into search.

Skips with a reason where ../shared/data or the [local] extra is absent.
"""

import csv
import os
from collections import defaultdict

import numpy as np
import pytest

from photosense_cli import engines
from tests.conftest import SHARED, Cli, needs_shared

needs_local = pytest.mark.skipif(not engines.local_available(),
                                 reason="the offline engine is not installed (pip install '.[local]')")
pytestmark = needs_local


def labelled_people(cli, folder):
    """label -> set of person ids, and person id -> set of labels, from the import."""
    labels = {r["file"]: r["people"].split(";") for r in csv.DictReader(open(folder / "labels.csv"))}
    by_label, by_person = defaultdict(set), defaultdict(set)
    for name, people in labels.items():
        d = cli.json("show", folder / name)
        persons = {f["person_id"] for f in d["faces"]}
        assert len(d["faces"]) >= len(people), f"{name}: {len(d['faces'])} faces for {people}"
        if len(people) == 1:
            by_label[people[0]] |= persons
            for p in persons:
                by_person[p].add(people[0])
    # group photos: every labelled person must be one of the photo's persons
    for name, people in labels.items():
        if len(people) > 1:
            persons = {f["person_id"] for f in cli.json("show", folder / name)["faces"]}
            for label in people:
                assert by_label[label] & persons, f"{label} not recognised in {name}"
    return labels, by_label, by_person


@pytest.fixture(scope="module")
def faces_library(tmp_path_factory):
    lib = tmp_path_factory.mktemp("local") / "library.db"
    cli = Cli(lib)
    s = cli.json("import", SHARED / "faces", "--engine", "local", "--workers", "2")
    return cli, s


@needs_shared
def test_every_label_is_one_person_and_no_person_mixes_two(faces_library):
    cli, s = faces_library
    assert s["errors"] == [] and s["files"]["new"] == 23
    labels, by_label, by_person = labelled_people(cli, SHARED / "faces")
    for label, persons in by_label.items():
        assert len(persons) == 1, f"{label} split across people {persons}"
    for person, labs in by_person.items():
        assert len(labs) == 1, f"person {person} mixes {labs}"
    # the near-duplicate pair
    small = cli.json("show", SHARED / "faces" / "obama_5_small.jpg")["faces"][0]["person_id"]
    big = cli.json("show", SHARED / "faces" / "obama_5.jpg")["faces"][0]["person_id"]
    assert small == big
    # group photos hold their labelled people and nobody else's
    group = cli.json("show", SHARED / "faces" / "group_kit_rose.jpg")
    assert {f["person_id"] for f in group["faces"]} == by_label["kit"] | by_label["rose"]


@needs_shared
def test_a_rerun_is_free_and_the_library_remembers_its_engine(faces_library, fake, monkeypatch):
    from photosense_cli import engines

    cli, _ = faces_library
    # the library's own engine wins over the default: with the default another engine,
    # a run that forgot the library's engine would import with that one
    monkeypatch.setattr(engines, "DEFAULT_ENGINE", "fake")
    s = cli.json("import", SHARED / "faces")
    assert s["engine"] == "local" and s["files"]["skipped"] == 23 and s["calls"] == {}


@needs_shared
def test_text_lines_are_found_by_search(tmp_path):
    cli = Cli(tmp_path / "text.db")
    s = cli.json("import", SHARED / "text", "--engine", "local", "--workers", "1")
    assert s["errors"] == [] and s["text_lines"] > 5
    for row in csv.DictReader(open(SHARED / "text" / "labels.csv")):
        for word in row["words"].split(";"):
            hits = cli.json("search", word, code=None)
            assert row["file"] in [os.path.basename(h["path"]) for h in hits], word


@needs_shared
def test_a_turned_photo_sent_as_read_is_decoded_upright_by_the_workers(tmp_path):
    """The local engine decodes the file's own bytes in its workers (decodes_images): a
    photo stored on its side with an EXIF turn, and a PNG, give the faces of the upright
    JPEG, at the same place, as the same person."""
    from PIL import Image, ImageOps

    upright = ImageOps.exif_transpose(Image.open(SHARED / "faces" / "obama_1.jpg")).convert("RGB")
    folder = tmp_path / "photos"
    folder.mkdir()
    upright.save(folder / "upright.jpg", quality=95)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # on its side
    exif = stored.getexif()
    exif[0x0112] = 6  # turned 90 degrees clockwise to be seen
    stored.save(folder / "turned.jpg", quality=95, exif=exif)
    upright.save(folder / "lossless.png")
    cli = Cli(tmp_path / "lib.db")
    s = cli.json("import", folder, "--engine", "local", "--workers", "2")
    assert s["errors"] == [] and s["files"]["new"] == 3 and s["faces"] == 3
    faces = {name: cli.json("show", folder / name)["faces"] for name in
             ("upright.jpg", "turned.jpg", "lossless.png")}
    assert all(len(found) == 1 for found in faces.values()), faces
    box = faces["upright.jpg"][0]["box"]
    for name in ("turned.jpg", "lossless.png"):
        other = faces[name][0]["box"]
        assert all(abs(other[k] - box[k]) < 0.02 for k in box), (name, other, box)
    assert len({found[0]["person_id"] for found in faces.values()}) == 1


def test_similarity_scale_matches_rekognition_at_the_threshold():
    from photosense_cli.engines.local import MATCH_DISTANCE, similarity

    assert similarity(MATCH_DISTANCE) == pytest.approx(90.0)
    assert similarity(0.0) == 100.0 and similarity(10.0) == 0.0
    assert similarity(MATCH_DISTANCE * 1.1) < 90.0 < similarity(MATCH_DISTANCE * 0.9)


def test_search_and_delete_in_the_in_memory_collection():
    from photosense_cli.engines.base import KnownFace, Usage
    from photosense_cli.engines.local import LocalEngine

    e = LocalEngine(processes=1)
    base = np.zeros(128, np.float32)
    near = base.copy()
    near[0] = 0.3
    far = base.copy()
    far[0] = 2.0
    e.open_collection("c", [KnownFace(name, v.tobytes()) for name, v in
                            (("a", base), ("b", near), ("c", far))])
    matches = e.search_faces("a", 90.0, Usage())
    assert [m.face_id for m in matches] == ["b"] and matches[0].similarity > 90
    e.delete_faces(["b"])
    assert e.search_faces("a", 90.0, Usage()) == []
    assert sorted(f for f, _ in e.list_faces()) == ["a", "c"]


@needs_shared
def test_kill_9_in_the_middle_of_an_import_then_a_rerun_loses_and_duplicates_nothing(
        tmp_path, faces_library):
    import signal
    import subprocess
    import sys
    import time

    from photosense_cli.catalogue import Catalogue

    lib = tmp_path / "killed.db"
    proc = subprocess.Popen([sys.executable, "-m", "photosense_cli", "import", str(SHARED / "faces"),
                             "--engine", "local", "--workers", "1", "--quiet", "--library", str(lib)])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if lib.exists() and Catalogue(lib).scalar("SELECT count(*) FROM photos") >= 4:
            break
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the import finished before it could be killed"
    assert Catalogue(lib).scalar("SELECT count(*) FROM runs WHERE status = 'running'") == 1

    cli = Cli(lib)
    s = cli.json("import", SHARED / "faces")

    assert s["errors"] == [] and s["files"]["new"] + s["files"]["skipped"] == 23
    reference, _ = faces_library
    assert cli.json("status")["faces"] == reference.json("status")["faces"]
    _, by_label, by_person = labelled_people(cli, SHARED / "faces")
    assert all(len(p) == 1 for p in by_label.values())
    assert all(len(labs) == 1 for labs in by_person.values())


@needs_shared
def test_the_prefilter_sends_every_shared_face_photo_and_skips_a_blank_one():
    """import --prefilter local must never keep a face photo from IndexFaces: every shared
    face photo scores at or above the threshold; a plain landscape below it."""
    from PIL import Image

    from photosense_cli import images
    from photosense_cli.engines import local

    def score(data: bytes, name: str) -> float:
        return local.face_score(images.prepare(data, min_side=80, name=name).data)

    photos = [p for p in sorted((SHARED / "faces").iterdir())
              if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    scores = {p.name: score(p.read_bytes(), p.name) for p in photos}
    assert len(scores) == 23 and min(scores.values()) >= local.PREFILTER_THRESHOLD, scores
    sky = np.zeros((900, 1200, 3), np.uint8)
    sky[:450] = (120, 170, 230)
    sky[450:] = (70, 120, 40)
    import io

    buf = io.BytesIO()
    Image.fromarray(sky).save(buf, "JPEG")
    assert score(buf.getvalue(), "sky.jpg") < local.PREFILTER_THRESHOLD


def test_the_shipped_face_detector_is_dlibs_own():
    """The saved detector loads in 1 ms where dlib builds its own in 0.3 s; it must be the
    same detector: the same boxes, scores and sub-detectors, down to candidates far below
    the bar. (Not byte for byte: another dlib may save the same detector differently.)"""
    import dlib

    from photosense_cli.engines import local

    builtin = dlib.get_frontal_face_detector()
    shipped = dlib.fhog_object_detector(local.DETECTOR_FILE)
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    photos = [image] + ([local._rgb((SHARED / "faces" / n).read_bytes())
                         for n in ("group_obama_biden.jpg", "kit_2.jpeg")] if SHARED.is_dir() else [])
    for pixels in photos:  # -2: far below the bar (0), so even the noise gives candidates
        ours, theirs = shipped.run(pixels, 1, -2.0), builtin.run(pixels, 1, -2.0)
        assert ours[1], "nothing to compare"
        assert [(r.left(), r.top(), r.right(), r.bottom()) for r in ours[0]] == \
            [(r.left(), r.top(), r.right(), r.bottom()) for r in theirs[0]]
        assert ours[1] == theirs[1] and ours[2] == theirs[2]


def test_without_the_saved_detector_dlib_builds_its_own(tmp_path, monkeypatch):
    from photosense_cli.engines import local

    (tmp_path / "cut.svm").write_bytes(open(local.DETECTOR_FILE, "rb").read()[:5000])
    monkeypatch.setattr(local, "DETECTOR_FILE", str(tmp_path / "cut.svm"))
    monkeypatch.setattr(local, "_models", {})
    detector = local._load_models()["detector"]
    rng = np.random.default_rng(7)
    image = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    import dlib

    scores = detector.run(image, 1, -2.0)[1]
    assert scores and scores == dlib.get_frontal_face_detector().run(image, 1, -2.0)[1]


def test_face_search_returns_what_similarity_gives_every_row():
    """search_faces scores only the rows within distance_within(threshold); the answer must be
    what scoring every row gives, at the bound and beyond either end of the scale."""
    from photosense_cli.engines.base import KnownFace, Usage
    from photosense_cli.engines.local import MATCH_DISTANCE, LocalEngine, similarity

    rng = np.random.default_rng(3)
    vectors = rng.normal(0, 0.05, (90, 128)).astype(np.float32)  # fewer than the 100 returned
    step = np.zeros(128, np.float32)
    step[0] = MATCH_DISTANCE  # exactly at the 90 % bound from row 0
    vectors[1] = vectors[0] + step
    e = LocalEngine(processes=1)
    e.open_collection("c", [KnownFace(f"f{i}", v.tobytes()) for i, v in enumerate(vectors)])
    for threshold in (-5.0, 0.0, 40.0, 55.5, 89.99, 90.0, 100.0, 100.5):
        got = e.search_faces("f0", threshold, Usage())
        # every row scored, as search_faces did before it looked only at the near ones
        m, norms = e._matrix[: e._used], e._norms[: e._used]
        sims = similarity(np.sqrt(np.maximum(norms + norms[0] - 2.0 * (m @ m[0]), 0.0)))
        want = {f"f{i}": float(s) for i, s in enumerate(sims) if i != 0 and s >= threshold}
        assert {g.face_id for g in got} == set(want), threshold
        assert all(g.similarity == pytest.approx(want[g.face_id]) for g in got)
        assert [g.similarity for g in got] == sorted((g.similarity for g in got), reverse=True)
    assert "f1" in [m.face_id for m in e.search_faces("f0", 89.99, Usage())]


@needs_shared
def test_split_takes_apart_two_real_people_a_merge_made_one(faces_library):
    """Obama's and Biden's people merged by mistake come apart into exactly the two, on
    the descriptors (average linkage at the offline band's floor, 89)."""
    cli, _ = faces_library
    _, by_label, _ = labelled_people(cli, SHARED / "faces")
    [obama], [biden] = by_label["obama"], by_label["biden"]
    faces = {p: {f["id"] for f in cli.json("people", "show", p)["faces"]} for p in (obama, biden)}
    cli("people", "merge", obama, biden)
    try:
        proposal = cli.json("people", "split", obama, "--json")
        assert proposal["engine_calls"] == 0 and proposal["applied"] is False
        assert [set(g["face_ids"]) for g in proposal["groups"]] == [faces[obama], faces[biden]]
    finally:
        cli("undo")
    assert {f["id"] for f in cli.json("people", "show", biden)["faces"]} == faces[biden]
