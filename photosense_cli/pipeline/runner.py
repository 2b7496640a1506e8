"""The pipeline every job runs on: attaching the engine, the workers, the one writer,
the run record and its recovery."""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import os
import threading
import time
from collections.abc import Callable
from typing import Generic, Iterator, TypeVar

from photosense_cli import engines
from photosense_cli.catalogue import Catalogue
from photosense_cli.engines.base import (
    Engine,
    EngineOptions,
    KnownFace,
    cost_usd,
)
from photosense_cli.errors import CollectionMissing, EngineError, ItemFailed
from photosense_cli.pipeline.state import Outcome, text_path
from photosense_cli.policy import FolderRules, stored
from photosense_cli.records import RunSummary

T = TypeVar("T")  # what a job feeds the pipeline: a Candidate (import), a Photo (reindex)


def delete_unknown_faces(cat: Catalogue, engine: Engine, *, templates: bool = True) -> int:
    """Delete the faces an engine's collection holds that the catalogue does not know
    (left by a crash, or by the engine a reindex switched away from); returns how many.
    templates=False: the faces kept for suppression templates go too (switching away)."""
    known = cat.engine_face_ids() | (cat.template_face_ids(engine.name) if templates else set())
    unknown = [fid for fid, _ in engine.list_faces() if fid not in known]
    if unknown:
        engine.delete_faces(unknown)
    return len(unknown)


def open_engine(cat: Catalogue, name: str, options: EngineOptions, *,
                create: bool | None = None) -> Engine:
    """The library's engine attached to its collection, primed with that engine's known faces.

    create=None (imports): make the collection unless the catalogue holds faces in it,
    in which case it must still be there. True (reindex): make it if missing. False
    (forget, suggestions): it must be there.
    """
    engine = engines.make_engine(name, options)
    attach(cat, engine, create=create)
    return engine


def attach(cat: Catalogue, engine: Engine, *, create: bool | None = None) -> None:
    """Attach an engine to the library's collection (see open_engine for `create`)."""
    name = engine.name
    collection = cat.collection_id()
    if create is None:
        create = not (engine.remote_faces and cat.has_faces_of(name))
    if create and cat.get_meta("collection_id") is None:
        with cat.transaction():
            cat.set_meta("collection_id", collection)
    try:
        engine.open_collection(collection, _Known(cat, name), create=create)
    except CollectionMissing as e:
        raise CollectionMissing(
            f"the face collection of this library is gone: {e} was deleted outside "
            "photosense, and the faces in the catalogue cannot be matched any more. Rebuild "
            f"it from your photos, keeping names and merges: photosense reindex --engine {name}"
        ) from None


class _Known:
    """The faces an engine is primed with, read as it iterates; its length (the faces with
    a descriptor, from a partial index) lets the offline engine size its matrix once."""

    def __init__(self, cat: Catalogue, engine: str):
        self.cat, self.engine = cat, engine

    def __len__(self) -> int:
        return self.cat.count_descriptors()

    def __iter__(self) -> Iterator[KnownFace]:
        known = itertools.chain(self.cat.known_faces(self.engine),
                                self.cat.template_descriptors(self.engine))
        return (KnownFace(f, d) for f, d in known)


def protect(cat: Catalogue, rules: FolderRules, engine: Engine, pipeline: Pipeline, *,
            dry_run: bool = False) -> int:
    """Photos under a folder rule (moved there since, or there before the rule) get its
    mark, and lose the faces it forbids: deleted here and, after the commit, in the engine.
    Returns the faces deleted (or, dry_run, that would be)."""
    if not rules:
        return 0
    cloud = engine.remote_faces
    ids = {pid for rule in rules.rules for root in {rule.path, os.path.realpath(rule.path)}
           for pid in cat.photo_ids_under(root, live=True)}
    paths = cat.paths_of(sorted(ids))
    marks = cat.protection_marks()
    removed = 0
    for pid in sorted(ids):
        mark = marks.get(pid)
        verdict = rules.verdict(paths.get(pid, []), cloud, mark)
        faces = [] if verdict.faces else cat.engine_face_ids_of_photos([pid])
        if dry_run:
            removed += len(faces)
            continue
        if stored(verdict.protection) == mark and not faces:
            continue
        with cat.transaction():
            cat.protect(pid, stored(verdict.protection))
            if faces:
                cat.delete_faces_of_photo(pid)
                cat.delete_faceless_people()
        if cloud:
            pipeline.delete_after_commit(faces)
        removed += len(faces)
    return removed


class Pipeline(Generic[T]):
    """Feeds work items to worker threads and stores each outcome from this thread.

    One run record, one bounded window of photos in flight, one recovery of
    the faces a crashed run left in the engine.
    """

    def __init__(self, cat: Catalogue, engine: Engine, summary: RunSummary, *, threads: int,
                 on_error: Callable[[dict], None] = lambda e: None,
                 on_progress: Callable[[int | None, str], None] = lambda total, path: None):
        self.cat = cat
        self.engine = engine
        self.summary = summary
        self.threads = max(1, threads)
        self.on_error = on_error
        self.on_progress = on_progress
        self.run_id: int | None = None
        self.orphans_left = False
        self.stop = threading.Event()  # shared with the Analyser: set when the run must end
        # need_first: a worker's request (a future the writer waits on with the photos) and
        # the writer's answer
        self._first: Callable[[], None] = lambda: None
        self._asked: cf.Future = cf.Future()
        self._first_done = threading.Event()

    def run(self, items: list[T], work: Callable[[T], Outcome],
            store: Callable[[Outcome], None],
            then: Callable[[], list[T]] = lambda: [],
            started: float | None = None,
            first: Callable[[], None] = lambda: None) -> RunSummary:
        """Process the items, then whatever `then` returns once they are all stored.

        started: when the job began (an import's scan comes before its items), for `seconds`.
        first: run in this thread, once, when a worker first asks for it (need_first) and
        waits: an import's sync of the user vectors, before its first face search. A run
        that searches no face (only known, moved or unreadable files) never runs it.
        """
        self._first = first
        start = started if started is not None else time.perf_counter()
        self.on_progress(len(items), "")
        status = "interrupted"
        crashed = False
        if not self.summary.dry_run:
            self.run_id, crashed = self.cat.start_run(self.summary.command)
        try:
            if crashed and self.engine.remote_faces:
                self._recover()
            self._process(items, work, store)
            self._process(then(), work, store)
            status = "partial" if self.summary.failed else "ok"
        finally:
            s = self.summary
            s.seconds = time.perf_counter() - start
            s.cost_usd = cost_usd(self.engine, s.calls)
            if self.run_id is not None:
                if self.orphans_left:
                    status = "interrupted"  # makes the next run look for orphaned faces
                self.cat.finish_run(self.run_id, status, s.to_json())
        return self.summary

    def _recover(self) -> None:
        """A run died between the engine and the catalogue: delete the faces it left behind."""
        assert self.run_id is not None
        self.summary.recovered_faces = delete_unknown_faces(self.cat, self.engine)
        self.cat.mark_recovered(self.run_id)

    def need_first(self) -> None:
        """Called by a worker: have the writer run `first` (see run) and wait until it has.
        The catalogue is the writer's, so the work is done there, once."""
        if self._first_done.is_set():
            return
        try:
            self._asked.set_result(None)
        except cf.InvalidStateError:
            pass  # another worker asked first
        self._first_done.wait()

    def _answer(self) -> None:
        try:
            if self.run_id is not None:
                self._first()
        finally:
            self._first_done.set()  # a failure too: the workers go on (or stop) without it

    def delete_after_commit(self, face_ids: list[str]) -> None:
        """Faces a committed photo no longer has (replaced, rebuilt): deleted from the
        engine after the commit, so a failure loses nothing; the next run's recovery
        deletes what a failure leaves."""
        if not face_ids:
            return
        try:
            self.engine.delete_faces(face_ids)
        except (ItemFailed, EngineError):
            self.orphans_left = True

    def _process(self, items: list[T], work: Callable[[T], Outcome],
                 store: Callable[[Outcome], None]) -> None:
        window = self.threads * 4  # bounds memory: at most this many photos' bytes in flight
        pool = cf.ThreadPoolExecutor(self.threads, thread_name_prefix="photosense")
        pending: set[cf.Future] = set()
        # Photos done together are stored in the order they were given (the scan's path
        # order), not in the set's hash order: ids, and the newest lines that search ranks
        # first, then follow the paths whenever the photos finish in step.
        order: dict[cf.Future, int] = {}
        given = itertools.count()
        queue = iter(items)
        try:
            while True:
                for item in queue:
                    future = pool.submit(work, item)
                    order[future] = next(given)
                    pending.add(future)
                    if len(pending) >= window:
                        break
                if not pending:
                    break
                asked = set() if self._first_done.is_set() else {self._asked}
                done, pending = cf.wait(pending | asked, return_when=cf.FIRST_COMPLETED)
                if self._asked in done or self._asked in pending:
                    done.discard(self._asked)
                    pending.discard(self._asked)
                    if self._asked.done():
                        self._answer()
                # Store every photo that finished before raising a fatal error of another.
                errors = []
                for future in sorted(done, key=order.__getitem__):
                    del order[future]
                    error = future.exception()
                    if error is not None:
                        errors.append(error)
                        continue
                    outcome = future.result()
                    store(outcome)
                    self.on_progress(None, outcome.candidate.path)
                if errors:
                    raise errors[0]
        except BaseException:
            # Ctrl-C or a fatal error: no new engine call starts (the workers check the flag
            # between calls); the calls in flight finish on their own and are not waited for.
            # Their faces are found and deleted by the next run's recovery.
            self.stop.set()
            self._first_done.set()  # no worker waits for an answer that will not come
            self.orphans_left = True
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()

    # -- what every job stores the same way ------------------------------------

    def fail(self, o: Outcome, path: str | None = None, reason: str | None = None) -> None:
        self.on_error(self.summary.fail(text_path(path or o.candidate.path), reason or o.reason))

    def count_calls(self, o: Outcome) -> None:
        self.summary.calls.update(o.usage.operations())
        self.summary.throttles.update(o.usage.throttled)

    def log_failed_calls(self, o: Outcome) -> None:
        """Calls made for a photo that then failed still cost: count and log them."""
        self.orphans_left |= o.orphans_left
        if o.usage.calls and not self.summary.dry_run:
            self.count_calls(o)
            with self.cat.transaction():
                self.cat.log_calls(self.run_id, self.engine.name, o.usage, o.sha256 or None)
