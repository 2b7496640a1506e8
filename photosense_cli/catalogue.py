"""The catalogue: one SQLite file per library, its schema, migrations, lock, and every query.

Everything photosense knows lives here; engines are stateless apart from
Rekognition's face collection, whose name the catalogue records. All SQL of
the project is in this module, with bound parameters; other modules call the
named methods below and get typed records (records.py) back.

sqlite-utils earns its place for inserts (`table.insert`, no hand-built column
lists, savepoints inside our transactions) and for an FTS index that its own
tools and Datasette recognise (`sqlite-utils search library.db text_lines WORD`).
It is imported only by commands that write photos or people: importing it costs
~130 ms (it loads numpy and its plugins), more than all of `photosense search`.
Schema changes stay as explicit SQL migrations, appended and never edited.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import fcntl
import json
import os
import sqlite3
import struct
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence, Union

from photosense_cli import errors
from photosense_cli.errors import LibraryBusy, LibraryDamaged, PhotosenseError
from photosense_cli.files import Protected, make_folder, target_of
from photosense_cli.records import (
    Box,
    Change,
    Face,
    Hidden,
    Person,
    PersonDetails,
    Photo,
    PhotoDetails,
    SearchHit,
    Suggestion,
    TextLine,
)

# PRAGMA application_id: "PhSe". A file without it (and without photosense's tables)
# is someone else's database and is never written to.
APPLICATION_ID = 0x50685365


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _fix_blob_boxes(conn: sqlite3.Connection) -> None:
    """Round one stored the offline OCR's numpy float32 boxes as 4-byte blobs: make them REALs."""
    for col in ("left", "top", "width", "height"):
        rows = conn.execute(f'SELECT id, "{col}" FROM text_lines WHERE typeof("{col}") = \'blob\'')
        conn.executemany(f'UPDATE text_lines SET "{col}" = ? WHERE id = ?',
                         [(struct.unpack("<f", v)[0] if len(v) == 4 else None, i)
                          for i, v in rows.fetchall()])


Migration = Union[str, Callable[[sqlite3.Connection], None]]

# Each migration brings the schema from version i to i+1; PRAGMA user_version
# records where a file stands. Never edit a released migration: append one.
MIGRATIONS: list[Migration] = [
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
    # 2: photos.status was never read or written. The FTS index is declared with
    # content="text_lines" in double quotes, the form sqlite-utils and Datasette
    # detect, so `sqlite-utils search library.db text_lines WORD` works; the
    # index is rebuilt from the lines.
    """
    ALTER TABLE photos DROP COLUMN status;
    DROP TRIGGER text_lines_ai;
    DROP TRIGGER text_lines_ad;
    DROP TABLE text_lines_fts;
    CREATE VIRTUAL TABLE text_lines_fts USING fts5(
        text, content="text_lines", content_rowid="id",
        tokenize='unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER text_lines_ai AFTER INSERT ON text_lines BEGIN
        INSERT INTO text_lines_fts(rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER text_lines_ad AFTER DELETE ON text_lines BEGIN
        INSERT INTO text_lines_fts(text_lines_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    CREATE TRIGGER text_lines_au AFTER UPDATE ON text_lines BEGIN
        INSERT INTO text_lines_fts(text_lines_fts, rowid, text) VALUES ('delete', old.id, old.text);
        INSERT INTO text_lines_fts(rowid, text) VALUES (new.id, new.text);
    END;
    INSERT INTO text_lines_fts(text_lines_fts) VALUES ('rebuild');
    """,
    # 3: text boxes that round one stored as float32 blobs become numbers.
    _fix_blob_boxes,
    # 4: the catalogue follows the disk. A path that an import found gone keeps its row
    # (the last known place of a missing photo) with gone_at set. Files that failed are
    # remembered with the size and mtime they had, so an unchanged one is not read again.
    # Photos erased by a 'forget' that was undone keep their faces' boxes and people
    # here until an import meets their content again.
    """
    ALTER TABLE locations ADD COLUMN gone_at TEXT;
    CREATE TABLE failures (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE TABLE restorable (sha256 TEXT PRIMARY KEY, faces TEXT NOT NULL, at TEXT NOT NULL);
    """,
    # 5: pairs of people the user said are not one person: never suggested again.
    """
    CREATE TABLE rejected_pairs (
        person_a INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        person_b INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        PRIMARY KEY (person_a, person_b)
    );
    """,
    # 6: views for sqlite-utils and Datasette users: who is where, and each person's counts.
    # No view shows a face descriptor (biometric, and of no use outside photosense).
    """
    CREATE VIEW photo_people AS
        SELECT l.path, p.id AS photo_id, p.taken_at, pe.id AS person_id, pe.name AS person,
               f."left", f.top, f.width, f.height
        FROM faces f JOIN photos p ON p.id = f.photo_id
        JOIN people pe ON pe.id = f.person_id
        JOIN locations l ON l.photo_id = p.id AND l.gone_at IS NULL
        WHERE pe.hidden = 0;
    CREATE VIEW person_summary AS
        SELECT pe.id, pe.name, pe.named, pe.hidden, count(DISTINCT f.photo_id) AS photos,
               count(f.id) AS faces
        FROM people pe LEFT JOIN faces f ON f.person_id = pe.id GROUP BY pe.id;
    """,
    # 7: names other tools wrote into the photos. Where a name came from ('typed', or
    # 'xmp:<file>'); names a region gave a person who already had another (hints, for the
    # user to decide); and named regions no detected face lies under, kept for later.
    """
    ALTER TABLE people ADD COLUMN name_source TEXT;
    CREATE TABLE name_hints (
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        source TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (person_id, name)
    );
    CREATE TABLE xmp_regions (
        id INTEGER PRIMARY KEY,
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        "left" REAL, top REAL, width REAL, height REAL,
        source TEXT NOT NULL
    );
    CREATE INDEX xmp_regions_photo ON xmp_regions(photo_id);
    """,
    # 8: a one-face person whose face is tiny in its photo (a crowd behind the subject)
    # starts hidden with people.hidden = 2, "hidden by photosense", and shows again by
    # itself once a second face joins it or it gets a name (typed, or from metadata).
    # The user's own hide (1) is never lifted here.
    """
    CREATE TRIGGER people_unhide_background_named AFTER UPDATE OF named ON people
    WHEN NEW.named = 1 AND NEW.hidden = 2
    BEGIN UPDATE people SET hidden = 0 WHERE id = NEW.id; END;
    CREATE TRIGGER faces_unhide_background_insert AFTER INSERT ON faces
    WHEN (SELECT hidden FROM people WHERE id = NEW.person_id) = 2
     AND (SELECT count(*) FROM faces WHERE person_id = NEW.person_id) >= 2
    BEGIN UPDATE people SET hidden = 0 WHERE id = NEW.person_id; END;
    CREATE TRIGGER faces_unhide_background_update AFTER UPDATE OF person_id ON faces
    WHEN (SELECT hidden FROM people WHERE id = NEW.person_id) = 2
     AND (SELECT count(*) FROM faces WHERE person_id = NEW.person_id) >= 2
    BEGIN UPDATE people SET hidden = 0 WHERE id = NEW.person_id; END;
    """,
    # 9: each person's numbers of faces and photos, kept by triggers on every change to
    # faces (insert, delete, cascade, move), so that `people` reads 10,000 people without
    # aggregating 300,000 faces: 94 -> ~30 ms (benchmarks/search_bench.py).
    """
    ALTER TABLE people ADD COLUMN face_count INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE people ADD COLUMN photo_count INTEGER NOT NULL DEFAULT 0;
    UPDATE people SET
        face_count = (SELECT count(*) FROM faces f WHERE f.person_id = people.id),
        photo_count = (SELECT count(DISTINCT f.photo_id) FROM faces f
                       WHERE f.person_id = people.id);
    CREATE TRIGGER faces_count_insert AFTER INSERT ON faces
    WHEN NEW.person_id IS NOT NULL BEGIN
        UPDATE people SET face_count = face_count + 1,
            photo_count = photo_count + (SELECT count(*) = 1 FROM faces
                WHERE person_id = NEW.person_id AND photo_id = NEW.photo_id)
        WHERE id = NEW.person_id;
    END;
    CREATE TRIGGER faces_count_delete AFTER DELETE ON faces
    WHEN OLD.person_id IS NOT NULL BEGIN
        UPDATE people SET face_count = face_count - 1,
            photo_count = photo_count - (SELECT count(*) = 0 FROM faces
                WHERE person_id = OLD.person_id AND photo_id = OLD.photo_id)
        WHERE id = OLD.person_id;
    END;
    CREATE TRIGGER faces_count_move AFTER UPDATE OF person_id, photo_id ON faces
    WHEN OLD.person_id IS NOT NEW.person_id OR OLD.photo_id IS NOT NEW.photo_id BEGIN
        UPDATE people SET face_count = face_count - 1,
            photo_count = photo_count - (SELECT count(*) = 0 FROM faces
                WHERE person_id = OLD.person_id AND photo_id = OLD.photo_id)
        WHERE id = OLD.person_id;
        UPDATE people SET face_count = face_count + 1,
            photo_count = photo_count + (SELECT count(*) = 1 FROM faces
                WHERE person_id = NEW.person_id AND photo_id = NEW.photo_id)
        WHERE id = NEW.person_id;
    END;
    """,
    # 10: `forget FOLDER` forgets the paths in it. A photo that also lives outside them
    # stays with its faces; its paths inside are remembered here (with the size and mtime
    # they had) so the next import does not add them back as copies. A file there that
    # changes is new content and is imported as usual.
    """
    CREATE TABLE forgotten_paths (
        path TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        at TEXT NOT NULL
    );
    """,
    # 11: images too small for any engine (thumbnails, icons) are remembered like failures,
    # so a rerun reads none of them, but they are no failure: counted apart, never exit 1.
    """
    ALTER TABLE failures ADD COLUMN too_small INTEGER NOT NULL DEFAULT 0;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


@dataclass
class SearchFilter:
    """What search.py asks of the catalogue; every value is bound, never spliced."""

    fts: str | None = None  # an FTS5 query built by search.fts_query
    substring: str | None = None  # a query with no word characters
    person_ids: Sequence[int] = ()
    taken_from: str | None = None  # ISO bounds, inclusive / exclusive
    taken_before: str | None = None
    path_glob: str | None = None
    limit: int | None = 50
    ranked_lines: int = 2000
    include_missing: bool = False
    # A one-word query: the folded word, and search.py's bm25 of candidate lines
    # (texts, prefix?) -> scores. See Catalogue._search_one_word.
    word: str | None = None
    score_lines: Callable[[list[str], bool], list[float]] | None = None


def _kind_of_file(path: Path) -> str:
    """'library', 'empty' or 'foreign' for a file that may be anything."""
    if not _looks_like_sqlite(path):
        return "empty" if path.stat().st_size == 0 else "foreign"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return _kind(conn)
        finally:
            conn.close()
    except sqlite3.Error:
        return "foreign"


def _looks_like_sqlite(path: Path) -> bool:
    """A SQLite file by its header: a damaged library, not someone else's other file."""
    try:
        with open(path, "rb") as f:
            return f.read(16) == SQLITE_HEADER
    except OSError:
        return False


def _kind(conn: sqlite3.Connection) -> str:
    """'library', 'empty' (no schema yet: a new library, maybe being made by another
    process right now), or 'foreign' (someone else's database)."""
    if conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
        return "library"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    if not tables:
        return "empty"
    # Files written before photosense set its application id: known by their tables.
    return "library" if {"meta", "photos", "faces", "people", "changes"} <= tables else "foreign"


# The library file this command works on, for the one error boundary to name when SQLite
# fails deep inside a command ("database or disk is full" says which disk nowhere).
current_library: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "current_library", default=None)
SQLITE_HEADER = b"SQLite format 3\x00"
RESTORE = errors.RESTORE


def explain(e: sqlite3.Error, path: Path | None = None, repairing: bool = False) -> PhotosenseError:
    """What a SQLite failure means for the user's library file, and what to do about it."""
    path = path or current_library.get()
    where = str(path) if path else "the library file"
    message = str(e)
    low = message.lower()
    if "readonly" in low or "read-only" in low:
        return PhotosenseError(
            f"{where} is read-only ({message}): photosense writes to its library even to read "
            "it (its write-ahead log). Make the file and its folder writable, or copy the file "
            "and pass --library COPY")
    if "disk is full" in low or "no space" in low:
        return PhotosenseError(
            f"the disk holding {where} is full ({message}): nothing more was written, and what "
            "was committed is kept. Free some space and run the command again")
    damaged = any(w in low for w in ("malformed", "corrupt")) or (
        "not a database" in low and path is not None and _looks_like_sqlite(path))
    if damaged:
        if repairing:
            return LibraryDamaged(f"{where} is damaged beyond what repair can mend ({message}): "
                                  + RESTORE)
        return LibraryDamaged(f"{where} is damaged ({message}): run 'photosense repair'; if "
                              "damage remains, " + RESTORE)
    if "unable to open" in low:
        return PhotosenseError(f"cannot open {where} ({message}): check that the file and its "
                               "folder exist and are yours")
    return PhotosenseError(f"the library database {where} failed: {message}")


class Catalogue:
    """A library file: its schema and named queries, over sqlite-utils."""

    def __init__(self, path: Path, *, create: bool = True, repairing: bool = False,
                 on_notice: Callable[[str], None] | None = None):
        """on_notice: told what the opening changed (a file readable by others made 0600)."""
        self.path = Path(path)
        self._db: Any = None
        no_library = f"no library at {self.path}: run 'photosense import PATH' first"
        if not self.path.exists():
            if not create:
                raise PhotosenseError(no_library)
            make_folder(self.path.parent)  # 0700: it will hold face data
            # Faces are biometric data: the file is readable by its owner only.
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        current_library.set(self.path)
        try:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            kind = _kind(conn)
        except sqlite3.DatabaseError as e:
            if _looks_like_sqlite(self.path) or isinstance(e, sqlite3.OperationalError):
                # a library that is damaged, read-only or on a full disk: said for what it is
                raise explain(e, self.path, repairing=repairing) from None
            raise PhotosenseError(f"{self.path} is not a photosense library ({e}); it was "
                                  "left untouched (pick another --library)") from None
        if kind == "foreign" or (kind == "empty" and not create):
            conn.close()
            if kind == "empty":
                raise PhotosenseError(no_library)
            raise PhotosenseError(f"{self.path} is not a photosense library; "
                                  "it was left untouched (pick another --library)")
        mode = self.path.stat().st_mode & 0o777
        if mode & 0o077:
            self.path.chmod(0o600)
            if on_notice is not None:
                on_notice(f"{self.path} was readable by others (mode {mode:o}); it holds face "
                          "data, so it is now readable by you only (600)")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        self.conn = conn
        self._migrate()

    # -- plumbing ---------------------------------------------------------

    def _migrate(self) -> None:
        version = self.scalar("PRAGMA user_version")
        if version > SCHEMA_VERSION:
            raise PhotosenseError(
                f"{self.path} was written by a newer photosense (schema {version}); upgrade photosense"
            )
        if version == SCHEMA_VERSION and self.get_meta("library_id"):
            return
        with self.transaction():
            # Read again under the write lock: two processes may open a new file at once.
            version = self.scalar("PRAGMA user_version")
            for i in range(version, SCHEMA_VERSION):
                step = MIGRATIONS[i]
                if callable(step):
                    step(self.conn)
                else:
                    for statement in _statements(step):
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version={i + 1}")
            self.conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            if self.get_meta("library_id") is None:
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

    @property
    def db(self):
        """sqlite-utils over the same connection, for inserts (loaded on first use)."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    def query(self, sql: str, params: Sequence | dict = ()) -> list[dict]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def scalar(self, sql: str, params: Sequence = ()) -> Any:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def _in(self, sql: str, ids: Sequence, extra: Sequence = ()) -> Iterator[tuple]:
        """Run sql with `{ids}` replaced by placeholders, 500 ids at a time."""
        for chunk in chunks(list(ids), 500):
            yield from self.conn.execute(sql.format(ids=",".join("?" * len(chunk))),
                                         (*chunk, *extra))

    def get_meta(self, key: str) -> str | None:
        return self.scalar("SELECT value FROM meta WHERE key = ?", (key,))

    def set_meta(self, key: str, value: str | None) -> None:
        self.conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    @property
    def library_id(self) -> str:
        return self.get_meta("library_id") or ""

    def collection_id(self) -> str:
        """The engine collection of this library (Rekognition's; a label for others)."""
        return self.get_meta("collection_id") or f"photosense-{self.library_id}"

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
        assert cur.lastrowid is not None
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

    def last_run(self) -> dict | None:
        """The newest run; one still 'running' whose process is gone was interrupted."""
        rows = self.query("SELECT command, pid, started_at, finished_at, status, "
                          "json_extract(summary, '$.estimated_cost_usd') AS cost_usd FROM runs "
                          "ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        run = rows[0]
        if run["status"] == "running" and not _alive(run.pop("pid")):
            run["status"] = "interrupted"
        run.pop("pid", None)
        return run

    # -- the file's health --------------------------------------------------------

    def quick_check(self) -> list[str]:
        """SQLite's quick_check: [] for a sound file, else what is damaged (fast: no index
        cross-checks; ~0.1 s per 100 MB)."""
        rows = [r[0] for r in self.conn.execute("PRAGMA quick_check")]
        return [] if rows == ["ok"] else rows

    def repair(self) -> dict:
        """Rebuild the text index from the lines, recount each person's faces and photos,
        then check the whole file."""
        with self.transaction():
            self.conn.execute("INSERT INTO text_lines_fts(text_lines_fts) VALUES ('rebuild')")
            drift = self.count_drift()
            self.conn.execute(
                "UPDATE people SET face_count = (SELECT count(*) FROM faces f "
                "WHERE f.person_id = people.id), photo_count = (SELECT count(DISTINCT "
                "f.photo_id) FROM faces f WHERE f.person_id = people.id)")
        problems = [r[0] for r in self.conn.execute("PRAGMA integrity_check")]
        return {"text_index_rebuilt": True, "people_recounted": len(drift),
                "damage": [] if problems == ["ok"] else problems}

    def backup(self, dest: Path) -> Path:
        """A consistent copy of the library (SQLite's online backup API, all pages in one
        step under one read transaction: an import writing meanwhile is not seen half),
        written 0600 through a temporary file beside the destination. A folder gets
        library-DATE-TIME.db. Returns the file written."""
        dest = Path(dest).expanduser()
        if dest.is_dir():
            dest = dest / f"library-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.db"
        target = target_of(dest, self.protected())
        if target.exists() and _kind_of_file(target) == "foreign":
            raise PhotosenseError(f"{dest}: a file that is not a photosense library is there; "
                                  "name a new file")
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        try:
            copy = sqlite3.connect(tmp)
            try:
                self.conn.backup(copy)
            finally:
                copy.close()
            os.chmod(tmp, 0o600)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException as e:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(e, (OSError, sqlite3.Error)):
                raise PhotosenseError(f"{dest}: cannot write the backup: {e}") from None
            raise
        return target

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

    def counts(self) -> dict[str, int]:
        """What the library holds, for status and for estimates."""
        return {
            "photos": self.scalar("SELECT count(*) FROM photos"),
            "locations": self.scalar("SELECT count(*) FROM locations"),
            "faces": self.scalar("SELECT count(*) FROM faces"),
            "people": self.scalar("SELECT count(*) FROM people"),
            "named_people": self.scalar("SELECT count(*) FROM people WHERE named = 1"),
            "text_lines": self.scalar("SELECT count(*) FROM text_lines"),
            "missing": self.scalar(f"SELECT count(*) {self._MISSING}"),
            "known_failures": self.scalar("SELECT count(*) FROM failures WHERE too_small = 0"),
            "too_small": self.scalar("SELECT count(*) FROM failures WHERE too_small = 1"),
        }

    def faces_per_photo(self) -> float | None:
        """The library's average faces a photo; None while it has no photo."""
        photos = self.scalar("SELECT count(*) FROM photos")
        return self.scalar("SELECT count(*) FROM faces") / photos if photos else None

    # -- photos and where they live --------------------------------------

    def locations_by_path(self) -> dict[str, tuple[int, int, int]]:
        """path -> (size, mtime_ns, photo_id) of live paths, loaded once: a rerun needs no
        query per file."""
        rows = self.conn.execute("SELECT path, size, mtime_ns, photo_id FROM locations "
                                 "WHERE gone_at IS NULL")
        return {path: (size, mtime, pid) for path, size, mtime, pid in rows}

    def live_paths_under(self, folder: str) -> list[str]:
        prefix = folder.rstrip("/") + "/"
        return [r[0] for r in self.conn.execute(
            "SELECT path FROM locations WHERE gone_at IS NULL AND substr(path, 1, ?) = ?",
            (len(prefix), prefix))]

    def mark_gone(self, paths: Sequence[str]) -> None:
        """These paths were not found on disk: keep them as last known places, not live ones."""
        at = now()
        for chunk in chunks(list(paths), 500):
            self.conn.execute(
                f"UPDATE locations SET gone_at = ? WHERE gone_at IS NULL "
                f"AND path IN ({','.join('?' * len(chunk))})", (at, *chunk))

    def count_paths_still_elsewhere(self, paths: Sequence[str]) -> int:
        """Of these (gone) paths, how many belong to a photo that has a live path: moved or
        renamed, not deleted."""
        n = 0
        for chunk in chunks(list(paths), 500):
            n += self.scalar(
                f"SELECT count(*) FROM locations l WHERE l.path IN ({','.join('?' * len(chunk))}) "
                "AND EXISTS (SELECT 1 FROM locations o WHERE o.photo_id = l.photo_id "
                "AND o.gone_at IS NULL)", chunk)
        return n

    _MISSING = ("FROM photos p WHERE NOT EXISTS (SELECT 1 FROM locations l "
                "WHERE l.photo_id = p.id AND l.gone_at IS NULL)")

    def missing_photo_ids(self, limit: int = -1) -> list[int]:
        """Photos with no live path left: moved away or deleted since they were imported."""
        return [r[0] for r in self.conn.execute(
            f"SELECT id {self._MISSING} ORDER BY id LIMIT ?", (limit,))]

    # -- files that failed ----------------------------------------------------

    def failures(self) -> dict[str, tuple[int, int, bool]]:
        """path -> (size, mtime_ns, too small) of files that failed (or were too small to
        analyse) as they were then on disk."""
        return {p: (s, m, bool(t)) for p, s, m, t in self.conn.execute(
            "SELECT path, size, mtime_ns, too_small FROM failures")}

    def failure_rows(self) -> list[dict]:
        return self.query("SELECT path, reason, at FROM failures WHERE too_small = 0 "
                          "ORDER BY path")

    def record_failure(self, path: str, size: int, mtime_ns: int, reason: str,
                       too_small: bool = False) -> None:
        self.conn.execute(
            "INSERT INTO failures(path, size, mtime_ns, reason, at, too_small) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET size = excluded.size, "
            "mtime_ns = excluded.mtime_ns, reason = excluded.reason, at = excluded.at, "
            "too_small = excluded.too_small", (path, size, mtime_ns, reason, now(), too_small))

    def clear_failure(self, path: str) -> None:
        self.conn.execute("DELETE FROM failures WHERE path = ?", (path,))

    # -- photos a 'forget' that was undone will bring back --------------------------

    def add_restorable(self, sha256: str, faces: list[dict]) -> None:
        self.conn.execute("INSERT OR REPLACE INTO restorable(sha256, faces, at) VALUES (?, ?, ?)",
                          (sha256, json.dumps(faces), now()))

    def take_restorable(self, sha256: str) -> list[dict] | None:
        """The faces a forgotten photo had (box, person), once; the caller holds a transaction."""
        raw = self.scalar("SELECT faces FROM restorable WHERE sha256 = ?", (sha256,))
        if raw is None:
            return None
        self.conn.execute("DELETE FROM restorable WHERE sha256 = ?", (sha256,))
        return json.loads(raw)

    def unforget(self, hashes: Sequence[str]) -> None:
        for chunk in chunks(list(hashes), 500):
            self.conn.execute(
                f"DELETE FROM forgotten WHERE sha256 IN ({','.join('?' * len(chunk))})", chunk)

    def photo_ids_by_hash(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT sha256, id FROM photos").fetchall())

    def forgotten_hashes(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT sha256 FROM forgotten")}

    def forgotten_paths(self) -> dict[str, tuple[int, int]]:
        return {r[0]: (r[1], r[2]) for r in self.conn.execute(
            "SELECT path, size, mtime_ns FROM forgotten_paths")}

    def location_rows(self, paths: Sequence[str]) -> list[dict]:
        rows = []
        for chunk in chunks(list(paths), 500):
            rows += self.query(
                "SELECT photo_id, path, size, mtime_ns, seen_at, gone_at FROM locations "
                f"WHERE path IN ({','.join('?' * len(chunk))}) ORDER BY path", chunk)
        return rows

    def forget_paths(self, rows: Sequence[dict]) -> None:
        """Drop these locations of photos that live on elsewhere, and keep the next imports
        from adding them back; the caller holds a transaction."""
        at = now()
        for r in rows:
            self.conn.execute("DELETE FROM locations WHERE path = ?", (r["path"],))
            self.conn.execute(
                "INSERT OR REPLACE INTO forgotten_paths(path, size, mtime_ns, at) "
                "VALUES (?, ?, ?, ?)", (r["path"], r["size"], r["mtime_ns"], at))

    def unforget_paths(self, rows: Sequence[dict]) -> list[str]:
        """Undo forget_paths; returns the paths whose photo is gone since."""
        lost = []
        for r in rows:
            self.conn.execute("DELETE FROM forgotten_paths WHERE path = ?", (r["path"],))
            if not self.photo_exists(r["photo_id"]):
                lost.append(r["path"])
                continue
            self.conn.execute(
                "INSERT OR IGNORE INTO locations(photo_id, path, size, mtime_ns, seen_at, "
                "gone_at) VALUES (?, ?, ?, ?, ?, ?)", (r["photo_id"], r["path"], r["size"],
                                                       r["mtime_ns"], r["seen_at"], r["gone_at"]))
        return lost

    def all_paths_of(self, photo_ids: Sequence[int]) -> dict[int, list[str]]:
        """Every path of each photo, live or gone."""
        out: dict[int, list[str]] = defaultdict(list)
        for pid, path in self._in("SELECT photo_id, path FROM locations WHERE photo_id IN ({ids}) "
                                  "ORDER BY path", photo_ids):
            out[pid].append(path)
        return out

    def record_location(self, photo_id: int, path: str, size: int, mtime_ns: int) -> None:
        self.conn.execute(
            "INSERT INTO locations(photo_id, path, size, mtime_ns, seen_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET photo_id = excluded.photo_id, size = excluded.size, "
            "mtime_ns = excluded.mtime_ns, seen_at = excluded.seen_at, gone_at = NULL",
            (photo_id, path, size, mtime_ns, now()),
        )

    def insert_photo(self, row: dict) -> int:
        table = self.db.table("photos")
        table.insert({**row, "analysed_at": now()})
        assert table.last_rowid is not None
        return table.last_rowid

    def insert_face(self, photo_id: int, person_id: int, face) -> int:
        """Store an engine's DetectedFace under a person; the face becomes the cover if none."""
        table = self.db.table("faces")
        table.insert({"photo_id": photo_id, "person_id": person_id,
                      "engine_face_id": face.face_id, **face.box.to_json(),
                      "confidence": face.confidence, "descriptor": face.descriptor})
        face_row = table.last_rowid
        self.conn.execute(
            "UPDATE people SET cover_face_id = ? WHERE id = ? AND cover_face_id IS NULL",
            (face_row, person_id))
        assert face_row is not None
        return face_row

    def insert_text_lines(self, photo_id: int, lines: Iterable[TextLine]) -> None:
        self.conn.executemany(
            'INSERT INTO text_lines(photo_id, text, confidence, "left", top, width, height) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(photo_id, ln.text, ln.confidence, *ln.box.as_tuple()) for ln in lines],
        )

    def engine_face_ids(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT engine_face_id FROM faces")}

    def people_of_engine_faces(self, engine_face_ids: list[str]) -> dict[str, int]:
        """engine face id -> person id, for faces the catalogue has and that belong to someone."""
        return dict(self._in("SELECT engine_face_id, person_id FROM faces "
                             "WHERE engine_face_id IN ({ids}) AND person_id IS NOT NULL",
                             engine_face_ids))

    def known_faces(self, engine: str | None = None) -> Iterator[tuple[str, bytes]]:
        """(engine face id, descriptor) of faces with a descriptor, of one engine's photos if given."""
        if engine is None:
            yield from self.conn.execute(
                "SELECT engine_face_id, descriptor FROM faces WHERE descriptor IS NOT NULL")
        else:
            yield from self.conn.execute(
                "SELECT f.engine_face_id, f.descriptor FROM faces f JOIN photos p "
                "ON p.id = f.photo_id WHERE p.engine = ? AND f.descriptor IS NOT NULL", (engine,))

    def paths_of(self, photo_ids: Sequence[int]) -> dict[int, list[str]]:
        """Live paths of each photo, sorted."""
        out: dict[int, list[str]] = defaultdict(list)
        for pid, path in self._in("SELECT photo_id, path FROM locations WHERE photo_id IN ({ids}) "
                                  "AND gone_at IS NULL ORDER BY path", photo_ids):
            out[pid].append(path)
        return out

    def last_paths_of(self, photo_ids: Sequence[int]) -> dict[int, str]:
        """Where each photo was last seen, for photos that are missing now."""
        return dict(self._in(
            "SELECT photo_id, path FROM (SELECT photo_id, path, row_number() OVER "
            "(PARTITION BY photo_id ORDER BY gone_at DESC, path) AS n FROM locations "
            "WHERE photo_id IN ({ids})) WHERE n = 1", photo_ids))

    def photos(self, photo_ids: Sequence[int]) -> list[Photo]:
        """Photos by id, in the order given, each with its live paths (or last known one)."""
        rows = {r[0]: r for r in self._in(
            "SELECT id, sha256, size, width, height, format, taken_at, taken_at_source, engine "
            "FROM photos WHERE id IN ({ids})", photo_ids)}
        paths = self.paths_of(photo_ids)
        missing = [i for i in photo_ids if i in rows and not paths.get(i)]
        last = self.last_paths_of(missing) if missing else {}
        return [Photo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                      paths=paths.get(i, []), last_path=last.get(i))
                for i in photo_ids if (r := rows.get(i))]

    def photo_ids_under(self, path: str) -> list[int]:
        """Photos with a path equal to `path` or inside the folder `path`."""
        prefix = path.rstrip("/") + "/"
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT photo_id FROM locations WHERE path = ? OR substr(path, 1, ?) = ?",
            (path, len(prefix), prefix))]

    def photo_id_at(self, path: str) -> int | None:
        return self.scalar("SELECT photo_id FROM locations WHERE path = ?", (path,))

    def protected(self) -> Protected:
        """What a file photosense writes must never replace: this library and its photos."""
        return Protected(
            self.path,
            photo_at=lambda path: bool(self.scalar(
                "SELECT 1 FROM locations WHERE path = ? LIMIT 1", (path,))),
            photo_with=lambda sha: bool(self.scalar(
                "SELECT 1 FROM photos WHERE sha256 = ? LIMIT 1", (sha,))))

    def photo_exists(self, photo_id: int) -> bool:
        return bool(self.scalar("SELECT 1 FROM photos WHERE id = ?", (photo_id,)))

    def photo_details(self, photo_id: int) -> PhotoDetails:
        photo = self.photos([photo_id])[0]
        faces = self._faces("WHERE f.photo_id = ? ORDER BY f.left", (photo_id,))
        text = [TextLine(r["text"], r["confidence"],
                         Box(r["left"] or 0, r["top"] or 0, r["width"] or 0, r["height"] or 0))
                for r in self.query('SELECT text, confidence, "left", top, width, height '
                                    "FROM text_lines WHERE photo_id = ? ORDER BY top, left",
                                    (photo_id,))]
        return PhotoDetails(photo, faces, text, self.xmp_regions(photo_id))

    def photos_not_on(self, engine: str) -> list[Photo]:
        """Photos a switch to `engine` has still to re-analyse, with their paths."""
        ids = [r[0] for r in self.conn.execute(
            "SELECT id FROM photos WHERE engine IS NOT ? ORDER BY id", (engine,))]
        return self.photos(ids)

    def has_faces_of(self, engine: str) -> bool:
        return bool(self.scalar("SELECT 1 FROM faces f JOIN photos p ON p.id = f.photo_id "
                                "WHERE p.engine = ? LIMIT 1", (engine,)))

    def forget_photo_engines(self) -> None:
        """Every photo is to be analysed again (a rebuild): no photo counts as done."""
        self.conn.execute("UPDATE photos SET engine = NULL")

    def engine_face_ids_of_photos(self, photo_ids: Sequence[int]) -> list[str]:
        return [r[0] for r in self._in(
            "SELECT engine_face_id FROM faces WHERE photo_id IN ({ids})", photo_ids)]

    def forget_photos(self, photo_ids: Sequence[int]) -> int:
        """Delete photos (faces, lines, paths cascade) and remember their content; the caller
        holds a transaction. Returns the number of people left without a face and removed."""
        for chunk in chunks(list(photo_ids), 500):
            marks = ",".join("?" * len(chunk))
            self.conn.execute(
                f"INSERT OR IGNORE INTO forgotten(sha256, at) "
                f"SELECT sha256, ? FROM photos WHERE id IN ({marks})", (now(), *chunk))
            self.conn.execute(f"DELETE FROM photos WHERE id IN ({marks})", chunk)
        return self.delete_faceless_people()

    def replace_analysis(self, photo_id: int, engine: str) -> list[Face]:
        """Drop a photo's faces and lines before storing a new engine's; returns the old faces.

        The caller holds a transaction and stores the new ones in it.
        """
        old = self._faces("WHERE f.photo_id = ? ORDER BY f.id", (photo_id,))
        self.conn.execute("DELETE FROM faces WHERE photo_id = ?", (photo_id,))
        self.conn.execute("DELETE FROM text_lines WHERE photo_id = ?", (photo_id,))
        self.conn.execute("UPDATE photos SET engine = ?, analysed_at = ? WHERE id = ?",
                          (engine, now(), photo_id))
        return old

    # -- faces --------------------------------------------------------------

    def _faces(self, tail: str, params: Sequence) -> list[Face]:
        return [Face(r["id"], r["photo_id"], r["person_id"], r["name"],
                     Box(r["left"], r["top"], r["width"], r["height"]), r["confidence"],
                     r["engine_face_id"], bool(r["named"]))
                for r in self.query(
                    'SELECT f.id, f.photo_id, f.person_id, pe.name, f."left", f.top, f.width, '
                    "f.height, f.confidence, f.engine_face_id, pe.named FROM faces f "
                    f"LEFT JOIN people pe ON pe.id = f.person_id {tail}", params)]

    def faces_of_photo(self, photo_id: int) -> list[Face]:
        return self._faces("WHERE f.photo_id = ? ORDER BY f.id", (photo_id,))

    def delete_photos(self, photo_ids: Sequence[int]) -> None:
        """Delete photos with their faces, lines and paths (the caller holds a transaction)."""
        for chunk in chunks(list(photo_ids), 500):
            self.conn.execute(f"DELETE FROM photos WHERE id IN ({','.join('?' * len(chunk))})",
                              chunk)

    def face(self, face_id: int) -> Face | None:
        found = self._faces("WHERE f.id = ?", (face_id,))
        return found[0] if found else None

    def faces_of_person(self, person_id: int) -> list[Face]:
        return self._faces("WHERE f.person_id = ? ORDER BY f.photo_id, f.id", (person_id,))

    def face_ids_of_person(self, person_id: int) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT id FROM faces WHERE person_id = ?",
                                                (person_id,))]

    def best_engine_faces(self, person_id: int, limit: int) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT engine_face_id FROM faces WHERE person_id = ? ORDER BY confidence DESC LIMIT ?",
            (person_id, limit))]

    def assign_faces(self, face_ids: Sequence[int], person_id: int | None) -> None:
        for chunk in chunks(list(face_ids), 500):
            self.conn.execute(
                f"UPDATE faces SET person_id = ? WHERE id IN ({','.join('?' * len(chunk))})",
                (person_id, *chunk))

    def move_all_faces(self, from_person: int, to_person: int) -> None:
        self.conn.execute("UPDATE faces SET person_id = ? WHERE person_id = ?",
                          (to_person, from_person))

    def person_of_face(self, face_id: int) -> int | None:
        return self.scalar("SELECT person_id FROM faces WHERE id = ?", (face_id,))

    # -- people -----------------------------------------------------------

    @staticmethod
    def _person(r: dict) -> Person:
        return Person(r["id"], r["name"], bool(r["named"]), Hidden(r["hidden"]),
                      r.get("cover_face_id"), r.get("photos", 0), r.get("faces", 0),
                      r.get("sample"), r.get("name_source"))

    def person(self, person_id: int) -> Person | None:
        row = self.person_row(person_id)
        return self._person(row) if row else None

    def person_exists(self, person_id: int) -> bool:
        return bool(self.scalar("SELECT 1 FROM people WHERE id = ?", (person_id,)))

    def revive_person(self, row: dict) -> int:
        """The person a restored face belonged to: still there, or made again with its name."""
        current = self.person_row(row["id"])
        if current is not None and current["name"] == row["name"]:
            return row["id"]
        keep_id = current is None  # the id is free: give it back, so scripts' ids hold
        table = self.db.table("people")
        table.insert({**({"id": row["id"]} if keep_id else {}), "name": row["name"],
                      "named": row["named"], "hidden": row["hidden"], "created_at": now()})
        assert table.last_rowid is not None
        return table.last_rowid

    def person_row(self, person_id: int) -> dict | None:
        """The raw row, kept in the undo log to restore a deleted person exactly."""
        rows = self.query("SELECT * FROM people WHERE id = ?", (person_id,))
        return rows[0] if rows else None

    def people_named(self, name: str) -> list[Person]:
        return [self._person(r) for r in self.query(
            "SELECT * FROM people WHERE name = ? COLLATE NOCASE ORDER BY id", (name,))]

    def people_name_contains(self, text: str, limit: int = 10) -> list[Person]:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return [self._person(r) for r in self.query(
            "SELECT * FROM people WHERE name LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?",
            (like, limit))]

    def list_people(self, *, named: bool | None = None, hidden: bool = False,
                    min_faces: int = 0) -> list[Person]:
        """Unnamed people first ("Who's this?"), most photos first; then named people by name.

        min_faces: unnamed people with fewer faces are left out (named people never are).
        """
        where = ["p.hidden != 0" if hidden else "p.hidden = 0"]
        params: list = []
        if named is not None:
            where.append("p.named = ?")
            params.append(int(named))
        if min_faces > 0:
            where.append("(p.named = 1 OR p.face_count >= ?)")
            params.append(min_faces)
        rows = self.conn.execute(
            f"""
            SELECT p.id, p.name, p.named, p.hidden, p.cover_face_id, p.photo_count,
                   p.face_count,
                   (SELECT min(l.path) FROM faces cf JOIN locations l ON l.photo_id = cf.photo_id
                    WHERE cf.id = p.cover_face_id AND l.gone_at IS NULL) AS sample
            FROM people p
            WHERE {' AND '.join(where)}
            ORDER BY p.named, CASE WHEN p.named THEN 0 ELSE -p.photo_count END,
                     p.name COLLATE NOCASE, p.id
            """, params)
        return [Person(i, name, bool(named_), Hidden(hidden_), cover, photos, faces, sample)
                for i, name, named_, hidden_, cover, photos, faces, sample in rows]

    def count_unnamed_with_fewer_faces(self, faces: int) -> int:
        return self.scalar("SELECT count(*) FROM people WHERE hidden = 0 AND named = 0 AND "
                           "face_count < ?", (faces,))

    def count_drift(self) -> list[int]:
        """People whose kept counts differ from their faces (none, unless a bug or a hand
        edit of the file); `repair` recounts them."""
        return [r[0] for r in self.conn.execute(
            """SELECT p.id FROM people p LEFT JOIN (
                   SELECT person_id, count(*) AS faces, count(DISTINCT photo_id) AS photos
                   FROM faces WHERE person_id IS NOT NULL GROUP BY person_id) c
               ON c.person_id = p.id
               WHERE p.face_count != coalesce(c.faces, 0)
                  OR p.photo_count != coalesce(c.photos, 0) ORDER BY p.id""")]

    def all_person_ids(self) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT id FROM people ORDER BY id")]

    def person_details(self, person: Person, include_missing: bool = False) -> PersonDetails:
        ids = [r[0] for r in self.conn.execute(
            "SELECT id FROM photos WHERE id IN (SELECT photo_id FROM faces WHERE person_id = ?) "
            "ORDER BY taken_at, id", (person.id,))]
        photos = [p for p in self.photos(ids) if include_missing or not p.missing]
        shown = {p.id for p in photos}
        faces = [f for f in self.faces_of_person(person.id) if f.photo_id in shown]
        return PersonDetails(person, photos, faces, self.name_hints(person.id))

    def create_person(self) -> int:
        cur = self.conn.execute(
            "INSERT INTO people(name, named, created_at) VALUES ('', 0, ?)", (now(),)
        )
        pid = cur.lastrowid
        assert pid is not None
        self.conn.execute("UPDATE people SET name = ? WHERE id = ?", (f"Unknown person {pid}", pid))
        return pid

    def restore_person(self, row: dict) -> bool:
        """Put back a person deleted by a change being undone (the row as it was); False if
        another person holds that id by now."""
        if self.person_exists(row["id"]):
            return False
        # Counts start at zero: the faces given back to the person add themselves.
        self.db.table("people").insert({**row, "cover_face_id": None, "face_count": 0,
                                        "photo_count": 0})
        self.set_cover(row["id"], row["cover_face_id"])
        return True

    def set_name(self, person_id: int, name: str, named: bool,
                 source: str | None = "typed") -> None:
        self.conn.execute("UPDATE people SET name = ?, named = ?, name_source = ? WHERE id = ?",
                          (name, int(named), source if named else None, person_id))

    def add_name_hint(self, person_id: int, name: str, source: str) -> None:
        self.conn.execute("INSERT OR IGNORE INTO name_hints(person_id, name, source, at) "
                          "VALUES (?, ?, ?, ?)", (person_id, name, source, now()))

    def name_hints(self, person_id: int) -> list[dict]:
        return self.query("SELECT name, source FROM name_hints WHERE person_id = ? ORDER BY name",
                          (person_id,))

    def add_xmp_region(self, photo_id: int, name: str, box: Box | None, source: str) -> None:
        b = box.as_tuple() if box else (None, None, None, None)
        self.conn.execute('INSERT INTO xmp_regions(photo_id, name, "left", top, width, height, '
                          "source) VALUES (?, ?, ?, ?, ?, ?, ?)", (photo_id, name, *b, source))

    def xmp_regions(self, photo_id: int) -> list[dict]:
        return [{"name": r["name"], "source": r["source"],
                 "box": None if r["left"] is None else Box(r["left"], r["top"], r["width"],
                                                           r["height"]).to_json()}
                for r in self.query('SELECT name, "left", top, width, height, source FROM '
                                    "xmp_regions WHERE photo_id = ? ORDER BY id", (photo_id,))]

    def set_hidden(self, person_id: int, hidden: Hidden) -> None:
        self.conn.execute("UPDATE people SET hidden = ? WHERE id = ?", (int(hidden), person_id))

    def hide_as_background(self, person_id: int) -> None:
        """Hidden by photosense, not by the user: shown again once a second face joins."""
        self.set_hidden(person_id, Hidden.BY_PHOTOSENSE)

    def set_cover(self, person_id: int, face_id: int | None) -> None:
        """The cover face, if that face still exists (an undo may name one forgotten since)."""
        self.conn.execute("UPDATE people SET cover_face_id = (SELECT id FROM faces WHERE id = ?) "
                          "WHERE id = ?", (face_id, person_id))
        self.set_cover_if_none(person_id)

    def existing_faces(self, face_ids: Sequence[int]) -> list[int]:
        return [r[0] for r in self._in("SELECT id FROM faces WHERE id IN ({ids})", face_ids)]

    def set_cover_if_none(self, person_id: int, face_id: int | None = None) -> None:
        """Give a person without a cover this face, or their most confident one."""
        if face_id is None:
            face_id = self.scalar("SELECT id FROM faces WHERE person_id = ? "
                                  "ORDER BY confidence DESC LIMIT 1", (person_id,))
        self.conn.execute("UPDATE people SET cover_face_id = ? WHERE id = ? "
                          "AND cover_face_id IS NULL", (face_id, person_id))

    def tidy_after_face_left(self, person_id: int | None, face_id: int) -> bool:
        """Give the old person another cover, or delete them if no face is left; True if deleted."""
        if person_id is None:
            return False
        if not self.scalar("SELECT count(*) FROM faces WHERE person_id = ?", (person_id,)):
            self.delete_person(person_id)
            return True
        self.conn.execute(
            "UPDATE people SET cover_face_id = (SELECT id FROM faces WHERE person_id = ? "
            "ORDER BY confidence DESC LIMIT 1) WHERE id = ? "
            "AND (cover_face_id = ? OR cover_face_id IS NULL)",
            (person_id, person_id, face_id),
        )
        return False

    def delete_person(self, person_id: int) -> None:
        self.conn.execute("DELETE FROM people WHERE id = ?", (person_id,))

    def delete_faceless_people(self) -> int:
        """People whose last face went (forget, reindex); the caller holds a transaction."""
        return self.conn.execute(
            "DELETE FROM people WHERE id NOT IN "
            "(SELECT person_id FROM faces WHERE person_id IS NOT NULL)").rowcount

    # -- suggestions ----------------------------------------------------------

    def add_suggestion(self, a: int, b: int, score: float, source: str) -> None:
        """Record a pair as probably one person, unless the user said they are not."""
        a, b = min(a, b), max(a, b)
        if a == b:
            return
        self.conn.execute(
            "INSERT INTO suggestions(person_a, person_b, score, source, created_at) "
            "SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM rejected_pairs "
            "WHERE person_a = ? AND person_b = ?) ON CONFLICT(person_a, person_b) DO UPDATE "
            "SET score = max(score, excluded.score)",
            (a, b, score, source, now(), a, b),
        )

    def reject_pair(self, a: int, b: int) -> list[dict]:
        """Remember that two people are not one; returns the suggestion rows it removed."""
        a, b = min(a, b), max(a, b)
        removed = self.query("SELECT * FROM suggestions WHERE person_a = ? AND person_b = ?",
                             (a, b))
        self.conn.execute("INSERT OR IGNORE INTO rejected_pairs(person_a, person_b, at) "
                          "VALUES (?, ?, ?)", (a, b, now()))
        self.conn.execute("DELETE FROM suggestions WHERE person_a = ? AND person_b = ?", (a, b))
        return removed

    def unreject_pair(self, a: int, b: int) -> None:
        self.conn.execute("DELETE FROM rejected_pairs WHERE person_a = ? AND person_b = ?",
                          (min(a, b), max(a, b)))

    def suggestion_rows_of(self, person_id: int) -> list[dict]:
        return self.query("SELECT * FROM suggestions WHERE person_a = ? OR person_b = ?",
                          (person_id, person_id))

    def restore_suggestions(self, rows: Iterable[dict]) -> None:
        """Suggestions as they were, for the pairs whose people both still exist."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO suggestions(person_a, person_b, score, source, created_at) "
            "SELECT :person_a, :person_b, :score, :source, :created_at "
            "WHERE EXISTS (SELECT 1 FROM people WHERE id = :person_a) "
            "AND EXISTS (SELECT 1 FROM people WHERE id = :person_b)", list(rows))

    def suggestions(self, limit: int = 50) -> list[Suggestion]:
        return [Suggestion((r["person_a"], r["name_a"]), (r["person_b"], r["name_b"]),
                           r["score"], r["source"], (bool(r["named_a"]), bool(r["named_b"])))
                for r in self.query(
            """
            SELECT s.person_a, a.name AS name_a, s.person_b, b.name AS name_b, s.score, s.source,
                   a.named AS named_a, b.named AS named_b
            FROM suggestions s JOIN people a ON a.id = s.person_a JOIN people b ON b.id = s.person_b
            WHERE a.hidden = 0 AND b.hidden = 0
            ORDER BY s.score DESC, s.person_a, s.person_b LIMIT ?
            """, (limit,))]

    # -- the undo log -----------------------------------------------------------

    def log_change(self, kind: str, summary: str, undo: dict) -> None:
        self.conn.execute("INSERT INTO changes(at, kind, summary, undo) VALUES (?, ?, ?, ?)",
                          (now(), kind, summary, json.dumps(undo)))

    def history(self, limit: int = 50) -> list[Change]:
        return [Change(**r) for r in self.query(
            "SELECT id, at, kind, summary, undone_at FROM changes ORDER BY id DESC LIMIT ?",
            (limit,))]

    def last_change(self) -> tuple[Change, dict] | None:
        """The newest change not yet undone, with its undo record."""
        rows = self.query("SELECT id, at, kind, summary, undone_at, undo FROM changes "
                          "WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        undo = json.loads(rows[0].pop("undo"))
        return Change(**rows[0]), undo

    def mark_undone(self, change_id: int) -> None:
        self.conn.execute("UPDATE changes SET undone_at = ? WHERE id = ?", (now(), change_id))

    # -- search -------------------------------------------------------------------

    def search(self, f: SearchFilter) -> list[SearchHit]:
        """Photos matching every criterion: by text rank (bm25), else newest first."""
        filters, params = self._filters(f)
        limit_sql, tail = ("LIMIT ?", [f.limit]) if f.limit else ("", [])
        # One word and no filter but missing photos': the ranked path below filters before
        # it ranks, which people, dates and paths make cheap and the one-word path cannot.
        alone = not (f.person_ids or f.taken_from or f.taken_before or f.path_glob)
        one_word = (self._search_one_word(f, filters, params)
                    if f.word and f.limit and alone else None)
        if one_word is not None:
            rows, line_ids = one_word
        elif f.fts:
            # Rank the newest ranked_lines matching lines (all of them when fewer match, or
            # with no limit): bm25 of every line that holds a very common word costs seconds.
            cap = f.ranked_lines if f.limit else -1
            rows = self.conn.execute(f"""
                WITH lines AS MATERIALIZED (
                    SELECT f.rowid AS id, t.photo_id, bm25(text_lines_fts) AS rank
                    FROM text_lines_fts f JOIN text_lines t ON t.id = f.rowid
                    JOIN photos p ON p.id = t.photo_id
                    WHERE text_lines_fts MATCH ? {filters}
                    ORDER BY f.rowid DESC LIMIT ?)
                SELECT l.photo_id, p.taken_at, json_group_array(l.id) FROM lines l
                JOIN photos p ON p.id = l.photo_id
                GROUP BY l.photo_id ORDER BY min(l.rank), l.photo_id {limit_sql}""",
                [f.fts, *params, cap, *tail]).fetchall()
            line_ids = {pid: json.loads(ids) for pid, _, ids in rows}
        elif f.substring:
            rows = self.conn.execute(f"""
                SELECT p.id, p.taken_at, NULL FROM photos p
                WHERE p.id IN (SELECT photo_id FROM text_lines
                               WHERE instr(lower(text), lower(?)) > 0)
                {filters} ORDER BY p.taken_at DESC, p.id {limit_sql}""",
                [f.substring, *params, *tail]).fetchall()
            line_ids = {pid: [r[0] for r in self.conn.execute(
                "SELECT id FROM text_lines WHERE photo_id = ? AND instr(lower(text), lower(?)) > 0",
                (pid, f.substring))] for pid, _, _ in rows}
        else:
            rows = self.conn.execute(f"""SELECT p.id, p.taken_at, NULL FROM photos p WHERE 1 {filters}
                ORDER BY p.taken_at DESC, p.id {limit_sql}""", [*params, *tail]).fetchall()
            line_ids = {}
        return self._hits([(pid, taken) for pid, taken, _ in rows], line_ids)

    def _search_one_word(self, f: SearchFilter, filters: str, params: list[Any]):
        """One word, ranked in Python instead of by FTS5's bm25(); None: use the SQL path.

        bm25() scans the word's whole doclist once per query to count the lines that
        hold it; for the commonest word of 1,000,000 lines (416,000 of them) that alone
        took 14 ms, and a prefix query ("word"*) merges every matching term's doclist
        before the first row, 14 ms more. With one word that count is a constant factor
        of every score, so the order is bm25's without it. The exact word is tried first:
        when it alone fills the ranked lines, lines with longer words it begins
        (whiteboard -> whiteboards) are not looked at. Missing photos are left out of the
        ranked photos in rank order, a few at a time; when that leaves fewer than the
        limit out of a full set of lines, older lines may hold more, and the SQL path,
        which filters before it ranks, answers instead (as it does for people, dates
        and paths).
        """
        assert f.word is not None and f.score_lines is not None and f.limit
        quoted = '"' + f.word.replace('"', '""') + '"'
        def newest(query: str) -> list[tuple[int, int, str]]:
            return self.conn.execute(
                "SELECT t.id, t.photo_id, t.text FROM text_lines_fts f "
                "JOIN text_lines t ON t.id = f.rowid WHERE text_lines_fts MATCH ? "
                "ORDER BY f.rowid DESC LIMIT ?", (query, f.ranked_lines)).fetchall()

        candidates, prefix = newest(quoted), False
        if len(candidates) < f.ranked_lines:
            candidates, prefix = newest(quoted + "*"), True
        scores = f.score_lines([text for *_, text in candidates], prefix)
        best: dict[int, float] = {}
        lines: dict[int, list[int]] = defaultdict(list)
        for (line_id, photo_id, _), score in zip(candidates, scores, strict=True):
            best[photo_id] = max(best.get(photo_id, score), score)
            lines[photo_id].append(line_id)
        chosen: list[tuple[int, str | None, None]] = []
        ranked = sorted(best, key=lambda pid: (-best[pid], pid))
        step = 2 * f.limit  # the filters, in rank order, on as few photos as it takes
        for start in range(0, len(ranked), step):
            batch = ranked[start: start + step]
            taken = dict(self._in(f"SELECT p.id, p.taken_at FROM photos p WHERE p.id IN "
                                  f"({{ids}}){filters}", batch, params))
            chosen += [(pid, taken[pid], None) for pid in batch if pid in taken]
            if len(chosen) >= f.limit:
                break
        if len(chosen) < min(f.limit, len(ranked)) and len(candidates) == f.ranked_lines:
            return None  # the filters left out photos, and older lines may hold others
        chosen = chosen[: f.limit]
        return chosen, {pid: lines[pid] for pid, _, _ in chosen}

    def search_count(self, f: SearchFilter, lines: int = 5000) -> tuple[int, bool]:
        """How many photos match in all, for saying what a --limit left out; and whether
        that is exact. Text matches are counted over at most `lines` matching lines
        (then: at least that many photos): counting every line of the commonest word of
        1,000,000 took 2.1 s, 5,000 lines take ~20 ms."""
        filters, params = self._filters(f)
        if f.fts:
            photos, seen = self.conn.execute(
                "SELECT count(DISTINCT photo_id), count(*) FROM (SELECT t.photo_id "
                "FROM text_lines_fts f JOIN text_lines t ON t.id = f.rowid "
                f"JOIN photos p ON p.id = t.photo_id WHERE text_lines_fts MATCH ? {filters} "
                "LIMIT ?)", [f.fts, *params, lines]).fetchone()
            return photos, seen < lines
        if f.substring:
            return self.scalar(
                "SELECT count(*) FROM photos p WHERE p.id IN (SELECT photo_id FROM text_lines "
                f"WHERE instr(lower(text), lower(?)) > 0) {filters}",
                [f.substring, *params]), True
        return self.scalar(f"SELECT count(*) FROM photos p WHERE 1 {filters}", params), True

    def _filters(self, f: SearchFilter) -> tuple[str, list[Any]]:
        where: list[str] = []
        params: list[Any] = []
        for pid in f.person_ids:
            where.append("p.id IN (SELECT photo_id FROM faces WHERE person_id = ?)")
            params.append(pid)
        if f.taken_from:
            where.append("p.taken_at >= ?")
            params.append(f.taken_from)
        if f.taken_before:
            where.append("p.taken_at < ?")
            params.append(f.taken_before)
        if f.path_glob:
            where.append("EXISTS (SELECT 1 FROM locations l WHERE l.photo_id = p.id "
                         "AND l.path GLOB ?)")
            params.append(f.path_glob)
        if not f.include_missing:
            where.append("EXISTS (SELECT 1 FROM locations l WHERE l.photo_id = p.id "
                         "AND l.gone_at IS NULL)")
        return "".join(" AND " + w for w in where), params

    def _hits(self, rows: list[tuple[int, str | None]],
              line_ids: dict[int, list[int]]) -> list[SearchHit]:
        """Hydrate search rows with a few batched queries, not queries per hit."""
        ids = [pid for pid, _ in rows]
        photos = {p.id: p for p in self.photos(ids)}
        people: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for photo_id, pid, name in self._in(
                "SELECT DISTINCT f.photo_id, pe.id, pe.name FROM faces f "
                "JOIN people pe ON pe.id = f.person_id "
                "WHERE f.photo_id IN ({ids}) AND pe.hidden = 0 ORDER BY pe.name, pe.id", ids):
            people[photo_id].append((pid, name))
        wanted = [i for lines in line_ids.values() for i in lines]
        texts = dict(self._in("SELECT id, text FROM text_lines WHERE id IN ({ids})", wanted))
        return [SearchHit(pid, photos[pid].path, taken, people.get(pid, []),
                          [texts[i] for i in line_ids.get(pid, []) if i in texts],
                          taken_at_source=photos[pid].taken_at_source,
                          missing=photos[pid].missing)
                for pid, taken in rows]

    def photo_ids(self, under: Sequence[str] = (), person_ids: Sequence[int] = ()) -> list[int]:
        """Photos under any of these paths (all when none), with any of these people."""
        ids: set[int] | None = None
        if under:
            ids = {i for path in under for i in self.photo_ids_under(path)}
        if person_ids:
            with_people = {r[0] for r in self._in(
                "SELECT DISTINCT photo_id FROM faces WHERE person_id IN ({ids})", person_ids)}
            ids = with_people if ids is None else ids & with_people
        if ids is None:
            ids = {r[0] for r in self.conn.execute("SELECT id FROM photos")}
        return sorted(ids)

    def people_on(self, photo_ids: Sequence[int]) -> dict[int, list[tuple[Face, Person]]]:
        """Each photo's faces that belong to someone, with that person."""
        out: dict[int, list[tuple[Face, Person]]] = defaultdict(list)
        for r in self._in(
                'SELECT f.id, f.photo_id, f.person_id, pe.name, f."left", f.top, f.width, '
                "f.height, f.confidence, f.engine_face_id, pe.named, pe.hidden "
                "FROM faces f JOIN people pe ON pe.id = f.person_id "
                "WHERE f.photo_id IN ({ids}) ORDER BY f.photo_id, f.id", photo_ids):
            face = Face(r[0], r[1], r[2], r[3], Box(r[4], r[5], r[6], r[7]), r[8], r[9],
                        bool(r[10]))
            out[r[1]].append((face, Person(r[2], r[3], bool(r[10]), Hidden(r[11]))))
        return out

    def lines_of(self, photo_ids: Sequence[int]) -> dict[int, list[TextLine]]:
        out: dict[int, list[TextLine]] = defaultdict(list)
        for pid, text, conf, x, y, w, h in self._in(
                'SELECT photo_id, text, confidence, "left", top, width, height FROM text_lines '
                "WHERE photo_id IN ({ids}) ORDER BY photo_id, top, \"left\"", photo_ids):
            out[pid].append(TextLine(text, conf, Box(x or 0, y or 0, w or 0, h or 0)))
        return out

    def face_crops_plan(self, person_id: int) -> dict[str, list[Face]]:
        """A person's faces grouped by the path to crop them from (the photo's first path)."""
        faces = self.faces_of_person(person_id)
        paths = self.paths_of(sorted({f.photo_id for f in faces}))
        out: dict[str, list[Face]] = defaultdict(list)
        for f in faces:
            if paths.get(f.photo_id):
                out[paths[f.photo_id][0]].append(f)
        return out


@contextlib.contextmanager
def import_lock(db_path: Path, wait: float = 0.0) -> Iterator[None]:
    """One import per library at a time: a second one waits up to `wait` seconds, then refuses.

    flock is released by the kernel when the process dies, so a kill -9 never
    leaves a stale lock behind.
    """
    lock_path = Path(str(db_path) + ".lock")
    make_folder(lock_path.parent)
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


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


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


def open_existing(path: Path, on_notice: Callable[[str], None] | None = None) -> Catalogue:
    """A library that must exist already (every command but import)."""
    return Catalogue(path, create=False, on_notice=on_notice)


def chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
