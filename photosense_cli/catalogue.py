"""The catalogue: one SQLite file per library, its schema, migrations and lock.

Everything photosense knows lives here; engines are stateless apart from
Rekognition's face collection, whose name the catalogue records.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Iterator

import sqlite_utils
from platformdirs import user_data_dir

from photosense_cli.errors import LibraryBusy, PhotosenseError

ENV_LIBRARY = "PHOTOSENSE_LIBRARY"


def default_library_path() -> Path:
    env = os.environ.get(ENV_LIBRARY)
    if env:
        return Path(env).expanduser()
    return Path(user_data_dir("photosense")) / "library.db"


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# Each migration brings the schema from version i to i+1; PRAGMA user_version
# records where a file stands. Never edit a released migration: append one.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE photos (
        id INTEGER PRIMARY KEY,
        sha256 TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        width INTEGER,
        height INTEGER,
        format TEXT,
        taken_at TEXT,
        taken_at_source TEXT,
        status TEXT NOT NULL DEFAULT 'analysed',
        engine TEXT,
        analysed_at TEXT NOT NULL
    );
    CREATE INDEX photos_taken_at ON photos(taken_at);
    CREATE TABLE locations (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        path TEXT NOT NULL UNIQUE,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        seen_at TEXT NOT NULL
    );
    CREATE INDEX locations_photo ON locations(photo_id);
    CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        named INTEGER NOT NULL DEFAULT 0,
        hidden INTEGER NOT NULL DEFAULT 0,
        cover_face_id INTEGER REFERENCES faces(id) ON DELETE SET NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX people_name ON people(name COLLATE NOCASE);
    CREATE TABLE faces (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        person_id INTEGER REFERENCES people(id) ON DELETE SET NULL,
        engine_face_id TEXT NOT NULL UNIQUE,
        left REAL NOT NULL,
        top REAL NOT NULL,
        width REAL NOT NULL,
        height REAL NOT NULL,
        confidence REAL,
        descriptor BLOB
    );
    -- covering for per-person counts of photos and faces
    CREATE INDEX faces_person ON faces(person_id, photo_id);
    CREATE INDEX faces_photo ON faces(photo_id);
    CREATE TABLE text_lines (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        confidence REAL,
        left REAL,
        top REAL,
        width REAL,
        height REAL
    );
    CREATE INDEX text_lines_photo ON text_lines(photo_id);
    -- remove_diacritics 2 + unicode61 folding: search is case- and accent-insensitive.
    CREATE VIRTUAL TABLE text_lines_fts USING fts5(
        text, content='text_lines', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER text_lines_ai AFTER INSERT ON text_lines BEGIN
        INSERT INTO text_lines_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER text_lines_ad AFTER DELETE ON text_lines BEGIN
        INSERT INTO text_lines_fts(text_lines_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        command TEXT NOT NULL,
        pid INTEGER,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL DEFAULT 'running',
        summary TEXT
    );
    CREATE TABLE engine_calls (
        id INTEGER PRIMARY KEY,
        run_id INTEGER,
        at TEXT NOT NULL,
        engine TEXT NOT NULL,
        operation TEXT NOT NULL,
        photo_sha256 TEXT,
        ms REAL,
        error TEXT
    );
    CREATE INDEX engine_calls_operation ON engine_calls(operation);
    -- Pairs of people that are probably one person (person_a < person_b).
    CREATE TABLE suggestions (
        person_a INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        person_b INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        score REAL NOT NULL,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (person_a, person_b)
    );
    -- Photos the user erased with 'forget': imports skip their content from then on.
    CREATE TABLE forgotten (sha256 TEXT PRIMARY KEY, at TEXT NOT NULL);
    -- The undo log of user corrections: JSON enough to put things back.
    CREATE TABLE changes (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        summary TEXT NOT NULL,
        undo TEXT NOT NULL,
        undone_at TEXT
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


class Catalogue:
    """A library file: a thin layer of named queries over sqlite-utils."""

    def __init__(self, path: Path, *, create: bool = True):
        self.path = Path(path)
        if not self.path.exists():
            if not create:
                raise PhotosenseError(
                    f"no library at {self.path}: run 'photosense import PATH' first"
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Faces are biometric data: the file is readable by its owner only.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as e:
            raise PhotosenseError(f"{self.path} is not a photosense library: {e}") from e
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        self.db = sqlite_utils.Database(conn)
        self.conn = conn
        self._migrate()

    # -- plumbing ---------------------------------------------------------

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise PhotosenseError(
                f"{self.path} was written by a newer photosense (schema {version}); upgrade photosense"
            )
        for i in range(version, SCHEMA_VERSION):
            with self.transaction():
                for statement in _statements(MIGRATIONS[i]):
                    self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version={i + 1}")
        if self.get_meta("library_id") is None:
            with self.transaction():
                self.set_meta("library_id", uuid.uuid4().hex[:16])
                self.set_meta("created_at", now())

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: take the write lock up front so two writers queue, not deadlock."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    def query(self, sql: str, params=()) -> list[dict]:
        return list(self.db.query(sql, params))

    def scalar(self, sql: str, params=()):
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def get_meta(self, key: str) -> str | None:
        return self.scalar("SELECT value FROM meta WHERE key = ?", (key,))

    def set_meta(self, key: str, value: str | None) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # -- runs and the engine-call log ------------------------------------

    def start_run(self, command: str) -> tuple[int, bool]:
        """Record a run; also say whether an earlier run died before finishing."""
        with self.transaction():
            crashed = bool(self.scalar(
                "SELECT count(*) FROM runs WHERE status IN ('running', 'interrupted')"))
            cur = self.conn.execute(
                "INSERT INTO runs(command, pid, started_at) VALUES (?, ?, ?)",
                (command, os.getpid(), now()),
            )
        return cur.lastrowid, crashed

    def mark_recovered(self, run_id: int) -> None:
        with self.transaction():
            self.conn.execute(
                "UPDATE runs SET status = 'recovered' WHERE status IN ('running', 'interrupted') "
                "AND id != ?", (run_id,)
            )

    def finish_run(self, run_id: int, status: str, summary: dict) -> None:
        with self.transaction():
            self.conn.execute(
                "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE id = ?",
                (now(), status, json.dumps(summary), run_id),
            )

    def log_calls(self, run_id: int | None, engine: str, usage, sha256: str | None = None) -> None:
        """Record the engine calls of a Usage (for one photo when sha256 is given).

        The caller holds a transaction.
        """
        at = now()
        self.conn.executemany(
            "INSERT INTO engine_calls(run_id, at, engine, operation, photo_sha256, ms, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(run_id, at, engine, op, sha256, ms, err) for op, ms, err in usage.calls],
        )

    def call_counts(self) -> dict[str, int]:
        rows = self.conn.execute(
            "SELECT operation, count(*) FROM engine_calls GROUP BY operation ORDER BY operation"
        )
        return dict(rows.fetchall())

    # -- photos and where they live --------------------------------------

    def locations_by_path(self) -> dict[str, tuple[int, int, int]]:
        """path -> (size, mtime_ns, photo_id), loaded once so a rerun needs no query per file."""
        rows = self.conn.execute("SELECT path, size, mtime_ns, photo_id FROM locations")
        return {path: (size, mtime, pid) for path, size, mtime, pid in rows}

    def photo_ids_by_hash(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT sha256, id FROM photos").fetchall())

    def record_location(self, photo_id: int, path: str, size: int, mtime_ns: int) -> None:
        self.conn.execute(
            "INSERT INTO locations(photo_id, path, size, mtime_ns, seen_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET photo_id = excluded.photo_id, size = excluded.size, "
            "mtime_ns = excluded.mtime_ns, seen_at = excluded.seen_at",
            (photo_id, path, size, mtime_ns, now()),
        )

    def insert_photo(self, row: dict) -> int:
        row = {**row, "analysed_at": now()}
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        return self.conn.execute(
            f"INSERT INTO photos({cols}) VALUES ({marks})", tuple(row.values())
        ).lastrowid

    def insert_face(self, row: dict) -> int:
        cols = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        return self.conn.execute(
            f"INSERT INTO faces({cols}) VALUES ({marks})", tuple(row.values())
        ).lastrowid

    def insert_text_lines(self, photo_id: int, lines) -> None:
        self.conn.executemany(
            'INSERT INTO text_lines(photo_id, text, confidence, "left", top, width, height) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(photo_id, ln.text, ln.confidence, *ln.box) for ln in lines],
        )

    def engine_face_ids(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT engine_face_id FROM faces")}

    def people_of_engine_faces(self, engine_face_ids: list[str]) -> dict[str, int]:
        """engine face id -> person id, for faces the catalogue has and that belong to someone."""
        if not engine_face_ids:
            return {}
        out: dict[str, int] = {}
        for chunk in chunks(engine_face_ids, 500):
            marks = ",".join("?" * len(chunk))
            out.update(self.conn.execute(
                f"SELECT engine_face_id, person_id FROM faces "
                f"WHERE engine_face_id IN ({marks}) AND person_id IS NOT NULL", chunk,
            ).fetchall())
        return out

    def face_descriptors(self) -> Iterator[tuple[str, bytes]]:
        yield from self.conn.execute(
            "SELECT engine_face_id, descriptor FROM faces WHERE descriptor IS NOT NULL"
        )

    # -- people -----------------------------------------------------------

    def create_person(self) -> int:
        cur = self.conn.execute(
            "INSERT INTO people(name, named, created_at) VALUES ('', 0, ?)", (now(),)
        )
        pid = cur.lastrowid
        self.conn.execute("UPDATE people SET name = ? WHERE id = ?", (f"Unknown person {pid}", pid))
        return pid

    def add_suggestion(self, a: int, b: int, score: float, source: str) -> None:
        a, b = min(a, b), max(a, b)
        if a == b:
            return
        self.conn.execute(
            "INSERT INTO suggestions(person_a, person_b, score, source, created_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(person_a, person_b) DO UPDATE SET "
            "score = max(score, excluded.score)",
            (a, b, score, source, now()),
        )


@contextlib.contextmanager
def import_lock(db_path: Path, wait: float = 0.0) -> Iterator[None]:
    """One import per library at a time: a second one waits up to `wait` seconds, then refuses.

    flock is released by the kernel when the process dies, so a kill -9 never
    leaves a stale lock behind.
    """
    lock_path = Path(str(db_path) + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise LibraryBusy(
                        f"another import is running on {db_path} (pid {holder}); "
                        "wait for it, or pass --wait SECONDS"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def _statements(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies whole."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    return out


def chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i : i + size]
