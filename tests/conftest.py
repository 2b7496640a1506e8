import json
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from photosense_cli import engines
from photosense_cli.cli import app
from photosense_cli.engines.fake import FakeEngine, draw_photo

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"test photos not found at {SHARED}")


@pytest.fixture(scope="session")
def cache_home(tmp_path_factory):
    """One cache folder for the session: the place-name gazetteer is built once (1 s)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch, tmp_path, cache_home):
    """No test sees the user's library, cache, AWS configuration or engine choice."""
    monkeypatch.setenv("PHOTOSENSE_LIBRARY", str(tmp_path / "default-library.db"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "PHOTOSENSE_ENGINE", "PHOTOSENSE_WORKERS", "PHOTOSENSE_TEXT",
                "PHOTOSENSE_PREFILTER", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def register(monkeypatch, name: str, engine, seen_options: list | None = None) -> None:
    """Register one engine instance under a name, as a real engine module would its class."""

    class Registered(type(engine)):
        @classmethod
        def create(cls, options):
            if seen_options is not None:
                seen_options.append(options)
            if hasattr(engine, "text_tiles"):
                engine.text_tiles = options.text_tiles
            return engine

    Registered.name = name
    engine.name = name
    monkeypatch.setitem(engines.REGISTRY, name, lambda: Registered)


@pytest.fixture
def fake(monkeypatch):
    engine = FakeEngine(texts={0: ["Quarterly whiteboard: ship the café menu"],
                               1: ["EXIT"], 2: ["Palais du LOUVRE"]})
    register(monkeypatch, "fake", engine)
    return engine


@pytest.fixture
def library(tmp_path) -> Path:
    return tmp_path / "lib" / "library.db"


class Cli:
    """Runs photosense in-process against one library."""

    def __init__(self, library: Path):
        self.library = library
        self.runner = CliRunner()

    def __call__(self, *args, code: int | None = 0, env: dict | None = None):
        # catch_exceptions=False: an exception the CLI did not turn into an exit code fails
        # the test as the traceback it is, never as an exit code 1 that looks expected.
        result = self.runner.invoke(app, [*map(str, args), "--library", str(self.library)],
                                    catch_exceptions=False, env=env)
        if code is not None:
            assert result.exit_code == code, (result.exit_code, result.output, result.exception)
        return result

    def json(self, *args, code: int | None = 0, env: dict | None = None):
        return json.loads(self(*args, "--json", code=code, env=env).stdout)

    def import_(self, *paths, code: int | None = 0, extra=()):
        return self.json("import", *paths, "--engine", "fake", "--workers", "4", *extra, code=code)


@pytest.fixture
def cli(library, fake):
    yield Cli(library)
    # Whatever the test did (imports, merges, moves, forget, undo, reindex), each person's
    # counts kept by triggers still equal their faces: checked after every CLI test.
    import sqlite3

    if library.exists():
        try:
            conn = sqlite3.connect(f"file:{library}?mode=ro", uri=True)
            drift = conn.execute(
                """SELECT p.id, p.face_count, p.photo_count, count(f.id),
                          count(DISTINCT f.photo_id)
                   FROM people p LEFT JOIN faces f ON f.person_id = p.id GROUP BY p.id
                   HAVING p.face_count != count(f.id)
                       OR p.photo_count != count(DISTINCT f.photo_id)""").fetchall()
        except sqlite3.DatabaseError:
            return  # a test that damaged the file on purpose
        assert drift == [], "people's kept counts drifted: (id, faces, photos, real...)"
        # The user vectors' rows are never less than the collection holds (uservectors.py):
        # every user the fake engine has, and each face in it, is known to a row.
        try:
            rows = {u: set(json.loads(f)) | set(json.loads(p)) for u, f, p in conn.execute(
                "SELECT user_id, faces, pending FROM user_vectors")}
        except sqlite3.DatabaseError:
            return  # a library older than migration 21, kept so on purpose
        unknown = {u: sorted(held - rows.get(u, set())) for u, held in fake.users.items()
                   if u not in rows or held - rows[u]}
        assert unknown == {}, "users or faces in the collection that no row knows of"


def join_workers() -> None:
    """After an interrupted run, its calls in flight finish in the background: wait for them."""
    import threading

    for t in threading.enumerate():
        if t.name.startswith("photosense"):
            t.join()


def save(path: Path, image, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kw)
    return path


def photo(path: Path, faces=(), texts=(), size=(640, 480), **kw) -> Path:
    """Save a generated test photo the fake engine can read."""
    return save(path, draw_photo(size=size, faces=faces, texts=texts), **kw)


# The import summary's photo counters, all zero: tests state only what they expect to move.
NONE = {"new": 0, "reanalysed": 0, "known": 0, "skipped": 0, "failed": 0, "ignored": 0,
        "forgotten": 0, "excluded": 0, "known_failures": 0, "gone": 0, "replaced": 0,
        "over_budget": 0, "too_small": 0, "moved": 0}

BOX = (0.1, 0.1, 0.25, 0.3)
BOX2 = (0.6, 0.15, 0.25, 0.3)
TEXT_BOX = (0.3, 0.65, 0.4, 0.2)


# Rekognition's client for botocore's Stubber (test_rekognition*, test_privacy,
# test_text_tiles): fake credentials, a fixed region, no network.
@pytest.fixture
def client():
    return boto3.client("rekognition", region_name="eu-west-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture
def stub(client):
    with Stubber(client) as s:
        yield s
        s.assert_no_pending_responses()
