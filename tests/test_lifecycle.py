"""A library over years: files move, change and go; some always fail; forget is taken back.

Each test goes through the CLI and checks the exit code, stderr and the catalogue.
"""

import json
import os
import shutil

from PIL import Image

from photosense_cli.catalogue import Catalogue
from tests.conftest import BOX, BOX2, photo


def test_moved_photos_keep_their_people_and_old_paths_are_never_printed(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    photo(pics / "inbox" / "a.jpg", faces=[(0, BOX)], texts=[(0, (0.3, 0.65, 0.4, 0.2))])
    photo(pics / "inbox" / "b.jpg", faces=[(0, BOX)], size=(600, 400))
    cli.import_(pics)
    ann = cli.json("people", "--all")[0]["id"]
    cli("people", "rename", ann, "Ann")
    (pics / "album").mkdir()
    for f in (pics / "inbox").iterdir():
        shutil.move(f, pics / "album" / f.name)
    calls = dict(fake.calls)

    s = cli.import_(pics)

    assert s["files"]["known"] == 2 and s["files"]["gone"] == 2 and dict(fake.calls) == calls
    assert cli("search", "whiteboard", "--paths").stdout == f"{pics}/album/a.jpg\n"
    shown = cli.json("people", "show", "Ann")
    assert sorted(p["path"] for p in shown["photos"]) == [f"{pics}/album/a.jpg",
                                                         f"{pics}/album/b.jpg"]
    assert cli.json("status")["missing"] == 0


def test_a_deleted_photo_is_missing_until_forgotten(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    keep = photo(pics / "keep.jpg", faces=[(0, BOX)])
    gone = photo(pics / "gone.jpg", faces=[(0, BOX)], size=(600, 400))
    cli.import_(pics)
    person = cli.json("people", "--all")[0]["id"]
    gone.unlink()

    cli.import_(pics)

    status = cli.json("status")
    assert status["missing"] == 1
    assert status["missing_photos"] == [{"id": status["missing_photos"][0]["id"],
                                         "last_path": str(gone)}]
    assert [h["path"] for h in cli.json("search")] == [str(keep)]
    marked = cli.json("search", "--missing")
    assert {(h["path"], h["missing"]) for h in marked} == {(str(keep), False), (str(gone), True)}
    assert cli("search", "--missing", "--paths").stdout == f"{keep}\n"
    assert [p["path"] for p in cli.json("people", "show", person)["photos"]] == [str(keep)]
    assert len(cli.json("people", "show", person, "--missing")["photos"]) == 2

    r = cli.json("forget", "--missing", "--yes")

    assert r["photos"] == 1 and cli.json("status")["missing"] == 0
    assert len(fake.faces) == 1


def test_a_photo_edited_in_place_replaces_itself_and_keeps_its_people(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    p = photo(pics / "a.jpg", faces=[(0, BOX), (1, BOX2)])
    photo(pics / "b.jpg", faces=[(0, BOX)], size=(600, 400))
    cli.import_(pics)
    ann = cli.json("show", p)["faces"][0]["person_id"]
    cli("people", "rename", ann, "Ann")
    before_faces = set(fake.faces)
    img = Image.open(p)
    exif = Image.Exif()
    exif[0x010E] = "tagged by another tool"  # new bytes, the same pixels
    img.save(p, exif=exif, quality=95)

    s = cli.import_(pics)

    assert s["files"]["new"] == 1 and s["files"]["replaced"] == 1
    ann_now = cli.json("people", "show", "Ann")
    assert ann_now["id"] == ann and len(ann_now["photos"]) == 2 and len(ann_now["faces"]) == 2
    assert len(cli.json("people", "--all")) == 2  # no new person for the other face either
    old_of_a = before_faces - set(fake.faces)
    assert len(old_of_a) == 2  # the engine's faces of the old version are deleted
    c = Catalogue(cli.library)
    assert c.scalar("SELECT count(*) FROM photos") == 2
    assert sorted(fake.faces) == sorted(c.engine_face_ids())
    assert all(h["path"] for h in cli.json("search"))


def test_a_file_that_always_fails_is_reported_once(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    photo(pics / "good.jpg", faces=[(0, BOX)])
    bad = pics / "letter.jpg"
    bad.write_text("Dear Sir,")
    tiny = photo(pics / "tiny.png", size=(50, 50))
    os.symlink(pics / "nowhere.jpg", pics / "dangling.jpg")
    first = cli("import", pics, "--engine", "fake", code=1)
    assert first.stderr.count("photosense: ") == 2  # the tiny one is skipped, not failed
    assert "1 too small to analyse (thumbnails, icons), skipped" in first.stderr

    again = cli("import", pics)

    assert again.stderr.splitlines()[1] == ("2 known failures skipped (unchanged since they "
                                            "failed); see 'photosense status', or --retry-failed.")
    assert "photosense: " not in again.stderr
    listed = {os.path.basename(f["path"]) for f in cli.json("status")["failures"]}
    assert listed == {"letter.jpg", "dangling.jpg"}  # the thumbnail is no failure
    assert cli.json("status")["too_small"] == 1
    retried = cli.json("import", pics, "--retry-failed", code=1)["files"]
    assert retried["failed"] == 2 and retried["too_small"] == 1
    # a file that changes is tried again, and once it imports it is no failure
    photo(tiny, size=(200, 200), faces=[(1, BOX)])
    fixed = cli.import_(pics)
    assert fixed["files"]["new"] == 1 and fixed["files"]["known_failures"] == 2
    assert fixed["files"]["too_small"] == 0
    assert "tiny.png" not in json.dumps(cli.json("status")["failures"])


def test_a_truncated_photo_is_not_billed_again(cli, fake, tmp_path):
    good = photo(tmp_path / "src.jpg", faces=[(0, BOX)])
    data = good.read_bytes()
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "cut.jpg").write_bytes(data[: len(data) * 2 // 3])
    first = cli.import_(tmp_path / "pics", code=1)
    assert "truncated" in first["errors"][0]["reason"]
    assert sum(fake.calls.values()) == 0  # found out here, not billed by the engine

    s = cli.import_(tmp_path / "pics")

    assert sum(fake.calls.values()) == 0 and s["files"]["known_failures"] == 1


def test_videos_are_never_failures_whatever_their_size(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    photo(pics / "a.jpg", faces=[(0, BOX)])
    with open(pics / "holiday.mp4", "wb") as f:  # sparse: 600 MB on paper
        f.write(b"\x00\x00\x00\x18ftypisom\x00\x00\x00\x00")
        f.truncate(600 * 1024 * 1024)
    s = cli.import_(pics)
    assert s["files"]["ignored"] == 1 and s["files"]["failed"] == 0


def test_excluded_files_are_never_read(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    photo(pics / "a.jpg", faces=[(0, BOX)])
    photo(pics / "private" / "b.jpg", faces=[(1, BOX)])
    photo(pics / "trip" / "c.png", faces=[(2, BOX)])
    photo(pics / "trip" / "d.jpg", faces=[(3, BOX)])
    (pics / ".photosenseignore").write_text("# not these\nprivate/\n")

    s = cli.import_(pics, extra=["--exclude", "*.png"])

    assert s["files"]["new"] == 2 and s["files"]["excluded"] == 2
    assert len(fake.received) == 2
    paths = {os.path.basename(h["path"]) for h in cli.json("search")}
    assert paths == {"a.jpg", "d.jpg"}
    assert cli.import_(pics, extra=["-x", "*.png"])["files"]["gone"] == 0  # excluded is not gone


def test_forget_can_be_taken_back_and_the_names_return(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    photo(pics / "a.jpg", faces=[(0, BOX)])
    photo(pics / "b.jpg", faces=[(0, BOX)], size=(600, 400))
    cli.import_(pics)
    ann = cli.json("people", "--all")[0]["id"]
    cli("people", "rename", ann, "Ann")
    link = tmp_path / "link"
    os.symlink(pics, link)

    r = cli.json("forget", link, "--yes")  # through a symlink: its target is forgotten

    assert r == {"photos": 2, "faces": 2, "people_removed": 1, "kept_photos": 0,
                 "paths_forgotten": []}
    assert cli.import_(pics)["files"]["forgotten"] == 2
    assert cli.json("history")[0]["kind"] == "forget"
    assert "import those files again" in cli("undo").stderr

    s = cli.import_(pics)

    assert s["files"]["new"] == 2 and s["people_created"] == 0
    back = cli.json("people", "--all")
    assert [(p["id"], p["name"], p["faces"]) for p in back] == [(ann, "Ann", 2)]


def test_undo_after_the_world_changed_restores_what_is_left(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    photo(pics / "a.jpg", faces=[(0, BOX)])
    photo(pics / "b.jpg", faces=[(1, BOX)], size=(600, 400))
    cli.import_(pics)
    zero = cli.json("show", pics / "a.jpg")["faces"][0]["person_id"]
    one = cli.json("show", pics / "b.jpg")["faces"][0]["person_id"]
    cli("people", "merge", zero, one)
    cli("forget", pics / "b.jpg", "--yes")
    cli("undo")  # the forget

    r = cli("undo")  # the merge: person one's only face was forgotten in between

    assert r.stderr == (f"undid: merged 'Unknown person {one}' into 'Unknown person {zero}' "
                        f"(could not restore: 'Unknown person {one}' has no face left)\n")
    assert "nothing to undo" in cli("undo", code=2).stderr  # not stuck on that entry
    assert [p["id"] for p in cli.json("people", "--all")] == [zero]
