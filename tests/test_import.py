"""The import pipeline through the CLI, with the fake engine behind it."""

import os
import shutil
import threading

import pytest
from PIL import Image

from photosense_cli import engines
from photosense_cli.catalogue import Catalogue, import_lock
from photosense_cli.errors import EngineError, ItemFailed
from tests.conftest import BOX, BOX2, NONE, TEXT_BOX, join_workers, photo


def db(cli) -> Catalogue:
    return Catalogue(cli.library)


def test_import_records_photos_faces_people_and_text(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    photo(pics / "a.jpg", faces=[(0, BOX)])
    photo(pics / "trip" / "b.png", faces=[(0, BOX), (1, BOX2)], texts=[(0, TEXT_BOX)])
    (pics / "notes.txt").write_text("not a photo, not an image name: ignored")

    s = cli.import_(pics)

    assert s["files"] == {**NONE, "new": 2, "ignored": 1}
    assert (s["faces"], s["people_created"], s["text_lines"]) == (3, 2, 1)
    assert s["calls"] == {"IndexFaces": 2, "DetectText": 2, "SearchFaces": 3}
    assert s["errors"] == []
    c = db(cli)
    assert c.scalar("SELECT count(*) FROM photos") == 2
    assert c.scalar("SELECT count(*) FROM engine_calls") == 7
    people = c.query("SELECT p.name, count(f.id) AS n FROM people p JOIN faces f "
                     "ON f.person_id = p.id GROUP BY p.id ORDER BY n DESC")
    assert [p["n"] for p in people] == [2, 1]
    assert all(p["name"].startswith("Unknown person") for p in people)
    line = c.query("SELECT text, confidence FROM text_lines")[0]
    assert line["text"].startswith("Quarterly whiteboard") and line["confidence"] > 80


def test_rerun_over_unchanged_tree_calls_nothing(cli, fake, tmp_path):
    for i in range(5):
        photo(tmp_path / "pics" / f"{i}.jpg", faces=[(i % 2, BOX)], size=(640 + i, 480))
    cli.import_(tmp_path / "pics")
    calls = dict(fake.calls)

    s = cli.import_(tmp_path / "pics")

    assert dict(fake.calls) == calls
    assert s["files"]["skipped"] == 5 and s["files"]["new"] == 0 and s["calls"] == {}


def test_copies_moves_and_touched_files_are_never_sent_again(cli, fake, tmp_path):
    a = photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    cli.import_(tmp_path / "pics")
    index_calls = fake.calls["IndexFaces"]
    shutil.copy(a, tmp_path / "pics" / "copy of a.jpg")
    shutil.move(a, tmp_path / "moved.jpg")

    s = cli.import_(tmp_path / "pics", tmp_path / "moved.jpg")
    os.utime(tmp_path / "moved.jpg", (1, 1))
    s2 = cli.import_(tmp_path / "moved.jpg")

    assert fake.calls["IndexFaces"] == index_calls
    assert s["files"]["known"] == 2 and s["files"]["new"] == 0
    assert s2["files"]["known"] == 1
    c = db(cli)
    assert c.scalar("SELECT count(*) FROM photos") == 1
    assert c.scalar("SELECT count(*) FROM locations") == 3


def test_two_copies_in_one_run_are_analysed_once(cli, fake, tmp_path):
    a = photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    for i in range(6):
        shutil.copy(a, tmp_path / "pics" / f"a{i}.jpg")

    s = cli.import_(tmp_path / "pics")

    assert fake.calls["IndexFaces"] == 1
    assert s["files"]["new"] == 1 and s["files"]["known"] == 6
    assert db(cli).scalar("SELECT count(*) FROM locations") == 7


def test_exif_orientation_is_applied_before_the_engine_and_boxes_fit_the_displayed_photo(
        cli, fake, tmp_path):
    img = Image.open(photo(tmp_path / "src.png", faces=[(0, (0.1, 0.1, 0.25, 0.3))]))
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated 90° clockwise
    exif[0x0132] = "2019:07:14 10:30:00"
    img.save(tmp_path / "pics" / "rotated.jpg" if (tmp_path / "pics").mkdir() is None else None,
             exif=exif, quality=95)

    cli.import_(tmp_path / "pics")

    c = db(cli)
    p = c.query("SELECT width, height, taken_at, taken_at_source FROM photos")[0]
    assert (p["width"], p["height"]) == (480, 640)
    assert (p["taken_at"], p["taken_at_source"]) == ("2019-07-14T10:30:00", "exif")
    f = c.query('SELECT "left", top, width, height FROM faces')[0]
    # stored (0.1, 0.1, 0.25, 0.3) rotated clockwise: left = 1 - top - height, top = left
    assert f["left"] == pytest.approx(0.6, abs=0.03) and f["top"] == pytest.approx(0.1, abs=0.03)
    assert f["width"] == pytest.approx(0.3, abs=0.03) and f["height"] == pytest.approx(0.25, abs=0.03)
    assert fake.received[0][1] == (480, 640)


def _formats(tmp_path):
    base = lambda k: Image.open(photo(tmp_path / f"base{k}.png", faces=[(k, BOX)]))  # noqa: E731
    pics = tmp_path / "pics"
    pics.mkdir()
    base(0).save(pics / "p.webp", quality=95)
    base(1).save(pics / "p.tiff")
    base(2).save(pics / "p.bmp")
    base(3).convert("P").save(pics / "p.gif")
    base(4).convert("CMYK").save(pics / "cmyk.jpg", quality=95)
    rgba = base(5).convert("RGBA")
    rgba.putalpha(255)
    rgba.save(pics / "alpha.png")
    # 16-bit greyscale: keep the square visible in grey levels the fake can tell apart
    grey16 = Image.new("I;16", (640, 480), 60000)
    grey16.paste(Image.new("I;16", (160, 144), 0), (64, 48))
    grey16.save(pics / "grey16.png")
    return pics


def test_every_format_is_converted_to_what_the_engine_takes(cli, fake, tmp_path):
    pics = _formats(tmp_path)

    s = cli.import_(pics)

    assert s["errors"] == [] and s["files"]["new"] == 7
    assert {fmt for fmt, _, _ in fake.received} == {"JPEG"}
    formats = {r[0] for r in db(cli).conn.execute("SELECT format FROM photos")}
    assert formats == {"WEBP", "TIFF", "BMP", "GIF", "JPEG", "PNG"}
    # one face each, identities 0-5 stay apart; the 16-bit one is a dark square, no identity
    assert db(cli).scalar("SELECT count(*) FROM faces") == 6


def test_iphone_heic_photos_are_imported(cli, fake, tmp_path):
    import pillow_heif

    pics = tmp_path / "pics"
    pics.mkdir()
    try:
        Image.open(photo(tmp_path / "b6.png", faces=[(6, BOX)])).save(pics / "iphone.heic",
                                                                      quality=95)
    except (KeyError, ValueError, OSError) as e:
        pytest.skip(f"pillow-heif {pillow_heif.__version__} has no HEIC encoder here: {e}")

    s = cli.import_(pics)

    assert s["errors"] == [] and s["faces"] == 1
    assert db(cli).scalar("SELECT format FROM photos") == "HEIF"
    assert fake.received[0][0] == "JPEG"


def test_huge_photo_is_downscaled_under_the_request_limit(cli, fake, tmp_path):
    import numpy as np

    noise = np.random.default_rng(1).integers(0, 255, (4000, 6000, 3), dtype=np.uint8)
    img = Image.fromarray(noise)
    img.paste(Image.new("RGB", (1500, 1200), (255, 0, 0)), (600, 400))
    (tmp_path / "pics").mkdir()
    img.save(tmp_path / "pics" / "big.png")
    assert (tmp_path / "pics" / "big.png").stat().st_size > 5 * 1024 * 1024

    s = cli.import_(tmp_path / "pics")

    fmt, size, nbytes = fake.received[0]
    assert max(size) == 1920 and nbytes <= 5 * 1024 * 1024
    assert s["faces"] == 1
    assert db(cli).query("SELECT width, height FROM photos")[0] == {"width": 6000, "height": 4000}


def test_bad_files_are_reported_one_line_each_and_the_run_goes_on(cli, fake, tmp_path):
    pics = tmp_path / "pics"
    good = photo(pics / "good.jpg", faces=[(0, BOX)])
    (pics / "empty.jpg").write_bytes(b"")
    (pics / "letter.jpg").write_text("Dear Sir,")
    (pics / "truncated.jpg").write_bytes(good.read_bytes()[:300])
    photo(pics / "tiny.png", size=(60, 50))
    photo(pics / "two\nlines.jpg", faces=[(1, BOX)])
    (pics / "bad\nname.jpg").write_text("not an image, and a newline in its name")
    os.symlink(pics / "gone.jpg", pics / "dangling.jpg")
    os.symlink(pics, pics / "loop")
    bad_name = os.fsencode(pics) + b"/caf\xe9.jpg"
    with open(bad_name, "wb") as f:
        f.write(good.read_bytes())

    result = cli("import", pics, "--engine", "fake", "--json", code=1)

    import json
    s = json.loads(result.stdout)
    reasons = {os.path.basename(e["path"]): e["reason"] for e in s["errors"]}
    assert reasons["empty.jpg"] == "empty file"
    assert reasons["letter.jpg"].startswith("not an image")
    assert "decode" in reasons["truncated.jpg"] or "truncated" in reasons["truncated.jpg"]
    assert "tiny.png" not in reasons  # a thumbnail is skipped, not failed (below)
    assert "No such file" in reasons["dangling.jpg"]
    assert "directory loop" in reasons["loop"]
    assert any("not valid UTF-8" in r for r in reasons.values())
    assert s["files"]["new"] == 2 and s["files"]["failed"] == 7 and s["files"]["too_small"] == 1
    stderr = [ln for ln in result.stderr.splitlines() if not ln.startswith("new library")]
    assert len(stderr) == 7 and all(line.startswith("photosense: /") for line in stderr)
    # the newline is shown escaped: the failure stays one line, whole
    assert f"photosense: {pics}/bad\\nname.jpg: not an image" in result.stderr
    assert "two\\nlines" not in result.stderr  # that one imported fine
    assert db(cli).scalar("SELECT count(*) FROM locations WHERE path LIKE '%two\nlines.jpg'") == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_reported(cli, fake, tmp_path):
    p = photo(tmp_path / "pics" / "secret.jpg", faces=[(0, BOX)])
    p.chmod(0)
    s = cli.import_(tmp_path / "pics", code=1)
    assert "Permission denied" in s["errors"][0]["reason"]


def test_faces_of_one_identity_become_one_person_even_in_parallel(cli, fake, tmp_path):
    for i in range(24):
        photo(tmp_path / "pics" / f"{i:02}.jpg", faces=[(3, BOX)] + ([(4, BOX2)] if i % 3 == 0 else []),
              size=(640 + i, 480))
    fake.latency = 0.002  # interleave the workers

    s = cli.json("import", tmp_path / "pics", "--engine", "fake", "--workers", "8")

    assert s["people_created"] == 2
    rows = db(cli).query("SELECT person_id, count(*) AS n FROM faces GROUP BY person_id ORDER BY n")
    assert [r["n"] for r in rows] == [8, 24]


def test_a_face_that_matches_two_people_joins_the_best_and_records_a_suggestion(cli, fake, tmp_path):
    """Both have two faces, so both have user vectors: the new face matches Alice's user
    at 99 and Bea's at 93, joins Alice, and the likeness is suggested."""
    photo(tmp_path / "a" / "alice.jpg", faces=[(0, BOX)])
    photo(tmp_path / "a" / "alice2.jpg", faces=[(0, BOX)], size=(600, 480))
    photo(tmp_path / "b" / "bea.jpg", faces=[(1, BOX)])
    photo(tmp_path / "b" / "bea2.jpg", faces=[(1, BOX)], size=(600, 480))
    cli.import_(tmp_path / "a", tmp_path / "b")
    fake.similar[(0, 1)] = 93.0  # from now on the two look alike

    s = cli.import_(photo(tmp_path / "c" / "alice3.jpg", faces=[(0, BOX)], size=(700, 500)))

    c = db(cli)
    assert s["people_created"] == 0
    alice = c.scalar("SELECT person_id FROM faces f JOIN locations l ON l.photo_id = f.photo_id "
                     "WHERE l.path LIKE '%alice.jpg'")
    new = c.scalar("SELECT person_id FROM faces f JOIN locations l ON l.photo_id = f.photo_id "
                   "WHERE l.path LIKE '%alice3.jpg'")
    assert new == alice
    sug = c.query("SELECT * FROM suggestions")
    assert len(sug) == 1 and sug[0]["score"] == 93.0 and sug[0]["source"] == "import-conflict"


def test_crash_between_engine_and_catalogue_loses_and_duplicates_nothing(cli, fake, tmp_path,
                                                                        monkeypatch):
    for i in range(6):
        photo(tmp_path / "pics" / f"{i}.jpg", faces=[(i % 2, BOX)], size=(640 + i, 480))
    real = Catalogue.insert_photo
    count = {"n": 0}

    def dies_on_the_fourth(self, row):
        count["n"] += 1
        if count["n"] == 4:
            raise KeyboardInterrupt  # what Ctrl-C or a kill does between the two
        return real(self, row)

    monkeypatch.setattr(Catalogue, "insert_photo", dies_on_the_fourth)
    result = cli("import", tmp_path / "pics", "--engine", "fake", "--workers", "1", code=130)
    assert "interrupted" in result.stderr
    join_workers()
    in_engine = len(fake.faces)
    assert in_engine >= 4  # the photos in flight reached the engine, not the catalogue
    assert db(cli).scalar("SELECT count(*) FROM faces") == 3
    monkeypatch.setattr(Catalogue, "insert_photo", real)

    s = cli.import_(tmp_path / "pics")

    c = db(cli)
    assert s["recovered_faces"] == in_engine - 3
    assert c.scalar("SELECT count(*) FROM photos") == 6
    assert sorted(fake.faces) == sorted(c.engine_face_ids())
    assert c.scalar("SELECT count(*) FROM people") == 2


def test_crash_with_kill_leaves_a_running_run_that_the_next_run_recovers(cli, fake, tmp_path):
    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    c = Catalogue(cli.library)
    c.start_run("import")  # a run that never finished: kill -9
    c.close()
    from photosense_cli.engines.base import Usage
    orphan = photo(tmp_path / "x.jpg", faces=[(5, BOX)]).read_bytes()
    fake.index_faces(orphan, "orphan", Usage())  # reached the engine, never the catalogue

    s = cli.import_(tmp_path / "pics")

    assert s["recovered_faces"] == 1
    assert all(ext != "orphan" for _, ext in fake.list_faces())


def test_engine_failure_on_one_photo_cleans_its_faces_and_goes_on(cli, fake, tmp_path):
    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    photo(tmp_path / "pics" / "b.jpg", faces=[(1, BOX)])
    calls = {"n": 0}

    def second_detect_text_fails(op):
        if op == "DetectText":
            calls["n"] += 1
            if calls["n"] == 2:
                raise ItemFailed("Rekognition InvalidImageFormatException: bad")

    fake.before_call = second_detect_text_fails
    s = cli.import_(tmp_path / "pics", code=1)

    assert s["files"]["new"] == 1 and s["files"]["failed"] == 1
    assert "InvalidImageFormat" in s["errors"][0]["reason"]
    assert sorted(fake.faces) == sorted(db(cli).engine_face_ids())
    fake.before_call = None
    again = cli.import_(tmp_path / "pics")  # the file is unchanged: remembered, not re-sent
    assert again["files"]["known_failures"] == 1 and again["calls"] == {}
    retried = cli.import_(tmp_path / "pics", extra=["--retry-failed"])
    assert retried["files"]["new"] == 1 and retried["files"]["known_failures"] == 0


def test_fatal_engine_error_stops_the_run_with_exit_2_and_keeps_what_was_stored(cli, fake, tmp_path):
    for i in range(3):
        photo(tmp_path / "pics" / f"{i}.jpg", faces=[(i, BOX)])
    n = {"calls": 0}

    def expire(op):
        n["calls"] += 1
        if op == "IndexFaces" and n["calls"] > 4:
            raise EngineError("Rekognition refused the request (ExpiredTokenException): expired")

    fake.before_call = expire
    result = cli("import", tmp_path / "pics", "--engine", "fake", "--workers", "1", code=2)

    assert result.stderr.strip().splitlines()[-1].startswith("photosense: Rekognition refused")
    assert db(cli).scalar("SELECT count(*) FROM photos") == 2


def test_a_second_import_refuses_while_one_runs(cli, fake, tmp_path):
    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    cli.library.parent.mkdir(parents=True)
    held, release = threading.Event(), threading.Event()

    def hold():
        with import_lock(cli.library):
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(5)
    try:
        r = cli("import", tmp_path / "pics", "--engine", "fake", "--wait", "0.3", code=2)
        assert "another import is running" in r.stderr
    finally:
        release.set()
        t.join()
    assert cli.import_(tmp_path / "pics")["files"]["new"] == 1


def test_dry_run_calls_nothing_and_changes_nothing(cli, fake, tmp_path):
    for i in range(3):
        photo(tmp_path / "pics" / f"{i}.jpg", faces=[(i, BOX)])

    s = cli.import_(tmp_path / "pics", extra=["--dry-run"])

    assert s["dry_run"] is True and s["files"]["new"] == 3
    assert s["calls"] == {"IndexFaces": 3, "DetectText": 3, "SearchFaces": 3}
    assert sum(fake.calls.values()) == 0
    assert not cli.library.exists()  # not even an empty library was created
    cli.import_(tmp_path / "pics" / "0.jpg")
    again = cli.import_(tmp_path / "pics", extra=["--dry-run"])
    assert again["files"]["new"] == 2 and again["files"]["skipped"] == 1
    assert Catalogue(cli.library).scalar("SELECT count(*) FROM photos") == 1


def test_the_summary_says_what_happened_in_words(cli, fake, tmp_path):
    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)], texts=[(0, TEXT_BOX)])
    photo(tmp_path / "pics" / "b.jpg", faces=[(0, BOX)], size=(600, 400))
    (tmp_path / "pics" / "notes.txt").write_text("ignored")

    first = cli("import", tmp_path / "pics", "--engine", "fake").stderr.splitlines()
    again = cli("import", tmp_path / "pics").stderr

    assert first[0] == f"new library {cli.library} uses the fake engine"
    assert first[1] == "Analysed 2 new photos; 0 failed, 1 other file (not photos) ignored."
    assert first[2].startswith("Found 2 faces (1 new people) and 1 lines of text in ")
    assert first[3] == "fake calls: DetectText 2, IndexFaces 2, SearchFaces 2."
    assert again == ("Analysed 0 new photos; 2 unchanged since the last import, 0 failed, "
                     "1 other file (not photos) ignored.\n")


def test_quiet_prints_only_errors_and_exit_codes_tell_the_outcome(cli, fake, tmp_path):
    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    ok = cli("import", tmp_path / "pics", "--engine", "fake", "--quiet")
    assert ok.output == ""
    (tmp_path / "pics" / "b.jpg").write_text("nope")
    bad = cli("import", tmp_path / "pics", "--quiet", code=1)
    assert bad.stdout == "" and bad.stderr.count("\n") == 1 and "b.jpg" in bad.stderr
    assert "new library" not in bad.stderr
    # cron: a rerun over the unchanged tree, the bad file still there, says nothing, exit 0
    again = cli("import", tmp_path / "pics", "--quiet")
    assert again.stdout == again.stderr == ""
    assert "1 known failure skipped" in cli("import", tmp_path / "pics").stderr
    # one folder named, and it is not there: a usage error that makes no library
    from tests.conftest import Cli

    other = tmp_path / "other.db"
    missing = Cli(other)("import", tmp_path / "nowhere", code=2)
    assert missing.stderr == f"photosense: nothing to import: {tmp_path}/nowhere does not exist\n"
    assert not other.exists()
    partly = cli("import", tmp_path / "pics", tmp_path / "nowhere", code=1)
    assert f"photosense: {tmp_path}/nowhere: cannot read: No such file" in partly.stderr


def test_the_library_keeps_its_engine(cli, fake, tmp_path):
    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    first = cli("import", tmp_path / "pics", "--engine", "fake")
    assert "uses the fake engine" in first.stderr

    r = cli("import", tmp_path / "pics", "--engine", "rekognition", code=2)

    assert "built with the fake engine" in r.stderr and "reindex" in r.stderr
    assert "uses the" not in cli("import", tmp_path / "pics").stderr  # no engine given: its own


def test_without_the_local_engine_one_line_says_what_to_do(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(engines, "local_available", lambda: False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")  # credentials alone never pick the cloud
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    photo(tmp_path / "pics" / "a.jpg")
    r = cli("import", tmp_path / "pics", code=2)
    assert r.stderr == ("photosense: the offline engine is not installed: pip install "
                        "'photosense-cli[local]', or use --engine rekognition with an AWS "
                        "account\n")
    assert Catalogue(cli.library).get_meta("engine") is None  # not bound to any engine


def test_rekognition_without_credentials_says_how_to_configure(cli, tmp_path):
    photo(tmp_path / "pics" / "a.jpg")
    r = cli("import", tmp_path / "pics", "--engine", "rekognition", code=2)
    assert "no AWS credentials" in r.stderr and "--engine local" in r.stderr


def test_library_file_is_private_and_found_through_the_environment(fake, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from photosense_cli.cli import app

    lib = tmp_path / "env-lib.db"
    monkeypatch.setenv("PHOTOSENSE_LIBRARY", str(lib))
    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    r = CliRunner().invoke(app, ["import", str(tmp_path / "pics"), "--engine", "fake", "-q"])
    assert r.exit_code == 0
    assert lib.stat().st_mode & 0o777 == 0o600


def test_engines_say_their_own_default_workers(cli, fake, tmp_path, monkeypatch):
    from tests.conftest import register

    seen: list = []
    register(monkeypatch, "fake", fake, seen)
    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    cli.json("import", tmp_path / "pics", "--engine", "fake")
    monkeypatch.setattr(type(fake), "default_workers", 5)
    photo(tmp_path / "pics" / "b.jpg", faces=[(0, BOX)], size=(600, 400))
    cli.json("import", tmp_path / "pics")
    cli.json("import", tmp_path / "pics", "--workers", "3")
    cli.json("import", tmp_path / "pics", env={"PHOTOSENSE_WORKERS": "7"})
    assert [o.workers for o in seen] == [32, 5, 3, 7]


def test_huge_files_and_decoder_surprises_fail_one_file_only(cli, fake, tmp_path, monkeypatch):
    from photosense_cli import images

    pics = tmp_path / "pics"
    good = photo(pics / "good.jpg", faces=[(0, BOX)])
    huge = pics / "huge.tif"
    with open(huge, "wb") as f:  # sparse: 600 MB on paper, nothing on disk
        f.write(b"II*\x00")
        f.truncate(600 * 1024 * 1024)
    photo(pics / "odd.png", faces=[(1, BOX)])
    real = images.open_image
    odd = (pics / "odd.png").read_bytes()

    def explodes_on_odd(data):
        if data == odd:  # a fault deep in decoding, of a kind Pillow was not expected to raise
            raise ValueError("corrupt EXIF directory")
        return real(data)

    monkeypatch.setattr(images, "open_image", explodes_on_odd)
    s = cli.import_(pics, code=1)

    reasons = {os.path.basename(e["path"]): e["reason"] for e in s["errors"]}
    assert reasons["huge.tif"].startswith("file too large (600 MB")
    assert reasons["odd.png"] == "cannot decode: ValueError: corrupt EXIF directory"
    assert s["files"]["new"] == 1 and good.exists()


def test_an_unexpected_engine_error_fails_that_photo_only(tmp_path, monkeypatch):
    """A model raising on one photo fails that photo; the others of the run are stored."""
    from photosense_cli.catalogue import Catalogue
    from photosense_cli.engines import local
    from photosense_cli.pipeline.importjob import Importer

    pics = tmp_path / "pics"
    photo(pics / "a.jpg", faces=[(0, BOX)])
    odd = photo(pics / "odd.jpg", faces=[(1, BOX)]).read_bytes()
    photo(pics / "c.jpg", faces=[(2, BOX)])

    odd_pixels = local._rgb(odd)

    def detect(pixels):  # stands in for dlib: no model needed to test the engine's wrapper
        if pixels.shape == odd_pixels.shape and (pixels == odd_pixels).all():
            raise RuntimeError("Unsupported image type, must be 8bit gray or RGB image.")
        return [((0.1, 0.1, 0.2, 0.2), 99.0, bytes(512))]

    # one task a photo: faces and text together (analyse_photo), as the engine runs them
    monkeypatch.setattr(local, "analyse_photo", lambda pixels: (detect(pixels), []))
    cat = Catalogue(tmp_path / "lib.db")

    s = Importer(cat, local.LocalEngine(processes=1), threads=2).run([str(pics)])

    assert s.new == 2 and s.failed == 1
    assert s.errors == [{"path": str(pics / "odd.jpg"), "reason": "local engine: RuntimeError: "
                         "Unsupported image type, must be 8bit gray or RGB image."}]
    assert cat.scalar("SELECT count(*) FROM faces") == 2


def test_an_import_in_another_process_holds_the_library(cli, fake, tmp_path):
    import subprocess
    import sys

    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    cli.library.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom photosense_cli.catalogue import import_lock\n"
         f"with import_lock({str(cli.library)!r}):\n    print('held', flush=True)\n    time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        r = cli("import", tmp_path / "pics", "--engine", "fake", code=2)
        assert f"(pid {holder.pid})" in r.stderr
    finally:
        holder.kill()
        holder.wait()
    assert cli.import_(tmp_path / "pics")["files"]["new"] == 1  # the kernel let go of the lock


def test_one_owner_knows_each_content_hash_in_a_run():
    from photosense_cli.pipeline.content import ContentIndex
    from photosense_cli.pipeline.state import Candidate

    index = ContentIndex({"old": 7}, {"gone"})
    a, b, c = (Candidate(f"/p/{n}.jpg", 1, 1) for n in "abc")
    assert index.claim("gone") == ("forgotten", None)
    assert index.claim("old") == ("known", 7)
    assert index.claim("new") == ("first", None)
    assert index.claim("new") == ("copy", None)  # a worker is on it: never sent twice
    assert index.place_copy("new", a) == ("waiting", None, "")
    assert index.written("new", 9) == [a]  # the copy that waited becomes a path of photo 9
    assert index.claim("new") == ("known", 9)  # later copies of this run are known
    assert index.place_copy("new", b) == ("known", 9, "")
    assert index.claim("bad") == ("first", None)
    assert index.place_copy("bad", c) == ("waiting", None, "")
    assert index.failed("bad", "cannot decode") == [c]
    assert index.claim("bad") == ("copy", None)
    assert index.place_copy("bad", a) == ("failed", None, "cannot decode")


def test_a_copy_met_after_its_first_was_stored_is_a_path_not_a_call(cli, fake, tmp_path):
    a = photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    late = tmp_path / "pics" / "z" / "late copy.jpg"
    late.parent.mkdir()
    shutil.copy(a, late)

    s = cli.json("import", tmp_path / "pics", "--engine", "fake", "--workers", "1")

    assert fake.calls["IndexFaces"] == 1 and s["files"] == {**NONE, "new": 1, "known": 1}
    assert sorted(cli.json("show", late)["paths"]) == [str(a), str(late)]


def test_a_photos_engine_calls_overlap(cli, fake, tmp_path, monkeypatch):
    """IndexFaces and DetectText of one photo run at once, and so do its SearchFaces."""
    import time

    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX), (1, BOX2)])
    fake.latency = 0.2
    spans: list = []

    def timed_call(name):
        real = getattr(type(fake), name)

        def call(self, *args):
            start = time.perf_counter()
            try:
                return real(self, *args)
            finally:
                spans.append((name, start, time.perf_counter()))
        monkeypatch.setattr(type(fake), name, call)

    for name in ("index_faces", "detect_text", "search_faces"):
        timed_call(name)
    started = time.perf_counter()
    cli.import_(tmp_path / "pics", extra=["--workers", "1"])
    took = time.perf_counter() - started

    by = {}
    for name, start, end in spans:
        by.setdefault(name, []).append((start, end))
    (i0, i1), (t0, t1) = by["index_faces"][0], by["detect_text"][0]
    assert max(i0, t0) < min(i1, t1)  # IndexFaces and DetectText in flight together
    (s0, s1), (u0, u1) = by["search_faces"]
    assert max(s0, u0) < min(s1, u1)  # both faces searched at once
    assert took < 0.2 * 4  # 2 round trips, not 2 + faces = 4


def test_the_local_engine_reads_a_photo_in_one_task(monkeypatch):
    """Faces and text of one photo: one task to a worker, decoded once, not two."""
    from photosense_cli.engines import local
    from photosense_cli.engines.base import Usage

    tasks = []

    def decode(image):
        tasks.append(("decode", image))
        return ("pixels of", image)

    def analyse(pixels):
        tasks.append(("analyse", pixels))
        return [], [("EXIT", 99.0, (0.1, 0.1, 0.2, 0.1))]

    def read(pixels):
        tasks.append(("read", pixels))
        return [("other", 99.0, (0.1, 0.1, 0.2, 0.1))]

    monkeypatch.setattr(local, "_rgb", decode)
    monkeypatch.setattr(local, "analyse_photo", analyse)
    monkeypatch.setattr(local, "_lines_in", read)
    engine = local.LocalEngine(processes=1)
    image = b"photo bytes"
    engine.index_faces(image, "sha", Usage())
    assert [ln.text for ln in engine.detect_text(image, Usage())] == ["EXIT"]
    assert tasks == [("decode", image), ("analyse", ("pixels of", image))]
    assert [ln.text for ln in engine.detect_text(b"other bytes", Usage())] == ["other"]
    assert len(tasks) == 4 and engine._lines == {}
