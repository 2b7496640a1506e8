"""One connection to the library file, shared by every row family: transactions, bound
queries in batches, the meta table."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from photosense_cli.catalogue.opening import _kind, _looks_like_sqlite, current_library, explain
from photosense_cli.catalogue.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, now, split_statements
from photosense_cli.errors import PhotosenseError
from photosense_cli.files import make_folder
from photosense_cli.gps import km_between

# SQLite's default limit on bound parameters was 999 before 3.32; 500 ids a statement
# stays under it with room for the other parameters of a query.
BATCH = 500


def chunks(items: list, size: int = BATCH) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def requires_transaction(method):
    """For methods whose caller must hold a transaction: checked, not only said."""
    import functools

    @functools.wraps(method)
    def checked(self, *args, **kwargs):
        if not self.conn.in_transaction:
            raise RuntimeError(f"{method.__name__} needs a transaction (cat.transaction())")
        return method(self, *args, **kwargs)

    return checked


def _wal(conn: sqlite3.Connection) -> None:
    """WAL mode, waiting while another process makes the same new file.

    Six imports starting at once on a new library, under load (another test suite
    running): this pragma raised "database is locked" at once, without waiting on the
    busy timeout, in 2 of 45 trials of tests/test_processes.py; with these 0.1 s waits
    (up to 10 s) none failed in 60 trials."""
    import time

    for attempt in range(100):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e).lower() or attempt == 99:
                raise
            time.sleep(0.1)


class Connection:
    """A library file, opened and migrated: what every row family works through."""

    # photos with no live path: moved away or deleted since they were imported
    _MISSING = ("FROM photos p WHERE NOT EXISTS (SELECT 1 FROM locations l "
                "WHERE l.photo_id = p.id AND l.gone_at IS NULL)")

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
        _wal(conn)
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA synchronous=NORMAL")
        # --near: the great-circle distance, in Python (SQLite's math functions are a
        # compile-time option that not every Python's SQLite has)
        conn.create_function("photosense_km", 4, km_between, deterministic=True)
        self.conn = conn
        self._migrate()

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
                    for statement in split_statements(step):
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
        for chunk in chunks(list(ids)):
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
