"""Commands that overlap, stop or die, with real processes (tests/fake_cli.py runs photosense
with the fake engine in a process of its own)."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from photosense_cli.catalogue import Catalogue
from tests.conftest import BOX, BOX2, Cli, photo

ROOT = Path(__file__).resolve().parents[1]


def spawn(*args, env=None, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.fake_cli", *map(str, args)], cwd=ROOT,
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


@pytest.fixture
def pics(tmp_path):
    for i in range(12):
        photo(tmp_path / "pics" / f"{i:02}.jpg", faces=[(i % 4, BOX)], size=(640 + i, 480))
    return tmp_path / "pics"


@pytest.mark.parametrize("trial", range(3))
def test_first_imports_of_a_new_library_at_once_bind_it_to_one_engine(pics, tmp_path, trial):
    lib = tmp_path / "new" / "library.db"
    procs = [spawn("import", pics, "--engine", "fake" if i % 2 else "other", "--quiet",
                   "--library", lib, env={"FAKE_LATENCY": "0.01"}) for i in range(6)]
    results = [(p.wait(60), p.stderr.read()) for p in procs]

    assert all(code in (0, 2) for code, _ in results), results
    assert any(code == 0 for code, _ in results)
    for code, err in results:
        assert "Traceback" not in err
        if code == 2:
            assert err.count("\n") == 1 and ("another import is running" in err
                                              or "was built with the" in err), err
    c = Catalogue(lib)
    engine = c.get_meta("engine")
    assert {r[0] for r in c.conn.execute("SELECT DISTINCT engine FROM photos")} == {engine}
    assert c.scalar("SELECT count(*) FROM photos") == 12


@pytest.mark.parametrize("trial", range(3))
def test_merging_people_while_an_import_writes_fails_neither(tmp_path, trial):
    for i in range(40):
        photo(tmp_path / "pics" / f"{i:02}.jpg", faces=[(i % 3, BOX), (3 + i % 3, BOX2)],
              size=(640 + i, 480))
    lib = tmp_path / "library.db"
    proc = spawn("import", tmp_path / "pics", "--engine", "fake", "--workers", "8", "--quiet",
                 "--library", lib, env={"FAKE_LATENCY": "0.02"})
    cli = Cli(lib)
    merges = 0
    while proc.poll() is None:
        if lib.exists():
            people = cli.json("people", code=None) if Catalogue(lib).get_meta("engine") else []
            if len(people) >= 2:
                r = cli("people", "merge", people[0]["id"], people[-1]["id"], code=None)
                assert r.exit_code in (0, 2) and "Traceback" not in r.stderr, r.stderr
                merges += r.exit_code == 0
        time.sleep(0.05)
    err = proc.stderr.read()
    assert proc.returncode == 0, err
    assert err == ""
    assert merges >= 1
    assert Catalogue(lib).scalar("SELECT count(*) FROM photos") == 40


def test_ctrl_c_starts_no_new_engine_call_and_exits_at_once(pics, tmp_path):
    log = tmp_path / "calls.log"
    lib = tmp_path / "library.db"
    # Ctrl-C as a terminal delivers it: a runner started in the background (nohup, &)
    # has SIGINT ignored, and a child would inherit that and never stop
    proc = spawn("import", pics, "--engine", "fake", "--workers", "4", "--library", lib,
                 env={"FAKE_LATENCY": "0.5", "FAKE_CALL_LOG": str(log)},
                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not log.exists() or len(log.read_text().split("\n")) < 5):
        time.sleep(0.05)
    interrupted = time.time()
    proc.send_signal(signal.SIGINT)
    proc.wait(10)
    took = time.time() - interrupted

    starts = [float(line.split()[1]) for line in log.read_text().splitlines()]
    assert proc.returncode == 130
    assert "interrupted" in proc.stderr.read()
    assert took < 2.0
    assert max(starts) < interrupted + 0.05  # no call began after Ctrl-C
    assert Cli(lib).json("status")["last_import"]["status"] == "interrupted"


def test_status_shows_a_run_whose_process_died_as_interrupted(cli, fake, tmp_path):
    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    cli.import_(tmp_path / "pics")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    c = Catalogue(cli.library)
    run_id, _ = c.start_run("import")
    c.conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (dead.pid, run_id))
    assert cli.json("status")["last_import"]["status"] == "interrupted"


def test_a_reader_that_stops_early_is_no_failure(cli, fake, tmp_path):
    for i in range(3):
        photo(tmp_path / "pics" / f"{i}.jpg", faces=[(i, BOX)], size=(640 + i, 480))
    cli.import_(tmp_path / "pics")
    proc = subprocess.Popen([sys.executable, "-m", "photosense_cli", "search", "--paths",
                             "--library", str(cli.library)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # `| head -0`: the reader is gone before anything is written
    assert proc.wait(30) == 0
    assert proc.stderr.read() == b""


def test_names_an_ascii_terminal_cannot_show_are_escaped(cli, fake, tmp_path):
    photo(tmp_path / "pics" / "a.jpg", faces=[(0, BOX)])
    cli.import_(tmp_path / "pics")
    person = cli.json("people", "--all")[0]["id"]
    cli("people", "rename", person, "Zoë Ça")
    out = subprocess.run([sys.executable, "-m", "photosense_cli", "people", "--json",
                          "--library", str(cli.library)], cwd=ROOT, capture_output=True,
                         env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert out.returncode == 0 and out.stderr == b""
    assert json.loads(out.stdout)[0]["name"] == "Zoë Ça"


@pytest.mark.skipif(not __import__("photosense_cli.engines", fromlist=["x"]).local_available(),
                    reason="the offline engine is not installed (pip install '.[local]')")
def test_local_model_workers_die_with_a_killed_import(tmp_path):
    for i in range(6):
        photo(tmp_path / "pics" / f"{i}.jpg", size=(800 + i, 600))
    lib = tmp_path / "library.db"
    proc = subprocess.Popen([sys.executable, "-m", "photosense_cli", "import", str(tmp_path / "pics"),
                             "--engine", "local", "--workers", "2", "--quiet", "--library",
                             str(lib)], cwd=ROOT)

    def children():
        out = []
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    stat = (d / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == proc.pid:
                    out.append(int(d.name))
        return out

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(children()) < 2 and proc.poll() is None:
        time.sleep(0.1)
    workers = children()
    assert proc.poll() is None and len(workers) >= 2, "the import ended before it could be killed"
    proc.kill()
    proc.wait()

    deadline = time.monotonic() + 10
    alive = workers
    while time.monotonic() < deadline and alive:
        alive = [w for w in workers if Path(f"/proc/{w}").exists()
                 and "Z" not in Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0]]
        time.sleep(0.2)
    assert alive == [], f"model workers {alive} outlived their import"
