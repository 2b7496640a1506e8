"""Biometric privacy: faces erased for good, suppression templates, folder protection."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from photosense_cli.catalogue.connection import Connection, requires_transaction
from photosense_cli.catalogue.schema import now
from photosense_cli.records import Box, Face, SuppressionTemplate

# What a local template is called in an engine's in-process index: never a real face id
# (those are uuid4 hex strings), and never a catalogue face.
LOCAL_TEMPLATE = "suppress-{}"


class PrivacyRows(Connection):
    """Forgotten faces (content hash and box), suppression templates, protected photos."""

    # -- forgotten faces ------------------------------------------------------------

    def forgotten_boxes(self) -> dict[str, list[tuple[Box, int | None]]]:
        """Photo content hash -> the boxes of the faces forgotten in it, each with the
        template it feeds (--never-again) or None. Read once a run: one row a forgotten
        face, a few thousand at most."""
        out: dict[str, list[tuple[Box, int | None]]] = {}
        for r in self.query('SELECT sha256, "left", top, width, height, template_id '
                            "FROM forgotten_faces"):
            sha, template = r.pop("sha256"), r.pop("template_id")
            out.setdefault(sha, []).append((Box(**r), template))
        return out

    def remember_forgotten_boxes(self, sha256: str, boxes: Sequence[Box],
                                 template_id: int | None = None) -> None:
        self.conn.executemany(
            'INSERT INTO forgotten_faces(sha256, "left", top, width, height, template_id, at) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(sha256, b.left, b.top, b.width, b.height, template_id, now()) for b in boxes])

    def count_forgotten_faces(self) -> int:
        return self.scalar("SELECT count(*) FROM forgotten_faces")

    def descriptors_of_person(self, person_id: int) -> list[bytes]:
        return [r[0] for r in self.conn.execute(
            "SELECT descriptor FROM faces WHERE person_id = ? AND descriptor IS NOT NULL",
            (person_id,))]

    @requires_transaction
    def erase_person(self, person_id: int, faces: Sequence[Face], hashes: dict[int, str],
                     template_id: int | None = None) -> dict[str, int]:
        """Delete a person and every row about them, remembering each face by its photo's
        hash and box only; the caller holds a transaction. Returns what each table lost."""
        for f in faces:
            self.remember_forgotten_boxes(hashes[f.photo_id], [f.box], template_id)
        counts = {
            "suggestions": self.scalar(
                "SELECT count(*) FROM suggestions WHERE ? IN (person_a, person_b)", (person_id,)),
            "rejections": self.scalar(
                "SELECT count(*) FROM rejected_pairs WHERE ? IN (person_a, person_b)",
                (person_id,)),
            "name_hints": self.scalar("SELECT count(*) FROM name_hints WHERE person_id = ?",
                                      (person_id,)),
        }
        name, named = self.conn.execute("SELECT name, named FROM people WHERE id = ?",
                                        (person_id,)).fetchone()
        # names other tools wrote over no detected face, copied here from sidecars
        counts["metadata_names"] = self.conn.execute(
            "DELETE FROM xmp_regions WHERE name = ? COLLATE NOCASE", (name,)).rowcount if named else 0
        # a saved search keeps the name a gone person had; a forgotten one's goes too
        self.conn.execute("UPDATE saved_search_people SET person_id = NULL, "
                          "name = 'a forgotten person' WHERE person_id = ?", (person_id,))
        counts["faces"] = self.conn.execute("DELETE FROM faces WHERE person_id = ?",
                                            (person_id,)).rowcount
        self.conn.execute("DELETE FROM people WHERE id = ?", (person_id,))  # the rest cascades
        return counts

    def faces_left(self, person_id: int, engine_face_ids: Sequence[str]) -> int:
        """Rows that still hold a forgotten person's faces: counted again after the erasing."""
        rows = self.scalar("SELECT count(*) FROM faces WHERE person_id = ?", (person_id,))
        rows += sum(r[0] for r in self._in(
            "SELECT count(*) FROM faces WHERE engine_face_id IN ({ids})", engine_face_ids))
        return rows + self.scalar("SELECT count(*) FROM people WHERE id = ?", (person_id,))

    # -- the history's copies ---------------------------------------------------------

    def changes_with_undo(self) -> Iterator[tuple[int, str, dict]]:
        for change_id, kind, undo in self.conn.execute("SELECT id, kind, undo FROM changes"):
            yield change_id, kind, json.loads(undo)

    def rewrite_change(self, change_id: int, undo: dict, summary: str | None = None) -> None:
        if summary is None:
            self.conn.execute("UPDATE changes SET undo = ? WHERE id = ?",
                              (json.dumps(undo), change_id))
        else:
            self.conn.execute("UPDATE changes SET undo = ?, summary = ? WHERE id = ?",
                              (json.dumps(undo), summary, change_id))

    def restorable_rows(self) -> list[tuple[str, list[dict]]]:
        return [(sha, json.loads(faces))
                for sha, faces in self.conn.execute("SELECT sha256, faces FROM restorable")]

    def set_restorable(self, sha256: str, faces: list[dict]) -> None:
        self.conn.execute("UPDATE restorable SET faces = ? WHERE sha256 = ?",
                          (json.dumps(faces), sha256))

    def overwrite_freed_pages(self) -> bool:
        """Deleted rows linger in free pages and in the write-ahead log until overwritten:
        secure_delete zeroes what later deletes free, VACUUM-free; the checkpoint moves the
        log into the file and truncates it. False when a reader kept the log in use."""
        busy, _, _ = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        return not busy

    def secure_delete(self) -> None:
        self.conn.execute("PRAGMA secure_delete = ON")

    # -- suppression templates ----------------------------------------------------------

    @requires_transaction
    def add_template(self, label: str | None, engine: str, descriptor: bytes | None,
                     faces: int, engine_face_ids: Sequence[str]) -> int:
        """A template of faces kept in a cloud collection, or of one descriptor (local)."""
        table = self.db.table("suppression_templates")
        table.insert({"label": label, "engine": engine, "faces": faces, "created_at": now()})
        template_id = table.last_rowid
        assert template_id is not None
        if descriptor is not None:
            self.add_template_face(template_id, engine, LOCAL_TEMPLATE.format(template_id),
                                   descriptor)
        for face_id in engine_face_ids:
            self.add_template_face(template_id, engine, face_id, None)
        return template_id

    @requires_transaction
    def add_template_face(self, template_id: int, engine: str, face_id: str,
                          descriptor: bytes | None, most: int = 0) -> bool:
        """Give a template one more face on `engine`; a template made on another engine
        moves to this one, its old faces dropped (the old collection goes with the
        switch). False when it has `most` faces here already (0: no limit)."""
        old = self.scalar("SELECT engine FROM suppression_templates WHERE id = ?",
                          (template_id,))
        if old is None:
            return False
        if old != engine:
            self.conn.execute("DELETE FROM suppression_faces WHERE template_id = ?",
                              (template_id,))
            self.conn.execute("UPDATE suppression_templates SET engine = ? WHERE id = ?",
                              (engine, template_id))
        elif most and self.scalar("SELECT count(*) FROM suppression_faces "
                                  "WHERE template_id = ?", (template_id,)) >= most:
            return False
        self.conn.execute("INSERT OR IGNORE INTO suppression_faces(engine_face_id, template_id, "
                          "descriptor) VALUES (?, ?, ?)", (face_id, template_id, descriptor))
        return True

    def templates(self) -> list[SuppressionTemplate]:
        return [SuppressionTemplate(r["id"], r["label"], r["engine"], r["faces"],
                                    r["kept"], r["created_at"])
                for r in self.query(
                    "SELECT t.id, t.label, t.engine, t.faces, t.created_at, "
                    "(SELECT count(*) FROM suppression_faces s WHERE s.template_id = t.id "
                    " AND s.descriptor IS NULL) AS kept "
                    "FROM suppression_templates t ORDER BY t.id")]

    def template_sizes(self) -> dict[int, int]:
        return dict(self.conn.execute("SELECT template_id, count(*) FROM suppression_faces "
                                      "GROUP BY template_id").fetchall())

    def template_engines(self) -> dict[int, str]:
        return dict(self.conn.execute("SELECT id, engine FROM suppression_templates").fetchall())

    def template_face_ids(self, engine: str) -> set[str]:
        """The ids a new face's matches are checked against: a match to one suppresses it."""
        return {r[0] for r in self.conn.execute(
            "SELECT s.engine_face_id FROM suppression_faces s JOIN suppression_templates t "
            "ON t.id = s.template_id WHERE t.engine = ?", (engine,))}

    def template_descriptors(self, engine: str) -> list[tuple[str, bytes]]:
        """(index id, descriptor) of the local templates' faces, to prime the engine."""
        return list(self.conn.execute(
            "SELECT s.engine_face_id, s.descriptor FROM suppression_faces s "
            "JOIN suppression_templates t ON t.id = s.template_id "
            "WHERE t.engine = ? AND s.descriptor IS NOT NULL", (engine,)))

    def template_faces(self, template_id: int) -> list[str]:
        """A template's faces in a cloud collection (none for descriptors)."""
        return [r[0] for r in self.conn.execute(
            "SELECT engine_face_id FROM suppression_faces WHERE template_id = ? "
            "AND descriptor IS NULL", (template_id,))]

    @requires_transaction
    def remove_template(self, template_id: int) -> None:
        self.conn.execute("DELETE FROM suppression_templates WHERE id = ?", (template_id,))

    # -- protected photos --------------------------------------------------------------

    @requires_transaction
    def protect(self, photo_id: int, protection: str | None) -> None:
        self.conn.execute("UPDATE photos SET protection = ? WHERE id = ?",
                          (protection, photo_id))

    @requires_transaction
    def delete_faces_of_photo(self, photo_id: int) -> None:
        self.conn.execute("DELETE FROM faces WHERE photo_id = ?", (photo_id,))

    def protection_marks(self) -> dict[int, str]:
        return dict(self.conn.execute(
            "SELECT id, protection FROM photos WHERE protection IS NOT NULL").fetchall())

    def drop_templates_of(self, engine: str) -> int:
        """Templates whose faces lived in a collection a reindex switched away from."""
        with self.transaction():
            return self.conn.execute(
                "DELETE FROM suppression_templates WHERE engine = ? AND EXISTS (SELECT 1 "
                "FROM suppression_faces s WHERE s.template_id = suppression_templates.id "
                "AND s.descriptor IS NULL)", (engine,)).rowcount

    def count_protected(self) -> dict[str, int]:
        return dict(self.conn.execute(
            "SELECT protection, count(*) FROM photos WHERE protection IS NOT NULL "
            "GROUP BY protection").fetchall())

    # -- files photosense wrote that hold faces -----------------------------------------

    def record_face_file(self, path: str, kind: str, sha256: str | None,
                         people: Sequence[int], faces: Sequence[int]) -> None:
        """A crop, sheet or sidecar written (sha256 None: one that no longer names anyone)."""
        with self.transaction():
            if sha256 is None:
                self.conn.execute("DELETE FROM face_files WHERE path = ?", (path,))
                return
            self.conn.execute(
                "INSERT OR REPLACE INTO face_files(path, kind, sha256, people, faces, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (path, kind, sha256, json.dumps(sorted(set(people))),
                 json.dumps(sorted(set(faces))), now()))

    def face_files(self) -> list[dict]:
        return [{**r, "people": json.loads(r["people"]), "faces": json.loads(r["faces"])}
                for r in self.query("SELECT path, kind, sha256, people, faces FROM face_files "
                                    "ORDER BY path")]

    def drop_face_file(self, path: str) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM face_files WHERE path = ?", (path,))

    def biometric_counts(self) -> dict[str, int]:
        return {
            "faces": self.scalar("SELECT count(*) FROM faces"),
            "descriptors": self.scalar("SELECT count(*) FROM faces WHERE descriptor IS NOT NULL"),
            "people_named": self.scalar("SELECT count(*) FROM people WHERE named = 1"),
            "forgotten_faces": self.count_forgotten_faces(),
            "suppression_templates": self.scalar("SELECT count(*) FROM suppression_templates"),
        }
