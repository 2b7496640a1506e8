"""People: names, hides, covers, counts kept by triggers, suggestions and rejections, and
the names other tools wrote (name hints, XMP regions)."""

from __future__ import annotations

from collections.abc import Iterable

from photosense_cli.catalogue.connection import Connection, requires_transaction
from photosense_cli.catalogue.schema import now
from photosense_cli.records import (
    HIDDEN,
    Box,
    Hidden,
    Person,
    Suggestion,
)

# Every Person read carries its counts (kept by triggers): a record with faces=0 for a
# person who has faces once told the review "Ada is person 4 (0 faces)".
WITH_COUNTS = "*, photo_count AS photos, face_count AS faces"


class PeopleRows(Connection):
    """People, their names and hides, and suggestions."""

    @staticmethod
    def _person(r: dict) -> Person:
        return Person(r["id"], r["name"], bool(r["named"]), HIDDEN[r["hidden"]],
                      r.get("cover_face_id"), r.get("photos", 0), r.get("faces", 0),
                      r.get("sample"), r.get("name_source"))

    def person(self, person_id: int) -> Person | None:
        rows = self.query(f"SELECT {WITH_COUNTS} FROM people WHERE id = ?", (person_id,))
        return self._person(rows[0]) if rows else None

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
            f"SELECT {WITH_COUNTS} FROM people WHERE name = ? COLLATE NOCASE ORDER BY id",
            (name,))]

    def people_name_contains(self, text: str, limit: int = 10) -> list[Person]:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return [self._person(r) for r in self.query(
            f"SELECT {WITH_COUNTS} FROM people WHERE name LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?",
            (like, limit))]

    def list_people(self, *, named: bool | None = None, hidden: bool = False,
                    min_faces: int = 0, limit: int = 0) -> list[Person]:
        """Unnamed people first ("Who's this?"), most photos first; then named people by name.

        min_faces: unnamed people with fewer faces are left out (named people never are).
        limit: the first so many (0: all). The sample path is looked up for those only:
        over 100,000 people it was most of the listing's time.
        """
        where = ["p.hidden != 0" if hidden else "p.hidden = 0"]
        params: list = []
        if named is not None:
            where.append("p.named = ?")
            params.append(int(named))
        if min_faces > 0:
            where.append("(p.named = 1 OR p.face_count >= ?)")
            params.append(min_faces)
        order = "named, CASE WHEN named THEN 0 ELSE -photo_count END, name COLLATE NOCASE, id"
        rows = self.conn.execute(
            f"""
            SELECT p.id, p.name, p.named, p.hidden, p.cover_face_id, p.photo_count,
                   p.face_count,
                   (SELECT min(l.path) FROM faces cf JOIN locations l ON l.photo_id = cf.photo_id
                    WHERE cf.id = p.cover_face_id AND l.gone_at IS NULL) AS sample
            FROM (SELECT * FROM people p WHERE {' AND '.join(where)}
                  ORDER BY {order} LIMIT ?) p
            ORDER BY {order}
            """, [*params, limit or -1])
        return [Person(i, name, bool(named_), HIDDEN[hidden_], cover, photos, faces, sample)
                for i, name, named_, hidden_, cover, photos, faces, sample in rows]

    def candidates_of(self, person_id: int, limit: int) -> list[tuple[Person, float, str]]:
        """The people a suggestion pairs with this one, best first (hidden ones left out)."""
        rows = self.query(
            """
            SELECT p.*, p.photo_count AS photos, p.face_count AS faces, s.score, s.source
            FROM suggestions s JOIN people p
              ON p.id = CASE WHEN s.person_a = ? THEN s.person_b ELSE s.person_a END
            WHERE (s.person_a = ? OR s.person_b = ?) AND p.hidden = 0
            ORDER BY s.score DESC, p.id LIMIT ?
            """, (person_id, person_id, person_id, limit))
        return [(self._person(r), r["score"], r["source"]) for r in rows]

    def unnamed_ids(self, min_faces: int) -> list[int]:
        """Unnamed shown people in the order `people --unnamed` lists them (most photos
        first): the review's queue, without the listing's per-person sample path."""
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM people WHERE named = 0 AND hidden = 0 AND face_count >= ? "
            "ORDER BY photo_count DESC, id", (min_faces,))]

    def given_names(self) -> list[str]:
        """Every name given, the people seen most first (what a name field completes)."""
        return [r[0] for r in self.conn.execute(
            "SELECT name FROM people WHERE named = 1 GROUP BY name "
            "ORDER BY max(face_count) DESC, name")]

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

    @requires_transaction
    def delete_faceless_people(self) -> int:
        """People whose last face went (forget, reindex); the caller holds a transaction."""
        return self.conn.execute(
            "DELETE FROM people WHERE id NOT IN "
            "(SELECT person_id FROM faces WHERE person_id IS NOT NULL)").rowcount

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
