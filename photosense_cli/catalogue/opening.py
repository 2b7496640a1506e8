"""Opening a library file: telling a photosense library from someone else's file, and
saying what a SQLite failure means for the user's library and what to do about it."""

from __future__ import annotations

import contextvars
import sqlite3
from pathlib import Path

from photosense_cli import errors
from photosense_cli.catalogue.schema import APPLICATION_ID
from photosense_cli.errors import LibraryDamaged, PhotosenseError

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


def kind_of_file(path: Path) -> str:
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
