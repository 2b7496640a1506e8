"""Saved searches: their queries, the people they name (by id) and what --new printed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from photosense_cli.catalogue.connection import Connection, requires_transaction
from photosense_cli.catalogue.schema import now

_SAVED = ("SELECT s.id, s.name, s.query, s.created_at, s.updated_at, s.last_new_run_at, "
          "(SELECT count(*) FROM saved_search_seen WHERE search_id = s.id) "
          "FROM saved_searches s")


class SavedRows(Connection):
    """saved_searches, saved_search_people and saved_search_seen."""

    def saved_search_row(self, name: str) -> dict | None:
        row = self.conn.execute(f"{_SAVED} WHERE s.name = ?", (name,)).fetchone()
        return None if row is None else self._saved(row)

    def saved_search_rows(self) -> list[dict]:
        return [self._saved(r) for r in self.conn.execute(f"{_SAVED} ORDER BY s.name")]

    def _saved(self, row: tuple) -> dict:
        sid, name, query, created, updated, last_new, seen = row
        people = [{"role": role, "person_id": pid, "saved_name": saved,
                   "name": current} for role, pid, saved, current in self.conn.execute(
            "SELECT sp.role, sp.person_id, sp.name, pe.name FROM saved_search_people sp "
            "LEFT JOIN people pe ON pe.id = sp.person_id WHERE sp.search_id = ? "
            "ORDER BY sp.id", (sid,))]
        return {"id": sid, "name": name, "query": query, "created_at": created,
                "updated_at": updated, "last_new_run_at": last_new, "seen": seen,
                "people": people}

    @requires_transaction
    def put_saved_search(self, name: str, query: str,
                         people: Sequence[tuple[str, int, str]]) -> tuple[int, bool]:
        """Save (or replace the query of) a search; (id, whether it existed). A replaced
        search keeps what --new printed: photos already mailed are not mailed again."""
        at = now()
        old = self.scalar("SELECT id FROM saved_searches WHERE name = ?", (name,))
        if old is None:
            cur = self.conn.execute(
                "INSERT INTO saved_searches(name, query, created_at, updated_at) "
                "VALUES (?, ?, ?, ?)", (name, query, at, at))
            sid = cur.lastrowid
            assert sid is not None
        else:
            sid = old
            self.conn.execute("UPDATE saved_searches SET query = ?, updated_at = ? "
                              "WHERE id = ?", (query, at, sid))
            self.conn.execute("DELETE FROM saved_search_people WHERE search_id = ?", (sid,))
        self.conn.executemany(
            "INSERT INTO saved_search_people(search_id, role, person_id, name) "
            "VALUES (?, ?, ?, ?)", [(sid, role, pid, pname) for role, pid, pname in people])
        return sid, old is not None

    @requires_transaction
    def delete_saved_search(self, name: str) -> bool:
        return self.conn.execute("DELETE FROM saved_searches WHERE name = ?",
                                 (name,)).rowcount > 0

    @requires_transaction
    def mark_seen(self, search_id: int, photo_ids: Iterable[int]) -> None:
        """What a --new run printed, recorded after it was written."""
        self.conn.executemany(
            "INSERT OR IGNORE INTO saved_search_seen(search_id, photo_id) VALUES (?, ?)",
            [(search_id, pid) for pid in photo_ids])
        self.conn.execute("UPDATE saved_searches SET last_new_run_at = ? WHERE id = ?",
                          (now(), search_id))

    @requires_transaction
    def repoint_saved_people(self, sources: Sequence[int], target: int) -> list[list[int]]:
        """A merge: saved searches that named a source name the target; [row id, source]
        pairs for undo."""
        rows = [[rid, pid] for src in sources for rid, pid in self.conn.execute(
            "SELECT id, person_id FROM saved_search_people WHERE person_id = ?", (src,))]
        self.conn.executemany("UPDATE saved_search_people SET person_id = ? WHERE id = ?",
                              [(target, rid) for rid, _ in rows])
        return rows

    @requires_transaction
    def restore_saved_people(self, rows: Iterable[Sequence[int]]) -> None:
        """Undo of a merge: back to the people the searches named (restored first)."""
        self.conn.executemany(
            "UPDATE saved_search_people SET person_id = ? WHERE id = ? AND "
            "EXISTS (SELECT 1 FROM people WHERE id = ?)",
            [(pid, rid, pid) for rid, pid in rows])
