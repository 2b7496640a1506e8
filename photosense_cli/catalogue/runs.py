"""Runs of import and reindex, the engine-call log (what was spent), the library's counts,
and the history of corrections that undo walks back."""

from __future__ import annotations

import json
import os

from photosense_cli.catalogue.connection import Connection, requires_transaction
from photosense_cli.catalogue.lock import process_alive
from photosense_cli.catalogue.schema import now
from photosense_cli.records import (
    Change,
    ChangeKind,
)


class RunRows(Connection):
    """Runs, the call log, counts and the history of corrections."""

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
        if run["status"] == "running" and not process_alive(run.pop("pid")):
            run["status"] = "interrupted"
        run.pop("pid", None)
        return run

    @requires_transaction
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
            # every path's photo exists (the foreign key cascades): those with no live path
            "missing": self.scalar(
                "SELECT (SELECT count(*) FROM photos) - (SELECT count(DISTINCT photo_id) "
                "FROM locations INDEXED BY locations_live WHERE gone_at IS NULL)"),
            "known_failures": self.scalar("SELECT count(*) FROM failures WHERE too_small = 0"),
            "too_small": self.scalar("SELECT count(*) FROM failures WHERE too_small = 1"),
        }

    def faces_per_photo(self) -> float | None:
        """The library's average faces a photo; None while it has no photo."""
        photos = self.scalar("SELECT count(*) FROM photos")
        return self.scalar("SELECT count(*) FROM faces") / photos if photos else None

    def quick_check(self) -> list[str]:
        """SQLite's quick_check: [] for a sound file, else what is damaged (fast: no index
        cross-checks; ~0.1 s per 100 MB)."""
        rows = [r[0] for r in self.conn.execute("PRAGMA quick_check")]
        return [] if rows == ["ok"] else rows

    def log_change(self, kind: ChangeKind, summary: str, undo: dict) -> None:
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
