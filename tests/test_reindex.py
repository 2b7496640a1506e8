"""reindex: switch a library to another engine, keeping what the user taught it."""

import pytest

from photosense_cli.catalogue import Catalogue
from photosense_cli.engines.fake import FakeEngine
from photosense_cli.geometry import pair_faces
from photosense_cli.records import Box
from tests.conftest import BOX, BOX2, join_workers, photo, register


@pytest.fixture
def other(monkeypatch):
    """A second engine with its own collection and face ids."""
    engine = FakeEngine(texts={0: ["Quarterly whiteboard"]})
    register(monkeypatch, "other", engine)
    return engine


@pytest.fixture
def taught(cli, fake, tmp_path):
    """A library where the user named one person and merged two identities into her."""
    pics = tmp_path / "pics"
    photo(pics / "a.jpg", faces=[(0, BOX)], texts=[(0, (0.3, 0.65, 0.4, 0.2))])
    photo(pics / "b.jpg", faces=[(0, BOX), (1, BOX2)])
    photo(pics / "c.jpg", faces=[(2, BOX)], size=(600, 400))
    cli.import_(pics)
    zero = cli.json("show", pics / "a.jpg")["faces"][0]["person_id"]
    one = [f for f in cli.json("show", pics / "b.jpg")["faces"] if f["person_id"] != zero][0]
    cli("people", "rename", zero, "Ann")
    cli("people", "merge", "Ann", one["person_id"])  # the user says 0 and 1 are one person
    return pics


def test_reindex_keeps_names_and_merges_and_clears_the_old_engine(cli, fake, other, taught):
    assert len(fake.faces) == 4

    r = cli.json("reindex", "--engine", "other")

    assert r["command"] == "reindex" and r["engine"] == "other"
    assert (r["files"]["reanalysed"], r["faces"], r["files"]["failed"]) == (3, 4, 0)
    assert r["reindex"] == {"from": "fake", "faces_kept_person": 4, "people_removed": 0,
                            "old_engine_cleaned": True}
    assert r["people_created"] == 0
    ann = cli.json("people", "show", "Ann")
    assert len(ann["faces"]) == 3
    assert len(cli.json("people", "--all")) == 2
    assert fake.faces == {}  # no biometric data left behind in the old engine
    status = cli.json("status")
    assert status["engine"] == "other" and status["faces"] == len(other.faces) == 4
    assert cli.json("search", "whiteboard")[0]["people"] == ["Ann"]
    # the library now belongs to the new engine, for good
    s = cli.json("import", taught, "--engine", "other")
    assert s["files"]["skipped"] == 3
    assert "built with the other engine" in cli("import", taught, "--engine", "fake", code=2).stderr
    # and the new engine clusters new photos into the same people
    photo(taught / "d.jpg", faces=[(1, BOX)], size=(500, 500))
    assert cli.json("import", taught)["people_created"] == 0
    assert len(cli.json("people", "show", "Ann")["faces"]) == 4
    assert "reindex" in cli("undo", code=2).stderr


def test_an_interrupted_reindex_resumes(cli, fake, other, taught, tmp_path):
    (taught / "c.jpg").rename(tmp_path / "away.jpg")

    r = cli("reindex", "--engine", "other", code=1)

    assert "c.jpg: cannot read: No such file" in r.stderr
    assert "again" in r.stderr
    (tmp_path / "away.jpg").rename(taught / "c.jpg")
    r = cli.json("reindex", "--engine", "other")
    assert r["files"]["reanalysed"] == 1 and r["files"]["failed"] == 0
    assert cli.json("status")["faces"] == 4


def test_a_reindex_with_the_same_engine_rebuilds_its_collection(cli, fake, taught):
    """The remedy for a collection deleted outside photosense: every photo again, names kept."""
    fake.faces.clear()
    fake.collection_exists = False
    photo(taught / "d.jpg", faces=[(1, BOX)], size=(500, 500))
    r = cli("import", taught, code=2)
    assert r.stderr.startswith("photosense: the face collection of this library is gone: "
                               "fake collection photosense-")
    assert r.stderr.endswith("keeping names and merges: photosense reindex --engine fake\n")

    s = cli.json("reindex", "--engine", "fake")

    assert s["files"]["reanalysed"] == 3 and s["reindex"]["faces_kept_person"] == 4
    assert len(cli.json("people", "show", "Ann")["faces"]) == 3
    assert cli.import_(taught)["people_created"] == 0  # d.jpg's face is Ann's again
    assert sorted(fake.faces) == sorted(Catalogue(cli.library).engine_face_ids())


def test_faces_pair_by_overlap():
    new = [Box(0.1, 0.1, 0.2, 0.2), Box(0.6, 0.6, 0.2, 0.2), Box(0.4, 0.0, 0.1, 0.1)]
    old = [Box(0.62, 0.61, 0.2, 0.2), Box(0.12, 0.1, 0.19, 0.21)]
    assert pair_faces(new, old) == {0: 1, 1: 0}


def test_a_photo_that_fails_to_decode_fails_alone_in_a_reindex(cli, fake, other, taught, monkeypatch):
    from photosense_cli import images

    real = images.open_image
    bad = (taught / "c.jpg").read_bytes()

    def explodes(data):
        if data == bad:
            raise ValueError("corrupt EXIF directory")
        return real(data)

    monkeypatch.setattr(images, "open_image", explodes)
    r = cli("reindex", "--engine", "other", code=1)
    assert "c.jpg: cannot decode: ValueError: corrupt EXIF directory" in r.stderr
    assert "Re-analysed 2 photos" in r.stderr


def test_calls_for_a_photo_that_failed_are_logged_too(cli, fake, other, taught):
    from photosense_cli.errors import ItemFailed

    def refuse_text(op):
        if op == "DetectText":
            raise ItemFailed("Rekognition InvalidImageFormatException: bad")

    other.before_call = refuse_text
    r = cli.json("reindex", "--engine", "other", code=1)

    assert r["files"]["failed"] == 3 and r["calls"] == {"IndexFaces": 3, "DetectText": 3}
    logged = cli.json("status")["calls"]
    assert logged["IndexFaces"] == 3 + 3 and logged["DetectText"] == 3 + 3  # import + reindex


def test_a_killed_reindex_is_a_run_whose_left_faces_the_next_run_removes(
        cli, fake, other, taught, monkeypatch):
    from photosense_cli.catalogue import Catalogue

    real = Catalogue.replace_analysis
    calls = {"n": 0}

    def dies_on_the_second(self, photo_id, engine):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # Ctrl-C between the engine and the catalogue
        return real(self, photo_id, engine)

    monkeypatch.setattr(Catalogue, "replace_analysis", dies_on_the_second)
    r = cli("reindex", "--engine", "other", "--workers", "1", code=130)
    assert "interrupted" in r.stderr
    join_workers()
    c = Catalogue(cli.library)
    assert c.query("SELECT command, status FROM runs ORDER BY id DESC LIMIT 1") == [
        {"command": "reindex", "status": "interrupted"}]
    assert len(other.faces) > c.scalar("SELECT count(*) FROM faces f JOIN photos p ON "
                                       "p.id = f.photo_id WHERE p.engine = 'other'")
    monkeypatch.setattr(Catalogue, "replace_analysis", real)

    s = cli.json("reindex", "--engine", "other")

    assert s["recovered_faces"] >= 1 and s["files"]["failed"] == 0
    assert sorted(other.faces) == sorted(Catalogue(cli.library).engine_face_ids())
    assert fake.faces == {}
    assert len(cli.json("people", "show", "Ann")["faces"]) == 3
