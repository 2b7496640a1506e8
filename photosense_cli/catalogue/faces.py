"""Faces: where they are, whose they are, and the engine's ids for them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

from photosense_cli.catalogue.connection import Connection, chunks
from photosense_cli.records import (
    HIDDEN,
    Box,
    Face,
    Person,
)


class FaceRows(Connection):
    """Faces and the engine's ids for them."""

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

    def engine_face_ids(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT engine_face_id FROM faces")}

    def people_of_engine_faces(self, engine_face_ids: list[str]) -> dict[str, int]:
        """engine face id -> person id, for faces the catalogue has and that belong to someone."""
        return dict(self._in("SELECT engine_face_id, person_id FROM faces "
                             "WHERE engine_face_id IN ({ids}) AND person_id IS NOT NULL",
                             engine_face_ids))

    def known_faces(self, engine: str | None = None) -> Iterator[tuple[str, bytes]]:
        """(engine face id, descriptor) of faces with a descriptor, of one engine's photos if given.

        When every photo is on that engine (all but a reindex under way), the faces are
        read without the join: at 3,000,000 faces the join's lookup of each face's photo
        took 10.3 s of an import's start, the faces alone 2.1 s (scale_bench.py --matrix).
        """
        if engine is None or self.scalar(
                "SELECT NOT EXISTS (SELECT 1 FROM photos WHERE engine IS NOT ?)", (engine,)):
            yield from self.conn.execute(
                "SELECT engine_face_id, descriptor FROM faces WHERE descriptor IS NOT NULL")
        else:
            yield from self.conn.execute(
                "SELECT f.engine_face_id, f.descriptor FROM faces f JOIN photos p "
                "ON p.id = f.photo_id WHERE p.engine = ? AND f.descriptor IS NOT NULL", (engine,))

    def count_descriptors(self) -> int:
        """Faces with a descriptor, of any engine (the partial index faces_with_descriptor)."""
        return int(self.scalar("SELECT count(*) FROM faces WHERE descriptor IS NOT NULL"))

    def engine_face_ids_of_photos(self, photo_ids: Sequence[int]) -> list[str]:
        return [r[0] for r in self._in(
            "SELECT engine_face_id FROM faces WHERE photo_id IN ({ids})", photo_ids)]

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

    def face(self, face_id: int) -> Face | None:
        found = self._faces("WHERE f.id = ?", (face_id,))
        return found[0] if found else None

    def faces_of_person(self, person_id: int) -> list[Face]:
        return self._faces("WHERE f.person_id = ? ORDER BY f.photo_id, f.id", (person_id,))

    def clearest_faces(self, person_id: int, limit: int) -> list[Face]:
        """A person's largest faces first, then the engine's most confident: the ones a
        user recognises at a glance (the review's grid, its sheets)."""
        return self._faces("WHERE f.person_id = ? ORDER BY (f.width * f.height) DESC, "
                           "f.confidence DESC, f.id LIMIT ?", (person_id, limit))

    def faces_on(self, photo_ids: Sequence[int]) -> dict[int, list[Face]]:
        """Every face on each photo, whoever's: one decode of a photo crops them all."""
        out: dict[int, list[Face]] = defaultdict(list)
        for chunk in chunks(list(photo_ids)):
            for f in self._faces(f"WHERE f.photo_id IN ({','.join('?' * len(chunk))}) "
                                 "ORDER BY f.id", chunk):
                out[f.photo_id].append(f)
        return out

    def dates_of_person(self, person_id: int) -> tuple[str | None, str | None]:
        row = self.conn.execute(
            "SELECT min(p.taken_at), max(p.taken_at) FROM faces f JOIN photos p "
            "ON p.id = f.photo_id WHERE f.person_id = ?", (person_id,)).fetchone()
        return row[0], row[1]

    def face_ids_of_person(self, person_id: int) -> list[int]:
        return [r[0] for r in self.conn.execute("SELECT id FROM faces WHERE person_id = ?",
                                                (person_id,))]

    def best_engine_faces(self, person_id: int, limit: int) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT engine_face_id FROM faces WHERE person_id = ? ORDER BY confidence DESC LIMIT ?",
            (person_id, limit))]

    def assign_faces(self, face_ids: Sequence[int], person_id: int | None) -> None:
        for chunk in chunks(list(face_ids)):
            self.conn.execute(
                f"UPDATE faces SET person_id = ? WHERE id IN ({','.join('?' * len(chunk))})",
                (person_id, *chunk))

    def move_all_faces(self, from_person: int, to_person: int) -> None:
        self.conn.execute("UPDATE faces SET person_id = ? WHERE person_id = ?",
                          (to_person, from_person))

    def person_of_face(self, face_id: int) -> int | None:
        return self.scalar("SELECT person_id FROM faces WHERE id = ?", (face_id,))

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
            out[r[1]].append((face, Person(r[2], r[3], bool(r[10]), HIDDEN[r[11]])))
        return out

    def existing_faces(self, face_ids: Sequence[int]) -> list[int]:
        return [r[0] for r in self._in("SELECT id FROM faces WHERE id IN ({ids})", face_ids)]
