"""The catalogue: one SQLite file per library, its schema, migrations, lock, and every query.

Everything photosense knows lives here; engines are stateless apart from
Rekognition's face collection, whose name the catalogue records. All SQL of
the project is in this package, with bound parameters; other modules call the
named methods and get typed records (records.py) back. The methods are split by
the rows they are about, one module a family, over one connection:

- connection.py: opening, transactions, batches, meta
- schema.py: the migrations, appended and never edited
- opening.py: telling a library from another file; SQLite failures explained
- photos.py: photos and their paths, failures, what was forgotten
- faces.py, people.py: faces; people, names, hides, suggestions
- text.py: text lines and search
- places.py: the places photos were taken in (names from places.py)
- saved.py: saved searches, the people they name, what `--new` printed
- privacy.py: forgotten faces, suppression templates, protected photos
- rules.py: faces taken out of people, birth dates, faces suggested to people
- uservectors.py: what each person's user vector in the engine's collection may hold
- runs.py: runs, the engine-call log, counts, the history of corrections
- lock.py: one import at a time

Catalogue, below, is all of them, and holds the few operations that span families.

sqlite-utils earns its place for inserts (`table.insert`, no hand-built column
lists, savepoints inside our transactions) and for an FTS index that its own
tools and Datasette recognise (`sqlite-utils search library.db text_lines WORD`).
It is imported only by commands that write photos or people: importing it costs
~130 ms (it loads numpy and its plugins), more than all of `photosense search`.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from photosense_cli.catalogue.connection import BATCH, Connection, chunks, requires_transaction
from photosense_cli.catalogue.faces import FaceRows
from photosense_cli.catalogue.lock import import_lock
from photosense_cli.catalogue.opening import (
    RESTORE,
    SQLITE_HEADER,
    current_library,
    explain,
    kind_of_file,
)
from photosense_cli.catalogue.people import PeopleRows
from photosense_cli.catalogue.photos import PhotoRows
from photosense_cli.catalogue.places import PlaceRows
from photosense_cli.catalogue.privacy import PrivacyRows
from photosense_cli.catalogue.rules import RuleRows
from photosense_cli.catalogue.runs import RunRows
from photosense_cli.catalogue.saved import SavedRows
from photosense_cli.catalogue.schema import (
    APPLICATION_ID,
    MIGRATIONS,
    PHOTO_TEXT,
    PHOTO_TEXT_OBJECTS,
    SCHEMA_VERSION,
    now,
    split_statements,
)
from photosense_cli.catalogue.text import SearchFilter, TextRows
from photosense_cli.catalogue.uservectors import UserRow, UserVectorRows
from photosense_cli.errors import PhotosenseError
from photosense_cli.records import Box, Face, Person, PersonDetails, PhotoDetails, TextLine

__all__ = ["APPLICATION_ID", "BATCH", "MIGRATIONS", "RESTORE", "SCHEMA_VERSION", "SQLITE_HEADER",
           "Catalogue", "SearchFilter", "UserRow", "chunks", "current_library", "explain", "import_lock",
           "now", "open_existing", "requires_transaction"]


class Catalogue(UserVectorRows, RuleRows, PrivacyRows, SavedRows, PlaceRows, RunRows, TextRows,
                FaceRows, PeopleRows, PhotoRows, Connection):
    """A library file: every row family over one connection, and what spans them."""

    def repair(self) -> dict:
        """Rebuild the text index from the lines, recount each person's faces and photos,
        then check the whole file."""
        with self.transaction():
            self.conn.execute("INSERT INTO text_lines_fts(text_lines_fts) VALUES ('rebuild')")
            # each photo's text again from its lines, and the two indexes over it
            for kind, name in (o.split() for o in PHOTO_TEXT_OBJECTS):
                self.conn.execute(f"DROP {kind} IF EXISTS {name}")
            for statement in split_statements(PHOTO_TEXT):
                self.conn.execute(statement)
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
        import tempfile

        from photosense_cli.files import target_of

        dest = Path(dest).expanduser()
        if dest.is_dir():
            dest = dest / f"library-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.db"
        target = target_of(dest, self.protected())
        if target.exists() and kind_of_file(target) == "foreign":
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

    @requires_transaction
    def forget_photos(self, photo_ids: Sequence[int]) -> int:
        """Delete photos (faces, lines, paths cascade) and remember their content; the caller
        holds a transaction. Returns the number of people left without a face and removed."""
        for chunk in chunks(list(photo_ids)):
            marks = ",".join("?" * len(chunk))
            self.conn.execute(
                f"INSERT OR IGNORE INTO forgotten(sha256, at) "
                f"SELECT sha256, ? FROM photos WHERE id IN ({marks})", (now(), *chunk))
            self.conn.execute(f"DELETE FROM photos WHERE id IN ({marks})", chunk)
        return self.delete_faceless_people()

    @requires_transaction
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

    def photo_details(self, photo_id: int) -> PhotoDetails:
        photo = self.photos([photo_id])[0]
        faces = self._faces("WHERE f.photo_id = ? ORDER BY f.left", (photo_id,))
        text = [TextLine(r["text"], r["confidence"],
                         Box(r["left"] or 0, r["top"] or 0, r["width"] or 0, r["height"] or 0))
                for r in self.query('SELECT text, confidence, "left", top, width, height '
                                    "FROM text_lines WHERE photo_id = ? ORDER BY top, left",
                                    (photo_id,))]
        return PhotoDetails(photo, faces, text, self.xmp_regions(photo_id))

    def person_details(self, person: Person, include_missing: bool = False) -> PersonDetails:
        ids = [r[0] for r in self.conn.execute(
            "SELECT id FROM photos WHERE id IN (SELECT photo_id FROM faces WHERE person_id = ?) "
            "ORDER BY taken_at, id", (person.id,))]
        photos = [p for p in self.photos(ids) if include_missing or not p.missing]
        shown = {p.id for p in photos}
        faces = [f for f in self.faces_of_person(person.id) if f.photo_id in shown]
        return PersonDetails(person, photos, faces, self.name_hints(person.id),
                             self.born(person.id))

    def face_crops_plan(self, person_id: int) -> dict[str, list[Face]]:
        """A person's faces grouped by the path to crop them from (the photo's first path)."""
        faces = self.faces_of_person(person_id)
        paths = self.paths_of(sorted({f.photo_id for f in faces}))
        out: dict[str, list[Face]] = defaultdict(list)
        for f in faces:
            if paths.get(f.photo_id):
                out[paths[f.photo_id][0]].append(f)
        return out


def open_existing(path: Path, on_notice: Callable[[str], None] | None = None) -> Catalogue:
    """A library that must exist already (every command but import)."""
    return Catalogue(path, create=False, on_notice=on_notice)
