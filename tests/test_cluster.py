"""The offline engine's analysis on a Dask cluster (import --cluster): real schedulers and
workers in processes on loopback, small photos (a part of ../shared/data/faces).

Skips with a reason where the photos, the [local] extra or the [cluster] extra is absent.
"""

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from photosense_cli import app, engines
from photosense_cli.requests import ImportRequest
from tests.conftest import SHARED, Cli, needs_shared

pytestmark = [
    needs_shared,
    pytest.mark.skipif(not engines.local_available(), reason="the offline engine is not "
                       "installed (pip install '.[local]')"),
    pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                       reason="Dask's distributed is not installed (pip install '.[cluster]')"),
]

# Three people over 9 photos, and a group photo of two of them: small enough for a
# cluster test, with people to get wrong.
PHOTOS = ["alex_1.jpg", "alex_2.jpg", "alex_3.png", "obama_1.jpg", "obama_2.jpg",
          "obama_3.jpg", "kit_1.jpeg", "kit_2.jpeg", "rose_1.jpg", "group_kit_rose.jpg"]


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cluster-photos")
    for name in PHOTOS:
        shutil.copy(SHARED / "faces" / name, folder / name)
    return folder


@pytest.fixture(scope="module")
def plain(photos, tmp_path_factory):
    """The same photos imported by the plain offline engine: what the cluster must match."""
    cli = Cli(tmp_path_factory.mktemp("plain") / "library.db")
    s = cli.json("import", photos, "--engine", "local", "--workers", "2")
    assert s["errors"] == [] and s["files"]["new"] == len(PHOTOS)
    return cli, s


@pytest.fixture(scope="module")
def cluster():
    """A LocalCluster: a real scheduler, two worker processes of one thread, on loopback."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", silence_logs=40) as c:
        yield c


def people_by_photo(cli: Cli, folder: Path) -> set[frozenset[tuple[str, int]]]:
    """The people as sets of (photo, face number in box order): ids aside, comparable
    between two libraries."""
    groups = defaultdict(set)
    for name in PHOTOS:
        faces = sorted(cli.json("show", folder / name)["faces"], key=lambda f: f["box"]["left"])
        for k, face in enumerate(faces):
            groups[face["person_id"]].add((name, k))
    return {frozenset(g) for g in groups.values()}


def stored_once(library: Path) -> None:
    """Each photo once, each of its faces once (no box twice in one photo)."""
    import sqlite3

    conn = sqlite3.connect(library)
    photos = conn.execute("SELECT count(*), count(DISTINCT sha256) FROM photos").fetchone()
    assert photos == (len(PHOTOS), len(PHOTOS))
    twice = conn.execute("""SELECT photo_id, "left", top, count(*) FROM faces
                            GROUP BY 1, 2, 3 HAVING count(*) > 1""").fetchall()
    assert twice == []
    conn.close()


def test_a_cluster_import_makes_the_same_people_as_a_plain_one(photos, plain, cluster, tmp_path):
    plain_cli, plain_summary = plain
    cli = Cli(tmp_path / "library.db")
    s = cli.json("import", photos, "--engine", "local", "--cluster", cluster.scheduler_address)
    assert s["errors"] == [] and s["files"]["new"] == len(PHOTOS)
    assert s["faces"] == plain_summary["faces"] and s["text_lines"] == plain_summary["text_lines"]
    assert people_by_photo(cli, photos) == people_by_photo(plain_cli, photos)
    stored_once(tmp_path / "library.db")
    # the cluster's workers loaded the models once each, not once a photo: each worker
    # process holds them, and the task count shows every photo went there
    client = cluster.get_client()
    loaded = client.run(lambda: sorted(__import__("photosense_cli.engines.local",
                                                  fromlist=["_models"])._models))
    assert all(m == ["aligner", "describer", "detector", "ocr"] for m in loaded.values())


def test_reindex_to_the_local_engine_runs_on_the_cluster(photos, plain, cluster, fake, tmp_path):
    from distributed import get_task_stream

    cli = Cli(tmp_path / "library.db")
    cli.json("import", photos, "--engine", "fake", "--workers", "2")
    client = cluster.get_client()
    with get_task_stream(client=client) as stream:
        s = cli.json("reindex", "--engine", "local", "--cluster", cluster.scheduler_address,
                     "--yes")
    assert s["files"]["reanalysed"] == len(PHOTOS) and s["files"]["failed"] == 0
    assert s["faces"] == plain[1]["faces"]
    ran = [t for t in stream.data if t["key"].startswith("analyse_on_worker")]
    assert len(ran) == len(PHOTOS)  # every photo's analysis was a task of the cluster
    stored_once(tmp_path / "library.db")
    assert people_by_photo(cli, photos) == people_by_photo(plain[0], photos)


def test_the_environment_and_the_config_name_the_cluster(photos, plain, cluster, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'cluster = "{cluster.scheduler_address}"\n')
    cli = Cli(tmp_path / "library.db")
    s = cli.json("import", photos, "--engine", "local", env={"PHOTOSENSE_CONFIG": str(config)})
    assert s["files"]["new"] == len(PHOTOS) and s["faces"] == plain[1]["faces"]
    # the environment over the config: a scheduler that is not there is said in one line
    out = cli("import", photos, code=2, env={"PHOTOSENSE_CONFIG": str(config),
                                             "PHOTOSENSE_CLUSTER": "tcp://127.0.0.1:9"})
    assert "tcp://127.0.0.1:9" in out.stderr or "tcp://127.0.0.1:9" in out.output


def test_a_worker_killed_mid_import_loses_and_duplicates_nothing(photos, plain, cluster, tmp_path):
    client = cluster.get_client()
    pids = client.run(os.getpid)
    killed: list[str] = []

    def on_progress(total, path):
        if total is None and not killed:  # the first photo stored: the others are in flight
            busy = [w for w, tasks in client.processing().items() if tasks]
            victim = busy[0] if busy else next(iter(pids))
            os.kill(pids[victim], signal.SIGKILL)
            killed.append(victim)

    req = ImportRequest(paths=[str(photos)], engine="local", cluster=cluster.scheduler_address)
    s = app.import_photos(tmp_path / "library.db", req, on_progress=on_progress)
    assert killed, "no worker was killed: the test did not test anything"
    assert s.failed == 0 and s.new == len(PHOTOS) and s.faces == plain[1]["faces"]
    stored_once(tmp_path / "library.db")
    cli = Cli(tmp_path / "library.db")
    assert people_by_photo(cli, photos) == people_by_photo(plain[0], photos)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts it, for the tests after


def _start(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *args], stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def test_the_scheduler_killed_mid_import_leaves_a_library_the_next_import_completes(
        photos, plain, tmp_path):
    import socket

    with socket.socket() as s:  # a free port on loopback
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _start(["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port",
                        str(port), "--no-dashboard"], tmp_path / "scheduler.log")
    worker = _start(["distributed.cli.dask_worker", address, "--nthreads", "1",
                     "--no-dashboard", "--death-timeout", "30"], tmp_path / "worker.log")
    try:
        deadline = time.monotonic() + 60  # the scheduler listening (--cluster tries once)
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "scheduler.log").read_text()
                time.sleep(0.2)
        stopped = []

        def on_progress(total, path):
            if total is None and not stopped:
                scheduler.send_signal(signal.SIGKILL)
                scheduler.wait()
                stopped.append(path)

        library = tmp_path / "library.db"
        req = ImportRequest(paths=[str(photos)], engine="local", cluster=address)
        with pytest.raises(engines.EngineError) as e:
            app.import_photos(library, req, on_progress=on_progress)
        assert address in str(e.value) and "run the same command again" in str(e.value)
        assert stopped
        cli = Cli(library)
        status = cli.json("status", "--offline")
        assert 1 <= status["photos"] < len(PHOTOS)
        assert status["last_import"]["status"] == "interrupted"
        # the next import (here on this machine) completes it: each photo once, same people
        s = cli.json("import", photos, "--workers", "2")
        assert s["errors"] == [] and s["files"]["new"] + s["files"]["skipped"] == len(PHOTOS)
        assert s["files"]["skipped"] == status["photos"]
        stored_once(library)
        assert people_by_photo(cli, photos) == people_by_photo(plain[0], photos)
    finally:
        for p in (scheduler, worker):
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def test_a_worker_without_the_models_fails_in_one_line(photos, tmp_path):
    from distributed import LocalCluster

    preload = tmp_path / "no_dlib.py"  # the worker's Python finds no dlib, as without [local]
    preload.write_text("import sys\nsys.modules['dlib'] = None\n")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0", silence_logs=40,
                      preload=[str(preload)]) as c:
        cli = Cli(tmp_path / "library.db")
        out = cli("import", photos, "--engine", "local", "--cluster", c.scheduler_address, code=2)
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert "Dask worker tcp://127.0.0.1:" in lines[0] and "dlib" in lines[0]
        assert "pip install 'photosense-cli[local]' there" in lines[0]
        assert not (tmp_path / "library.db").exists() or \
            cli.json("status", "--offline")["photos"] == 0


@pytest.mark.parametrize("address, says", [
    ("foo", "--cluster foo: missing port number"),
    ("http://127.0.0.1:8786", "http:// is not a scheduler's"),
    ("tcp://127.0.0.1:99999", "port 99999 is not one"),
    ("tcp://[::1:9", "ipv6 needs brackets"),
    ("tcp://127.0.0.1:9", "cannot reach the Dask scheduler at tcp://127.0.0.1:9"),
])
def test_a_bad_or_unreachable_address_is_one_line_at_once(photos, tmp_path, address, says):
    cli = Cli(tmp_path / "library.db")
    start = time.perf_counter()
    r = cli("import", photos, "--engine", "local", "--cluster", address, code=2)
    assert r.stderr.count("\n") == 1 and says in r.stderr, r.stderr
    assert time.perf_counter() - start < 10  # not the client's 20 s of retries
    assert Cli(tmp_path / "library.db").json("status", "--offline")["photos"] == 0


def test_a_cloud_engine_takes_no_cluster(cli, tmp_path):
    out = cli("import", tmp_path, "--engine", "fake", "--cluster", "tcp://127.0.0.1:9", code=2)
    assert "--cluster runs the offline engine's analysis" in out.stderr
    assert "fake" in out.stderr
