"""The user vectors' rows: what each person's user in the engine's collection may hold."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from photosense_cli.catalogue.connection import Connection
from photosense_cli.catalogue.schema import now

# A face's JSON list is read from our own rows, yet bounded like any input: a person's user
# holds at most 100 faces (the service's limit), so a row of more was not written by us.
_MAX_LISTED = 4096


@dataclass
class UserRow:
    """One user of the collection as the catalogue knows it (user_vectors, migration 21)."""

    user_id: str
    person_id: int
    faces: set[str] = field(default_factory=set)  # the service said it associated them
    pending: set[str] = field(default_factory=set)  # sent, or about to be: maybe associated
    refused: set[str] = field(default_factory=set)  # the service would not associate them

    def held(self) -> set[str]:
        """Every face the user may hold: never less than the collection says."""
        return self.faces | self.pending


def _ids(text: str) -> set[str]:
    try:
        value = json.loads(text)
    except ValueError:
        return set()
    if not isinstance(value, list):
        return set()
    return {v for v in value[:_MAX_LISTED] if isinstance(v, str)}


class UserVectorRows(Connection):
    """user_vectors (migration 21): one row a user, kept never less than the collection."""

    def user_rows(self) -> dict[str, UserRow]:
        return {r["user_id"]: UserRow(r["user_id"], r["person_id"], _ids(r["faces"]),
                                      _ids(r["pending"]), _ids(r["refused"]))
                for r in self.query("SELECT user_id, person_id, faces, pending, refused "
                                    "FROM user_vectors")}

    def put_user_row(self, row: UserRow) -> None:
        self.conn.execute(
            "INSERT INTO user_vectors(user_id, person_id, faces, pending, refused, at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET "
            "person_id = excluded.person_id, faces = excluded.faces, "
            "pending = excluded.pending, refused = excluded.refused, at = excluded.at",
            (row.user_id, row.person_id, json.dumps(sorted(row.faces)),
             json.dumps(sorted(row.pending)), json.dumps(sorted(row.refused)), now()))

    def drop_user_row(self, user_id: str) -> None:
        self.conn.execute("DELETE FROM user_vectors WHERE user_id = ?", (user_id,))

    def people_to_sync(self) -> dict[int, int]:
        """person id -> changes to their faces since their user was last brought in step."""
        return dict(self.conn.execute("SELECT person_id, n FROM users_to_sync"))

    def synced(self, person_id: int, seen: int) -> None:
        """The person's user is in step with the changes seen; a later one stays marked."""
        self.conn.execute("DELETE FROM users_to_sync WHERE person_id = ? AND n = ?",
                          (person_id, seen))

    def forget_unsynced_without_users(self) -> None:
        """Marks of people who have no user: a user is made from all their faces anyway."""
        self.conn.execute("DELETE FROM users_to_sync WHERE person_id NOT IN "
                          "(SELECT person_id FROM user_vectors)")

    def count_user_rows(self) -> int:
        return self.scalar("SELECT count(*) FROM user_vectors") or 0

    def people_of_users(self, user_ids: Sequence[str]) -> dict[str, int]:
        """user id -> person id, for users whose person still exists."""
        return dict(self._in("SELECT u.user_id, u.person_id FROM user_vectors u "
                             "JOIN people pe ON pe.id = u.person_id WHERE u.user_id IN ({ids})",
                             user_ids))

    def users_of_people(self, person_ids: Iterable[int]) -> list[str]:
        return [r[0] for r in self._in("SELECT user_id FROM user_vectors "
                                       "WHERE person_id IN ({ids})", list(person_ids))]

    def people_with_faces(self, at_least: int) -> list[int]:
        """People with at least this many faces, most faces first: the ones a user vector
        is kept for (the face_count the triggers keep: one pass over people, not a count
        of every face)."""
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM people WHERE face_count >= ? ORDER BY face_count DESC, id",
            (at_least,))]

    def engine_faces_by_date(self, person_id: int) -> list[str]:
        """A person's engine face ids, oldest photo first (undated last)."""
        return [r[0] for r in self.conn.execute(
            "SELECT f.engine_face_id FROM faces f JOIN photos p ON p.id = f.photo_id "
            "WHERE f.person_id = ? ORDER BY p.taken_at IS NULL, p.taken_at, f.id",
            (person_id,))]
