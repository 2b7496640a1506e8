"""The rules' rows: faces taken out of people, birth dates, faces suggested to people."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from photosense_cli.catalogue.connection import Connection
from photosense_cli.catalogue.schema import now
from photosense_cli.geometry import same_face
from photosense_cli.records import Box, FaceSuggestion

# The day a photo was taken, when the camera recorded it (EXIF), else NULL.
CAMERA_DAY = "CASE WHEN taken_at_source = 'exif' THEN substr(taken_at, 1, 10) END"


class RuleRows(Connection):
    """face_rejections, people.born, face_suggestions (migration 20)."""

    # -- rejections: a face (photo content hash and box) is not this person ----------------

    def _face_place(self, face_id: int) -> tuple[str, Box] | None:
        """Where a face is, as a rejection remembers it: its photo's content hash and box."""
        rows = self.query('SELECT p.sha256, f."left", f.top, f.width, f.height FROM faces f '
                          "JOIN photos p ON p.id = f.photo_id WHERE f.id = ?", (face_id,))
        if not rows:
            return None
        r = rows[0]
        return r["sha256"], Box(r["left"], r["top"], r["width"], r["height"])

    def reject_face(self, face_id: int, person_id: int) -> int | None:
        """Remember that a face is not this person; the new row's id for undo (None when
        the face or the person is gone, or the rejection was there already)."""
        place = self._face_place(face_id)
        if place is None or not self.scalar("SELECT 1 FROM people WHERE id = ?", (person_id,)):
            return None
        if self.rejections_of(face_id, person_id):
            return None
        sha, box = place
        cur = self.conn.execute(
            'INSERT INTO face_rejections(sha256, "left", top, width, height, person_id, at) '
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (sha, *box.as_tuple(), person_id, now()))
        self.conn.execute("DELETE FROM face_suggestions WHERE face_id = ? AND person_id = ?",
                          (face_id, person_id))
        return cur.lastrowid

    def rejections_of(self, face_id: int, person_id: int) -> list[dict]:
        """The rejection rows that keep this face from this person."""
        place = self._face_place(face_id)
        if place is None:
            return []
        sha, box = place
        return [r for r in self.query(
            "SELECT * FROM face_rejections WHERE sha256 = ? AND person_id = ?", (sha, person_id))
            if same_face(Box(r["left"], r["top"], r["width"], r["height"]), box)]

    def unreject_faces(self, ids: Iterable[int]) -> None:
        self.conn.executemany("DELETE FROM face_rejections WHERE id = ?", [(i,) for i in ids])

    def rejection_rows(self, person_id: int) -> list[dict]:
        return self.query("SELECT * FROM face_rejections WHERE person_id = ?", (person_id,))

    def restore_rejections(self, rows: Sequence[dict]) -> None:
        """Rejections as an undo kept them, for the people that still exist."""
        self.conn.executemany(
            'INSERT OR REPLACE INTO face_rejections(id, sha256, "left", top, width, height, '
            "person_id, at) SELECT :id, :sha256, :left, :top, :width, :height, :person_id, :at "
            "WHERE EXISTS (SELECT 1 FROM people WHERE id = :person_id)", list(rows))

    def move_rejections(self, source: int, target: int) -> list[int]:
        """A merge: what was rejected from the source is rejected from the person it became;
        returns the rows moved, for undo."""
        ids = [r["id"] for r in self.query(
            "SELECT id FROM face_rejections WHERE person_id = ?", (source,))]
        self.conn.execute("UPDATE face_rejections SET person_id = ? WHERE person_id = ?",
                          (target, source))
        return ids

    def move_rejections_back(self, ids: Sequence[int], person_id: int) -> None:
        self.conn.executemany("UPDATE face_rejections SET person_id = ? WHERE id = ?",
                              [(person_id, i) for i in ids])

    def rejections_in(self, sha256: str) -> list[tuple[Box, int]]:
        """(box, person) of every face rejection in one photo."""
        return [(Box(r["left"], r["top"], r["width"], r["height"]), r["person_id"])
                for r in self.query('SELECT "left", top, width, height, person_id '
                                    "FROM face_rejections WHERE sha256 = ?", (sha256,))]

    def ruled_out_faces(self, person_id: int) -> list[int]:
        """The person's faces a rule keeps from them: rejected from them, or from a photo
        the camera dated before their birth date (after a merge brought them in)."""
        born = self.born(person_id)
        out = set(self.faces_before(person_id, born)) if born else set()
        rejected: dict[str, list[Box]] = {}
        for r in self.rejection_rows(person_id):
            rejected.setdefault(r["sha256"], []).append(
                Box(r["left"], r["top"], r["width"], r["height"]))
        if rejected:
            marks = ",".join("?" * len(rejected))
            for r in self.query(
                    f'SELECT f.id, p.sha256, f."left", f.top, f.width, f.height FROM faces f '
                    f"JOIN photos p ON p.id = f.photo_id WHERE f.person_id = ? "
                    f"AND p.sha256 IN ({marks})", [person_id, *rejected]):
                box = Box(r["left"], r["top"], r["width"], r["height"])
                if any(same_face(b, box) for b in rejected[r["sha256"]]):
                    out.add(r["id"])
        return sorted(out)

    # -- birth dates ---------------------------------------------------------------------

    def set_born(self, person_id: int, born: str | None) -> None:
        self.conn.execute("UPDATE people SET born = ? WHERE id = ?", (born, person_id))

    def born(self, person_id: int) -> str | None:
        return self.scalar("SELECT born FROM people WHERE id = ?", (person_id,))

    def born_of(self, person_ids: Iterable[int]) -> dict[int, str]:
        ids = list(person_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        return {r["id"]: r["born"] for r in self.query(
            f"SELECT id, born FROM people WHERE born IS NOT NULL AND id IN ({marks})", ids)}

    def faces_before(self, person_id: int, day: str) -> list[int]:
        """The person's faces from photos taken before a day (YYYY-MM-DD). Only a date the
        camera recorded counts: a file's date says when it was copied or scanned."""
        return [r["id"] for r in self.query(
            f"SELECT f.id FROM faces f JOIN photos p ON p.id = f.photo_id "
            f"WHERE f.person_id = ? AND {CAMERA_DAY} < ? ORDER BY f.id", (person_id, day))]

    def photo_rule_facts(self, photo_id: int) -> tuple[str, str | None]:
        """(content hash, day taken or None) of a photo: what the rules ask of it."""
        r = self.query(f"SELECT sha256, {CAMERA_DAY} AS day FROM photos WHERE id = ?",
                       (photo_id,))[0]
        return r["sha256"], r["day"]

    def descriptors_by_date(self, person_id: int) -> list[tuple[int, bytes | None]]:
        """(face id, descriptor) of a person's faces, oldest photo first (undated last)."""
        return [(r["id"], r["descriptor"]) for r in self.query(
            "SELECT f.id, f.descriptor FROM faces f JOIN photos p ON p.id = f.photo_id "
            "WHERE f.person_id = ? ORDER BY p.taken_at IS NULL, p.taken_at, f.id",
            (person_id,))]

    # -- face suggestions: "is this Ada?" --------------------------------------------------

    def suggest_face(self, face_id: int, person_id: int, score: float) -> None:
        """Queue a face for a person; a face keeps its best suggestion only."""
        self.conn.execute(
            "INSERT INTO face_suggestions(face_id, person_id, score, created_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(face_id) DO UPDATE SET person_id = excluded.person_id, "
            "score = excluded.score WHERE excluded.score > face_suggestions.score",
            (face_id, person_id, score, now()))

    def face_suggestion_rows_of_photo(self, photo_id: int) -> dict[int, dict]:
        """face id -> its queued suggestion, for a photo about to be analysed again."""
        return {r["face_id"]: r for r in self.query(
            "SELECT s.* FROM face_suggestions s JOIN faces f ON f.id = s.face_id "
            "WHERE f.photo_id = ?", (photo_id,))}

    def drop_face_suggestion(self, face_id: int) -> list[dict]:
        rows = self.query("SELECT * FROM face_suggestions WHERE face_id = ?", (face_id,))
        self.conn.execute("DELETE FROM face_suggestions WHERE face_id = ?", (face_id,))
        return rows

    def restore_face_suggestions(self, rows: Sequence[dict]) -> None:
        """Suggestions as an undo kept them: each face's as it was (a merge repointed it)."""
        self.conn.executemany(
            "INSERT OR REPLACE INTO face_suggestions(face_id, person_id, score, created_at) "
            "SELECT :face_id, :person_id, :score, :created_at "
            "WHERE EXISTS (SELECT 1 FROM faces WHERE id = :face_id) "
            "AND EXISTS (SELECT 1 FROM people WHERE id = :person_id)", list(rows))

    def repoint_face_suggestions(self, source: int, target: int) -> list[dict]:
        """A merge: faces suggested to the source are suggested to the person it became
        (none of the target's own faces); returns the rows as they were, for undo."""
        # what is repointed, and what the merge answers (faces now in the person they were
        # suggested to): both come back on undo
        rows = self.query(
            "SELECT * FROM face_suggestions WHERE person_id = ? OR (person_id = ? AND face_id "
            "IN (SELECT id FROM faces WHERE person_id = ?))", (source, target, target))
        self.conn.execute(
            "UPDATE OR REPLACE face_suggestions SET person_id = ? WHERE person_id = ?",
            (target, source))
        self.conn.execute(
            "DELETE FROM face_suggestions WHERE person_id = ? AND face_id IN "
            "(SELECT id FROM faces WHERE person_id = ?)", (target, target))
        return rows

    def face_suggestion(self, face_id: int) -> FaceSuggestion | None:
        found = self.face_suggestions(face_id=face_id)
        return found[0] if found else None

    def face_suggestions(self, limit: int = 50, *, face_id: int | None = None,
                         people: tuple[int, int] | None = None) -> list[FaceSuggestion]:
        """Queued faces, best first; a face already in the suggested person is not one, and
        neither is one where either person is hidden (as pair suggestions leave them out:
        a tiny face in a crowd, or someone the user hid, is not worth a question)."""
        where, args = "", []
        if face_id is not None:
            where, args = "AND s.face_id = ?", [face_id]
        elif people is not None:
            where, args = "AND s.person_id IN (?, ?) AND f.person_id IN (?, ?)", [*people, *people]
        rows = self.query(
            f"""
            SELECT s.face_id, s.score, s.created_at, f.photo_id, f.person_id AS now_id,
                   n.name AS now_name, n.named AS now_named, s.person_id, pe.name, pe.named,
                   (SELECT path FROM locations l WHERE l.photo_id = f.photo_id
                    AND l.gone_at IS NULL ORDER BY l.id LIMIT 1) AS path
            FROM face_suggestions s JOIN faces f ON f.id = s.face_id
            JOIN people pe ON pe.id = s.person_id LEFT JOIN people n ON n.id = f.person_id
            WHERE f.person_id IS NOT s.person_id AND pe.hidden = 0
              AND coalesce(n.hidden, 0) = 0 {where}
            ORDER BY s.score DESC, s.face_id LIMIT ?
            """, [*args, limit])
        return [FaceSuggestion(r["face_id"], r["photo_id"], r["path"],
                               (r["now_id"], r["now_name"], bool(r["now_named"])),
                               (r["person_id"], r["name"], bool(r["named"])), r["score"])
                for r in rows]

    def face_suggestions_between(self, a: int, b: int) -> list[FaceSuggestion]:
        """Faces of either person suggested to the other."""
        return self.face_suggestions(10_000, people=(a, b))

    def count_face_suggestions(self) -> int:
        return self.scalar(
            "SELECT count(*) FROM face_suggestions s JOIN faces f ON f.id = s.face_id "
            "JOIN people pe ON pe.id = s.person_id LEFT JOIN people n ON n.id = f.person_id "
            "WHERE f.person_id IS NOT s.person_id AND pe.hidden = 0 "
            "AND coalesce(n.hidden, 0) = 0") or 0
