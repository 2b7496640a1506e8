"""Duplicate detection within a run: each content hash is analysed once."""

from __future__ import annotations

import threading

from photosense_cli.pipeline.state import Candidate


class ContentIndex:
    """The one owner of duplicate detection in a run, shared by the workers and the writer.

    A hash is catalogued (with its photo id, or None for a photo a dry run
    would analyse), forgotten, in flight (a worker is analysing the first file
    with it), or failed. Copies met while the first is in flight wait here
    until it is written (they become paths of its photo) or fails (they fail
    with the same reason), so one content is sent to the engine once.
    """

    def __init__(self, catalogued: dict[str, int], forgotten: set[str]):
        self._lock = threading.Lock()
        self._catalogued: dict[str, int | None] = dict(catalogued)
        self._forgotten = forgotten
        self._in_flight: set[str] = set()
        self._failed: dict[str, str] = {}
        self._waiting: dict[str, list[Candidate]] = {}

    def claim(self, sha: str) -> tuple[str, int | None]:
        """(worker) What to do with a file of this content: forgotten, known, copy or first."""
        with self._lock:
            if sha in self._forgotten:
                return "forgotten", None
            if sha in self._catalogued:
                return "known", self._catalogued[sha]
            if sha in self._in_flight or sha in self._failed:
                return "copy", None
            self._in_flight.add(sha)
            return "first", None

    def place_copy(self, sha: str, c: Candidate) -> tuple[str, int | None, str]:
        """(writer) A copy met in flight: ('known', photo id, '') if its first is stored by now,
        ('failed', None, reason) if the first failed, else ('waiting', None, '')."""
        with self._lock:
            if sha in self._catalogued:
                return "known", self._catalogued[sha], ""
            if sha in self._failed:
                return "failed", None, self._failed[sha]
            self._waiting.setdefault(sha, []).append(c)
            return "waiting", None, ""

    def written(self, sha: str, photo_id: int | None) -> list[Candidate]:
        """(writer) The first file of this content is stored; returns the copies that waited."""
        with self._lock:
            self._in_flight.discard(sha)
            self._catalogued[sha] = photo_id
            return self._waiting.pop(sha, [])

    def release(self, sha: str) -> list[Candidate]:
        """(writer) The first file of this content was not analysed (the budget ran out)."""
        with self._lock:
            self._in_flight.discard(sha)
            return self._waiting.pop(sha, [])

    def failed(self, sha: str, reason: str) -> list[Candidate]:
        """(writer) The first file of this content failed; returns the copies that waited."""
        with self._lock:
            self._in_flight.discard(sha)
            self._failed[sha] = reason
            return self._waiting.pop(sha, [])
