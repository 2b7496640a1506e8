"""Preparing and analysing photos in worker threads: the engine calls of one photo."""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TypeVar

from photosense_cli import images
from photosense_cli.engines.base import (
    FACE_MATCH_THRESHOLD,
    DetectedFace,
    Engine,
    FaceProbe,
    Match,
    TextLine,
    Usage,
    UserVectors,
)
from photosense_cli.errors import EngineError, ItemFailed, TooSmall, os_reason
from photosense_cli.pacing import Pacers, Ticket
from photosense_cli.pipeline.budget import Budget
from photosense_cli.pipeline.content import ContentIndex
from photosense_cli.pipeline.scan import not_an_image, read_image
from photosense_cli.pipeline.state import Candidate, Outcome, OutcomeKind
from photosense_cli.policy import NO_CLOUD, FolderRules, Verdict
from photosense_cli.privacy import Screen
from photosense_cli.records import Photo
from photosense_cli.uservectors import USER_MATCH_THRESHOLD

T = TypeVar("T")


# The operation under which text read by the offline OCR for a cloud engine is logged
# (import --text local): no engine prices it, so it never counts as DetectText's cost.
OFFLINE_TEXT = "DetectText (offline)"


FACE_PROBE = "FaceProbe (offline)"  # import --prefilter local, free likewise


class Analyser:
    """The work done for one file in a worker thread: read once, hash, prepare, call the engine."""

    def __init__(self, engine: Engine, index: ContentIndex | None = None, *,
                 dry_run: bool = False, uploader=None, stop: threading.Event | None = None,
                 read_xmp: bool = False, call_threads: int = 0, budget: Budget | None = None,
                 text_engine: Engine | None = None, prefilter: FaceProbe | None = None,
                 screen: Screen | None = None, rules: FolderRules | None = None,
                 local_text: Engine | None = None, marks: dict[int, str] | None = None,
                 users: UserVectors | None = None):
        self.engine = engine
        self.users = users  # the library has user vectors: each face asks them first
        self.before_search: Callable[[], None] = lambda: None  # once: the users in step
        # SearchFaces asks down to the engine's suggestion band: a match from there to the 90
        # that clusters queues "is this X?" (clustering.py). On Rekognition the call is priced
        # the same at any threshold; MaxFaces (100) bounds the answer.
        self.search_threshold = min(FACE_MATCH_THRESHOLD, engine.suggest_threshold)
        # faces the user forgot (by box) and suppression templates: dropped at once
        self.screen = screen or Screen({}, set())
        self.rules = rules or FolderRules()  # [[folders]]: no faces, or nothing to the cloud
        self.local_text = local_text  # reads the text of cloud = false photos here
        self.marks = marks or {}  # reindex: each photo's protection as marked before
        self.text_engine = text_engine  # import --text local: the offline OCR reads the text
        self.prefilter = prefilter  # import --prefilter local: IndexFaces only where it may pay
        self.text_operation = text_operation(text_engine)
        self.budget = budget
        self.read_xmp = read_xmp
        # A photo's IndexFaces and DetectText are independent, and so are the SearchFaces of
        # its faces: run at once, a photo takes 2 round trips instead of 2 + faces (~0.3 s
        # instead of ~0.45 s a photo at 150 ms a call). 0: one call after the other.
        self.calls = (cf.ThreadPoolExecutor(call_threads, thread_name_prefix="photosense-call")
                      if call_threads else None)
        self.index = index
        self.dry_run = dry_run
        self.uploader = uploader
        self.stop = stop or threading.Event()  # set on Ctrl-C: no new billed call starts
        # Every engine call goes through its operation's Pacer: at the rate the service
        # allows, sent again when throttled, and never started once the run is stopping.
        self.pacers = Pacers(self.stop)

    def __call__(self, c: Candidate) -> Outcome:
        """An import's work on one scanned file."""
        assert self.index is not None
        with self.pacers.admission() as ticket:
            try:
                data = read_image(c.path, c.size)
            except ItemFailed as e:
                return Outcome(OutcomeKind.FAILED, c, reason=e.reason, permanent=e.permanent)
            if data is None:
                return not_an_image(c)
            sha = hashlib.sha256(data).hexdigest()
            kind, photo_id = self.index.claim(sha)
            if kind != "first":
                return Outcome(OutcomeKind(kind), c, sha, photo_id=photo_id)
            return self.analyse(c, sha, data, ticket=ticket)

    def reanalyse(self, photo: Photo) -> Outcome:
        """A reindex's work on one catalogued photo: the first of its files that still holds it."""
        reason = "no file of this photo is left to read"
        with self.pacers.admission() as ticket:
            for path in photo.paths:
                try:
                    data = read_image(path, os.stat(path).st_size)
                except (ItemFailed, OSError) as e:
                    reason = e.reason if isinstance(e, ItemFailed) else os_reason(e)
                    continue
                if data is None or hashlib.sha256(data).hexdigest() != photo.sha256:
                    reason = "the file has changed since it was imported"
                    continue
                return self.analyse(Candidate(path, 0, 0), photo.sha256, data,
                                    photo_id=photo.id, ticket=ticket, paths=photo.paths)
        where = photo.path or f"photo {photo.id}"
        return Outcome(OutcomeKind.FAILED, Candidate(where, 0, 0), photo.sha256, photo_id=photo.id,
                       reason=reason)

    def analyse(self, c: Candidate, sha: str, data: bytes, photo_id: int | None = None,
                ticket: Ticket | None = None, paths: list[str] | None = None) -> Outcome:
        verdict = self.rules.verdict(paths or [c.path], self.engine.remote_faces,
                                     self.marks.get(photo_id) if photo_id else None)
        try:
            prepared = images.prepare(data, min_side=self.engine.min_side, name=c.path,
                                      as_is=self.engine.decodes_images)
        except ItemFailed as e:
            return Outcome(OutcomeKind.FAILED, c, sha, photo_id=photo_id, reason=e.reason,
                           permanent=e.permanent, too_small=isinstance(e, TooSmall))
        # The writer needs the photo's size, format and date, never its bytes: outcomes waiting
        # for it hold no image (with 32 workers, 41-44 photos were in memory, not 32).
        header = replace(prepared, data=b"")
        if self.dry_run:
            return Outcome(OutcomeKind.WOULD_ANALYSE, c, sha, prepared=header, verdict=verdict)
        if self.budget is not None and not self.budget.reserve():
            return Outcome(OutcomeKind.OVER_BUDGET, c, sha, photo_id=photo_id)
        if self.uploader and NO_CLOUD not in verdict.protection:
            try:
                self.uploader.put(sha, prepared.format, data)
            except Exception as e:  # storage is optional; the photo is retried next run
                return Outcome(OutcomeKind.FAILED, c, sha, reason=f"S3 copy failed: {e}", permanent=False)
        out = Outcome(OutcomeKind.ANALYSED, c, sha, photo_id=photo_id, prepared=header,
                      verdict=verdict)
        if self.read_xmp:
            from pathlib import Path

            from photosense_cli import xmp

            out.regions, out.metadata_problems, out.xmp_position = xmp.read_metadata(
                Path(c.path), prepared.orientation, data)
        faces: list[DetectedFace] = []
        operation, read_text = self._text_reader(verdict, out)
        try:
            call = partial(self.pacers.call, ticket=ticket)
            if self.calls is None:
                faces = self._index(prepared.data, sha, out.usage, ticket) if verdict.faces else []
                out.lines = call(operation, read_text, prepared.data, out.usage)
                faces = self._unforgotten(sha, faces, out)
                for face in faces:
                    out.faces.append((face, self._search(face, out, call)))
            else:
                indexed: cf.Future[list[DetectedFace]] = (self.calls.submit(
                    self._index, prepared.data, sha, out.usage, ticket) if verdict.faces
                    else _done([]))
                text: cf.Future[list[TextLine]] = self.calls.submit(
                    call, operation, read_text, prepared.data, out.usage)
                both: list[cf.Future] = [indexed, text]
                cf.wait(both)
                if indexed.exception() is None:
                    faces = indexed.result()  # kept first: deleted below if the text failed
                error = indexed.exception() or text.exception()
                if error is not None:
                    raise error
                out.lines = text.result()
                faces = self._unforgotten(sha, faces, out)
                searches = [self.calls.submit(self._search, face, out, call) for face in faces]
                out.faces = [(face, s.result()) for face, s in zip(faces, searches, strict=True)]
            self._suppress(out)
        except ItemFailed as e:
            out.kind, out.reason, out.permanent = OutcomeKind.FAILED, e.reason, e.permanent
            # a template's faces too: nothing of a failed photo is stored
            out.orphans_left = not self._delete_quietly(
                [f.face_id for f in faces] + [f.face_id for _, f in out.template_faces])
            out.template_faces = []
        except EngineError:
            self._delete_quietly([f.face_id for f in faces]
                                 + [f.face_id for _, f in out.template_faces])
            raise
        return out

    def _search(self, face: DetectedFace, out: Outcome, call: Callable) -> list[Match]:
        """The face's matches: against the users first (uservectors.py) when the library has
        any; a face a user claims is not searched against single faces (one call, not two),
        unless suppression templates wait to be matched: only SearchFaces finds them."""
        self.before_search()
        if self.users is not None:
            found = call("SearchUsers", self.users.search_users, face.face_id,
                         USER_MATCH_THRESHOLD, out.usage)
            if found:
                out.users[face.face_id] = found
                if not self.screen.suppress:
                    return []
        return call("SearchFaces", self.engine.search_faces, face.face_id,
                    self.search_threshold, out.usage)

    def _text_reader(self, verdict: Verdict, out: Outcome) -> tuple[str, Callable]:
        """Who reads this photo's text: the engine, or here when a rule keeps it from the
        cloud (nobody, said in the summary, when the offline OCR is not installed)."""
        if not verdict.text_here or self.text_engine is not None:
            return self.text_operation, self._read_text
        if self.local_text is None:
            out.text_skipped = True
            return OFFLINE_TEXT, lambda image, usage: []
        local = self.local_text
        return OFFLINE_TEXT, lambda image, usage: _logged_as(OFFLINE_TEXT, usage,
                                                             local.detect_text, image)

    def _unforgotten(self, sha: str, faces: list[DetectedFace],
                     out: Outcome) -> list[DetectedFace]:
        """Faces where the user forgot one in this photo are deleted from the engine at
        once, before any search: never stored, never clustered."""
        if sha not in self.screen.forgotten or not faces:
            return faces
        kept, gone = [], []
        for face in faces:
            forgotten, template = self.screen.forgotten_in(sha, face.box)
            if not forgotten:
                kept.append(face)
            elif template is not None:  # a template moving to this engine takes it
                out.template_faces.append((template, face))
            else:
                gone.append(face.face_id)
        out.forgotten_faces = len(faces) - len(kept)
        if gone:
            out.orphans_left |= not self._delete_quietly(gone)
        return kept

    def _suppress(self, out: Outcome) -> None:
        """A face that matches a suppression template (--never-again) at the clustering's
        90 % is deleted from the engine at once; the templates are no one's matches."""
        ids = self.screen.suppress
        if not ids or not out.faces:
            return
        gone = [f for f, matches in out.faces
                if any(m.face_id in ids and m.similarity >= FACE_MATCH_THRESHOLD for m in matches)]
        out.faces = [(f, [m for m in matches if m.face_id not in ids])
                     for f, matches in out.faces if f not in gone]
        if gone:
            out.suppressed_faces = len(gone)
            out.orphans_left |= not self._delete_quietly([f.face_id for f in gone])

    def _index(self, image: bytes, sha: str, usage: Usage,
               ticket: Ticket | None = None) -> list[DetectedFace]:
        """IndexFaces, unless the offline detector (--prefilter local) sees no face."""
        call = partial(self.pacers.call, ticket=ticket)
        if self.prefilter is not None and not call(
                FACE_PROBE, _logged_as, FACE_PROBE, usage, self.prefilter.may_hold_faces, image):
            return []
        return call("IndexFaces", self.engine.index_faces, image, sha, usage)

    def _read_text(self, image: bytes, usage: Usage) -> list[TextLine]:
        if self.text_engine is None:
            return self.engine.detect_text(image, usage)
        return _logged_as(OFFLINE_TEXT, usage, self.text_engine.detect_text, image)

    def close(self) -> None:
        # Queued calls are not cancelled (a cancelled future never wakes the photo waiting
        # on it): once the run stops they end at once, in _call, without calling the engine.
        if self.calls is not None:
            self.calls.shutdown(wait=not self.stop.is_set())

    def _delete_quietly(self, face_ids: list[str]) -> bool:
        if not face_ids:
            return True
        try:
            self.engine.delete_faces(face_ids)
            return True
        except Exception:
            return False


def _done(value: T) -> cf.Future[T]:
    future: cf.Future[T] = cf.Future()
    future.set_result(value)
    return future


def _logged_as(operation: str, usage: Usage, method: Callable[..., T], image: bytes) -> T:
    """A helper engine's call (--text local, --prefilter local), logged under its own
    operation: apart from the cloud engine's billed ones, free."""
    own = Usage()
    try:
        return method(image, own)
    finally:
        usage.calls += [(operation, ms, error) for _, ms, error in own.calls]


def text_operation(text_engine: Engine | None) -> str:
    """The operation a photo's text call is logged under: the engine's DetectText, or
    OFFLINE_TEXT when the offline OCR reads it for a cloud engine."""
    return OFFLINE_TEXT if text_engine is not None else "DetectText"
