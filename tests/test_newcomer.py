"""A newcomer's first hour (issue 17): the consent question, errors and exit codes, and
words that say what happened, through the CLI and, where a terminal matters, in one."""

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import BOX, BOX2, Cli, photo

ROOT = Path(__file__).resolve().parents[1]


def in_terminal(args, env, answer: bytes, until: bytes = b"[y/N]", timeout: float = 60.0):
    """Run photosense in a pseudo-terminal, type `answer` once `until` shows: (screen, code)."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "photosense_cli", *map(str, args)],
                            stdin=slave, stdout=slave, stderr=slave, cwd=ROOT,
                            env={**os.environ, **env, "TERM": "xterm", "COLUMNS": "80"},
                            close_fds=True)
    os.close(slave)
    screen, answered = b"", False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
        if not answered and until in screen:
            os.write(master, answer)
            answered = True
        if proc.poll() is not None and not ready:
            break
    os.close(master)
    return screen.decode("utf-8", "replace"), proc.wait(timeout=10)


AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "eu-west-2"}


def test_the_consent_question_is_seen_in_a_terminal_and_no_means_nothing_is_left(tmp_path):
    for i in range(3):
        photo(tmp_path / "pics" / f"{i}.jpg", faces=[(i, BOX)], size=(640 + i, 480))
    (tmp_path / "pics" / "labels.csv").write_text("name\n")
    lib = tmp_path / "lib" / "library.db"
    screen, code = in_terminal(["import", tmp_path / "pics", "--engine", "rekognition",
                                "--library", lib], AWS, b"n\r")
    lines = [line.strip() for line in screen.replace("\r", "").split("\n")]
    assert lines[0] == ("3 photos will be sent to Amazon Rekognition in eu-west-2 for faces "
                        "and text, for about $0.01 (1 face a photo assumed).")
    assert lines[1].startswith("A photo holding 100 words or more")  # the dense pages' cost
    assert lines[2].startswith("Go on? [y/N]")
    assert "importing" not in screen  # no progress bar was drawn over the question
    assert "photosense: nothing was sent, and no library was made" in screen
    assert code == 1
    assert not lib.parent.exists()  # the library, its lock and its folder are gone


def test_the_question_the_dry_run_and_the_summary_count_the_same_photos(tmp_path, monkeypatch):
    from tests.test_rekognition import stub_new_library

    pics = tmp_path / "pics"
    p = photo(pics / "a.jpg", faces=[(0, BOX)])
    (pics / "labels.csv").write_text("file;people\na.jpg;Ann\n")
    (pics / "LICENSE-photos.txt").write_text("MIT\n")
    (pics / "broken.jpg").write_text("this was never a JPEG")
    for k, v in AWS.items():
        monkeypatch.setenv(k, v)
    cli = Cli(tmp_path / "lib.db")
    dry = cli.json("import", pics, "--engine", "rekognition", "--dry-run", code=1)
    stubs = stub_new_library(monkeypatch, cli, p, "f-1", detect_texts=1)
    real = cli("import", pics, "--engine", "rekognition", "--json", code=1)
    stubs[0].assert_no_pending_responses()
    told = [ln for ln in real.stderr.splitlines() if "will be sent" in ln]
    assert told == ["photosense: 1 photo will be sent to Amazon Rekognition in eu-west-2 for "
                    "faces and text, for about $0.00 (1 face a photo assumed)"]
    assert dry["files"]["new"] == json.loads(real.stdout)["files"]["new"] == 1
    assert dry["files"]["ignored"] == 2 and dry["files"]["failed"] == 1


def test_usage_errors_are_one_line_and_a_hint_exit_2(cli, tmp_path):
    for args, first in [
        (["import", "--bogus"], "photosense: no such option: --bogus"),
        (["undo", "12"], "photosense: got unexpected extra argument(s) (12)"),
        (["people", "rename", "11", "X", "--json"], "photosense: no such option: --json"),
        (["export", "--format", "xml"], "photosense: invalid value for '--format' / '-f'"),
        (["search", "-louvre"], "photosense: no such option: -l"),
    ]:
        r = cli(*args, code=2)
        lines = r.stderr.splitlines()
        assert lines[0].startswith(first) and len(lines) == 2, r.stderr  # click may add a guess
        assert lines[1].startswith("  see 'photosense ") and lines[1].endswith(" --help'")
        assert "─" not in r.stderr and "╭" not in r.stderr
    r = cli("import", tmp_path, env={"PHOTOSENSE_WORKERS": "abc"}, code=2)
    assert r.stderr.splitlines()[0] == ("photosense: invalid value for '--workers' (env var: "
                                        "'PHOTOSENSE_WORKERS'): 'abc' is not a valid int range.")


def test_a_config_file_named_but_missing_is_an_error(cli, tmp_path):
    r = cli("status", env={"PHOTOSENSE_CONFIG": str(tmp_path / "nope.toml")}, code=2)
    assert r.stderr == (f"photosense: {tmp_path}/nope.toml: no such config file (named by "
                        "$PHOTOSENSE_CONFIG); create it, or unset the variable\n")


@pytest.fixture
def crowd(cli, tmp_path):
    """A library with 40 photos of 40 people: more output than a pipe buffer holds in CSV."""
    pics = tmp_path / "crowd"
    for i in range(40):
        photo(pics / f"{i:02}.jpg", faces=[(i % 8, BOX), ((i + 1) % 8, BOX2)],
              size=(640 + i, 480))
    cli.import_(pics)
    return pics


@pytest.mark.parametrize("args", [
    ["people", "--all"], ["people", "--all", "--json"], ["people", "--all", "--format", "csv"],
    ["people", "--all", "--format", "jsonl"], ["search", "--paths"], ["search", "--json"],
    ["status"], ["history"], ["export"], ["people", "show", "1"],
])
def test_a_closed_pipe_is_a_quiet_exit_0_for_every_command(cli, crowd, args):
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first byte: `| head -0`
    proc = subprocess.run([sys.executable, "-m", "tests.fake_cli", *args, "--library",
                           str(cli.library)], stdout=write, stderr=subprocess.PIPE, cwd=ROOT)
    os.close(write)
    assert (proc.returncode, proc.stderr) == (0, b"")


def test_destructive_commands_refuse_without_a_terminal_unless_told(cli, crowd):
    r = cli("forget", crowd / "00.jpg", code=2)
    assert r.stderr == ("photosense: forget would erase 1 photo and their faces; without a "
                        "terminal to ask on, pass --yes to do it\n")
    assert cli.json("status")["photos"] == 40
    r = cli("forget", "--missing", code=0)  # nothing missing: nothing to refuse
    assert cli.json("forget", crowd / "00.jpg", "--yes")["photos"] == 1


def test_unnamed_people_have_no_name_in_machine_output(cli, crowd):
    people = cli.json("people", "--all")
    unnamed = [p for p in people if not p["named"]]
    assert unnamed and all(p["name"] is None for p in unnamed)
    assert all(p["label"] == f"Unknown person {p['id']}" for p in unnamed)
    jsonl = cli("people", "--all", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(line)["name"] for line in jsonl] == [None] * len(people)
    shown = cli.json("people", "show", unnamed[0]["id"])
    assert shown["name"] is None and all(f["person"] is None for f in shown["faces"])
    cli("people", "rename", unnamed[0]["id"], "Ann")
    assert cli.json("people", "show", "Ann")["faces"][0]["person"] == "Ann"
    export = [json.loads(line) for line in cli("export").stdout.splitlines()]
    names = {p["name"] for r in export for p in r["people"]}
    assert names == {"Ann", None}
    assert "Ann" in cli("people", "--all").stdout  # tables are for people: unchanged


def test_people_named_says_why_nothing_is_listed(cli, crowd):
    r = cli("people", "--named")
    n = len(cli.json("people", "--all"))
    assert r.stderr.startswith(f"No one has a name yet ({n} unnamed people): 'photosense "
                               "people --unnamed' lists them")


def test_renaming_to_the_same_name_is_no_change(cli, crowd):
    pid = cli.json("people", "--all")[0]["id"]
    cli("people", "rename", pid, "Ann")
    r = cli("people", "rename", pid, "Ann")
    assert r.stderr == f"person {pid} is already 'Ann'\n"
    assert [c["kind"] for c in cli.json("history")] == ["rename"]


def test_an_offline_library_shows_no_collection_calls_or_cost(cli, tmp_path):
    from photosense_cli.engines import local_available

    if not local_available():
        pytest.skip("the offline engine is not installed")
    pics = tmp_path / "off"
    photo(pics / "a.jpg", size=(200, 200))
    lib = Cli(tmp_path / "offline.db")
    lib("import", pics, "--engine", "local", "--workers", "1")
    s = lib.json("status")
    assert s["engine"] == "local" and s["collection"] is None
    assert s["estimated_cost_usd"] is None
    table = lib("status").stdout
    assert "offline: no photo leaves this machine" in table
    assert "collection" not in table and "cost" not in table and "IndexFaces" not in table


def test_search_path_takes_a_folder_a_file_or_a_folder_name(cli, tmp_path):
    for year in ("2019", "2020"):
        photo(tmp_path / "pics" / year / "a.jpg", faces=[(0, BOX)], size=(640, 480 + int(year)))
    cli.import_(tmp_path / "pics")

    def found(where):
        return [h["path"] for h in cli.json("search", "--path", where, code=None)]

    inside = [str(tmp_path / "pics" / "2019" / "a.jpg")]
    assert found(str(tmp_path / "pics" / "2019")) == inside
    assert found(str(tmp_path / "pics" / "2019") + "/") == inside
    assert found("2019") == inside
    assert found(inside[0]) == inside
    assert found("*/2019/*") == inside  # a glob, as before
    assert found(str(tmp_path / "pics")) and len(found(str(tmp_path / "pics"))) == 2
    assert found("2018") == []


def test_people_show_and_show_in_csv_are_a_row_per_face(cli, crowd):
    import csv
    import io

    pid = cli.json("people", "--all")[0]["id"]
    faces = cli.json("people", "show", pid)["faces"]
    rows = list(csv.DictReader(io.StringIO(cli("people", "show", pid, "--format", "csv").stdout)))
    assert [int(r["face"]) for r in rows] == [f["id"] for f in faces]
    assert all(r["path"].endswith(".jpg") and r["left"] for r in rows)
    rows = list(csv.DictReader(io.StringIO(cli("show", crowd / "00.jpg", "--format",
                                               "csv").stdout)))
    assert len(rows) == 2 and {r["path"] for r in rows} == {str(crowd / "00.jpg")}


def test_verbose_says_what_happened_to_each_file_and_json_lists_what_was_added(cli, tmp_path):
    pics = tmp_path / "v"
    a = photo(pics / "a.jpg", faces=[(0, BOX)])
    photo(pics / "tiny.png", size=(40, 40))
    (pics / "notes.txt").write_text("x")
    (pics / "skip").mkdir()
    photo(pics / "skip" / "s.jpg")
    first = cli("import", pics, "--engine", "fake", "-v", "--exclude", "skip", "--json")
    said = dict(line.split(": ", 1) for line in first.stderr.splitlines()
                if line.startswith(str(pics)) and ": " in line)
    assert said[str(a)] == "new: 1 face, 0 lines of text"
    assert said[str(pics / "notes.txt")] == "not a photo"
    assert said[str(pics / "skip")] == "excluded"
    assert said[str(pics / "tiny.png")].startswith("skipped: image is 40x40 px")
    s = json.loads(first.stdout)
    assert s["added"] == [str(a)] and s["added_not_listed"] == 0
    (pics / "b.jpg").write_bytes(a.read_bytes())
    again = cli("import", pics, "-v", "--exclude", "skip")
    assert f"{a}: unchanged" in again.stderr
    assert f"{pics / 'b.jpg'}: copy of a catalogued photo" in again.stderr
    assert f"{pics / 'tiny.png'}: too small (unchanged)" in again.stderr


def test_a_contact_sheet_says_who_and_which_file_each_face_is_from(cli, crowd, tmp_path):
    from PIL import Image

    from photosense_cli.images import TITLE_HEIGHT

    ids = [p["id"] for p in cli.json("people", "--all")][:2]
    cli("people", "rename", ids[0], "Ada Lovelace")
    cli("people", "rename", ids[1], "Bo")
    for pid in ids:
        cli("people", "show", pid, "--sheet", tmp_path / f"{pid}.png")
    a, b = (Image.open(tmp_path / f"{pid}.png").convert("L") for pid in ids)
    # a title band above the faces, with the name in it (the two names draw differently)
    title_a, title_b = (im.crop((0, 0, 200, TITLE_HEIGHT)) for im in (a, b))
    assert title_a.getextrema()[0] < 100 and title_a.tobytes() != title_b.tobytes()
    # two lines under each face: its id and its file
    faces = len(cli.json("people", "show", ids[0])["faces"])
    rows = (faces + 5) // 6
    assert a.height == TITLE_HEIGHT + rows * (160 + 2 * 14 + 2 + 4) + 4


def test_face_crops_go_to_the_current_folder_by_default(cli, crowd, tmp_path, monkeypatch):
    where = tmp_path / "here"
    where.mkdir()
    monkeypatch.chdir(where)
    pid = cli.json("people", "--all")[0]["id"]
    r = cli("people", "faces", pid)
    assert r.stderr == f"wrote {len(list(where.iterdir()))} faces to {where}\n"
    assert all(p.name.startswith("face-") for p in where.iterdir())


def test_backup_copies_the_library_privately_and_never_over_it(cli, crowd, tmp_path):
    import sqlite3
    import stat as st

    dest = tmp_path / "backups"
    dest.mkdir()
    r = cli("backup", dest)
    [copy] = list(dest.iterdir())
    assert r.stderr == f"backed up 40 photos to {copy}\n"
    assert st.S_IMODE(copy.stat().st_mode) == 0o600
    assert Cli(copy).json("status")["photos"] == 40
    assert "this is the library's own file" in cli("backup", cli.library, code=2).stderr
    other = tmp_path / "notes.db"
    sqlite3.connect(other).execute("CREATE TABLE notes (x)").connection.commit()
    assert "not a photosense library is there" in cli("backup", other, code=2).stderr


def damage(library: Path) -> None:
    size = library.stat().st_size
    with open(library, "r+b") as f:  # scribble over every page but the header
        f.seek(4096)
        f.write(b"\xde\xad\xbe\xef" * ((size - 4096) // 4))


def test_repair_says_what_to_do_when_it_cannot_repair(cli, crowd):
    cli("people", "rename", cli.json("people", "--all")[0]["id"], "Ann")
    damage(cli.library)
    r = cli("search", "x", code=2)
    assert "is damaged" in r.stderr and "run 'photosense repair'" in r.stderr
    r = cli("repair", code=1)
    assert "run 'photosense repair'" not in r.stderr
    assert "photosense backup" in r.stderr and "--library NEW" in r.stderr


@pytest.mark.parametrize("error,words", [
    ("database or disk is full", "is full"),
    ("attempt to write a readonly database", "is read-only"),
])
def test_a_library_that_cannot_be_written_says_which_file_and_what_to_do(cli, crowd, monkeypatch,
                                                                        error, words):
    import sqlite3

    from photosense_cli.catalogue import Catalogue

    def fail(self):
        raise sqlite3.OperationalError(error)

    monkeypatch.setattr(Catalogue, "transaction", fail)
    r = cli("people", "rename", cli.json("people", "--all")[0]["id"], "Ann", code=2)
    assert r.stderr.count("\n") == 1 and str(cli.library) in r.stderr and words in r.stderr


@pytest.fixture
def priced(monkeypatch):
    """A second fake engine that bills like Rekognition, to switch a library to."""
    from photosense_cli import engines
    from photosense_cli.engines.fake import FakeEngine
    from tests.conftest import register

    engine = FakeEngine()
    register(monkeypatch, "pricy", engine)
    prices = {"IndexFaces": 0.001, "DetectText": 0.001, "SearchFaces": 0.001}
    monkeypatch.setattr(engines.engine_class("pricy"), "prices_usd", prices, raising=False)
    monkeypatch.setattr(engine, "prices_usd", prices, raising=False)  # what its calls cost
    return engine


def test_reindex_to_a_cloud_engine_asks_estimates_and_can_be_capped(cli, crowd, priced,
                                                                    monkeypatch):
    from photosense_cli.cli import library_cmd

    st = cli.json("status")
    dry = cli.json("reindex", "--engine", "pricy", "--dry-run")
    assert dry["dry_run"] is True and dry["files"]["reanalysed"] == 40
    # IndexFaces and DetectText, and SearchFaces for the library's average faces a photo
    per_photo = 0.002 + 0.001 * st["faces"] / st["photos"]
    assert dry["estimated_cost_usd"] == pytest.approx(40 * per_photo)
    assert sum(priced.calls.values()) == 0 and cli.json("status")["engine"] == "fake"

    monkeypatch.setattr(library_cmd, "interactive", lambda: True)
    from typer.testing import CliRunner

    from photosense_cli.cli import app
    r = CliRunner().invoke(app, ["reindex", "--engine", "pricy", "--library", str(cli.library)],
                           input="n\n", catch_exceptions=False)
    assert r.exit_code == 1
    assert r.stderr.startswith("40 photos will be sent to")
    assert "corrections made before it can no longer be undone" in r.stderr
    assert "Go on? [y/N]" in r.stderr and sum(priced.calls.values()) == 0
    assert cli.json("status")["engine"] == "fake"

    monkeypatch.setattr(library_cmd, "interactive", lambda: False)
    capped = cli("reindex", "--engine", "pricy", "--max-cost", "0.02", "--json", code=2)
    s = json.loads(capped.stdout)
    assert s["max_cost_reached"] and 0 < s["files"]["reanalysed"] <= 5
    assert "--max-cost: stopped before spending more than $0.02" in capped.stderr
    assert "will be sent to" in capped.stderr  # a script is told on stderr
    done = cli.json("reindex", "--engine", "pricy", "--yes")
    assert done["files"]["reanalysed"] == 40 - s["files"]["reanalysed"]


def test_the_progress_bar_counts_photos_and_faces_at_a_steady_rate(tmp_path):
    pics = tmp_path / "bar"
    for i in range(20):
        photo(pics / f"{i}.jpg", faces=[(i % 4, BOX)], size=(640 + i, 480))
    (pics / "notes.txt").write_text("x")
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_cli", "import", str(pics), "--engine", "fake",
         "--workers", "2", "--library", str(tmp_path / "lib.db")],
        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "140", "FAKE_LATENCY": "0.05"})
    os.close(slave)
    screen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            screen += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(timeout=10) == 0
    text = screen.decode("utf-8", "replace")
    assert "21/21" in text and "files · 20 new photos, 20 faces" in text
    assert "files/s, about" in text


def test_the_summary_tells_a_moved_photo_from_a_deleted_one(cli, tmp_path):
    pics = tmp_path / "m"
    a = photo(pics / "a.jpg", faces=[(0, BOX)])
    b = photo(pics / "b.jpg", faces=[(1, BOX)], size=(600, 400))
    cli.import_(pics)
    a.rename(pics / "renamed.jpg")
    b.unlink()
    r = cli("import", pics, "--json")
    s = json.loads(r.stdout)
    assert s["files"]["gone"] == 2 and s["files"]["moved"] == 1 and s["files"]["known"] == 1
    c = photo(pics / "c.jpg", faces=[(2, BOX)], size=(520, 400))
    cli.import_(pics)
    c.rename(pics / "d.jpg")
    (pics / "renamed.jpg").unlink()
    words = cli("import", pics).stderr
    assert "1 photo moved or renamed: found at the new path, with its people." in words
    assert "1 catalogued file deleted or moved out of the folders imported" in words
    assert "1 copy of a catalogued photo (not analysed again)" in words


def test_a_script_is_told_what_goes_to_the_cloud_even_when_quiet(tmp_path, monkeypatch):
    from tests.test_rekognition import stub_new_library

    p = photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    for k, v in AWS.items():
        monkeypatch.setenv(k, v)
    cli = Cli(tmp_path / "lib.db")
    stubs = stub_new_library(monkeypatch, cli, p, None, detect_texts=1)
    r = cli("import", tmp_path / "pics", "--engine", "rekognition", "--quiet")
    stubs[0].assert_no_pending_responses()
    assert r.stderr == ("photosense: 1 photo will be sent to Amazon Rekognition in eu-west-2 "
                        "for faces and text, for about $0.00 (1 face a photo assumed)\n"
                        "photosense: A photo holding 100 words or more (a page, a whiteboard) "
                        "is read again in up to 4 bands, $0.004 more each (--max-text-tiles)\n")
    other = Cli(tmp_path / "lib2.db")
    stub_new_library(monkeypatch, other, p, None, detect_texts=1)
    assert other("import", tmp_path / "pics", "--engine", "rekognition", "--quiet",
                 "--yes").stderr == ""


def test_a_truncated_library_is_called_damaged_not_someone_elses_file(cli, crowd):
    data = cli.library.read_bytes()
    for path in (cli.library.with_name(cli.library.name + s) for s in ("-wal", "-shm")):
        path.unlink(missing_ok=True)
    cli.library.write_bytes(data[:len(data) // 3])
    r = cli("status", code=2)
    assert "is damaged" in r.stderr and "not a photosense library" not in r.stderr
    assert r.stderr.count("\n") == 1


def test_suggest_search_with_nothing_found_does_not_suggest_itself(cli, crowd):
    r = cli("people", "suggest", "--search")
    if cli.json("people", "suggest"):
        pytest.skip("the fake engine suggested a pair here")
    assert "Try 'photosense people suggest --search'" not in r.stderr
    assert "No suggestions: the engine found no pair" in r.stderr
