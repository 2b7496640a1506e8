"""The pipeline: scan folders, prepare each new image, analyse it, cluster its faces, store it.

Threads read, prepare and call the engine in parallel; the calling thread is
the catalogue's only writer and commits each photo in one transaction, so an
interrupted run loses at most the photos in flight. Faces those photos left in
the engine's collection are found and deleted at the start of the next run.

`import` and `reindex` are two jobs on the one Pipeline below: the same
reading, hashing, preparing, engine calls, run record, progress and crash
recovery; they differ in what they feed it and how they store a result.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import os
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Generic, TypeVar

from photosense_cli import engines, images
from photosense_cli.catalogue import Catalogue
from photosense_cli.engines.base import (
    FACE_MATCH_THRESHOLD,
    DetectedFace,
    Engine,
    EngineOptions,
    FaceProbe,
    KnownFace,
    Match,
    TextLine,
    Usage,
    cost_usd,
)
from photosense_cli.errors import CollectionMissing, EngineError, ItemFailed, TooSmall, os_reason
from photosense_cli.pacing import Pacers, Ticket
from photosense_cli.people import Clusterer
from photosense_cli.records import Box, Face, Photo, RunSummary


@dataclass
class Candidate:
    path: str
    size: int
    mtime_ns: int


@dataclass
class Outcome:
    kind: str  # analysed | known | copy | failed | ignored | forgotten | would_analyse | over_budget
    candidate: Candidate
    sha256: str = ""
    photo_id: int | None = None
    prepared: images.Prepared | None = None
    faces: list[tuple[DetectedFace, list[Match]]] = field(default_factory=list)
    lines: list[TextLine] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    reason: str = ""
    regions: list = field(default_factory=list)  # xmp.NamedRegion: names other tools wrote
    # (file, reason) for each sidecar or region refused as unreadable or out of bounds: the
    # photo is imported all the same, and each file gets its one line
    metadata_problems: list[tuple[str, str]] = field(default_factory=list)
    permanent: bool = True  # a failure of the file itself: remembered until it changes
    too_small: bool = False  # no failure: an image under the engine's smallest side, skipped
    orphans_left: bool = False


def text_path(path: str) -> str:
    """A path that JSON and SQLite can hold: bytes that are not UTF-8 become \\xNN escapes."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


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
        engine.open_collection(collection, (KnownFace(f, d) for f, d in cat.known_faces(name)),
                               create=create)
    except CollectionMissing as e:
        raise CollectionMissing(
            f"the face collection of this library is gone: {e} was deleted outside "
            "photosense, and the faces in the catalogue cannot be matched any more. Rebuild "
            f"it from your photos, keeping names and merges: photosense reindex --engine {name}"
        ) from None


# -- scanning ---------------------------------------------------------------

IGNORE_FILE = ".photosenseignore"  # gitignore syntax, relative to the folder it is in
# A .gitignore of a large repository runs to a few KB; 1 MB of patterns is far beyond any
# real one, and a link to /dev/zero dropped in a photo folder is never read past it.
IGNORE_FILE_BYTES = 1024 * 1024


class Scanner:
    """Regular files below the given paths, sorted, following links but never looping.

    Hidden files and folders (.thumbnails, macOS ._ files) are left out, and so
    is whatever --exclude or a .photosenseignore file names: excluded files are
    never read. `folders` are the scanned folders, for finding paths that went.
    """

    def __init__(self, on_error: Callable[[str, str], None], exclude: Iterable[str] = (),
                 on_excluded: Callable[[str], None] = lambda path: None):
        self.on_error = on_error
        self.on_excluded = on_excluded
        self.exclude = list(exclude)
        self.excluded = 0
        self.folders: list[str] = []

    def scan(self, paths: Iterable[str]) -> Iterator[Candidate]:
        for root in paths:
            root = os.path.abspath(os.fspath(root))
            try:
                st = os.stat(root)
            except OSError as e:
                self.on_error(root, os_reason(e))
                continue
            if stat.S_ISDIR(st.st_mode):
                self.folders.append(root)
                specs = [(root, _spec(self.exclude))] if self.exclude else []
                yield from self._walk(root, ((st.st_dev, st.st_ino),), specs)
            else:
                candidate = self._candidate(root, st)
                if candidate:
                    yield candidate

    def _walk(self, folder: str, ancestors: tuple, specs: list) -> Iterator[Candidate]:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            self.on_error(folder, os_reason(e))
            return
        if any(e.name == IGNORE_FILE for e in entries):
            from photosense_cli.files import ReadRefused, read_limited

            try:
                text = read_limited(os.path.join(folder, IGNORE_FILE), IGNORE_FILE_BYTES,
                                    "an ignore file").decode("utf-8")
                specs = [*specs, (folder, _spec(text.splitlines()))]
            except (OSError, UnicodeDecodeError, ReadRefused) as e:
                reason = (os_reason(e) if isinstance(e, OSError) else e.reason
                          if isinstance(e, ReadRefused) else "not UTF-8 text")
                self.on_error(os.path.join(folder, IGNORE_FILE), reason)
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                st = entry.stat()  # follows symlinks
            except OSError as e:
                self.on_error(entry.path, os_reason(e))
                continue
            is_dir = stat.S_ISDIR(st.st_mode)
            if specs and _excluded(entry.path, is_dir, specs):
                self.excluded += 1
                self.on_excluded(entry.path)
                continue
            if is_dir:
                key = (st.st_dev, st.st_ino)
                if key in ancestors:
                    self.on_error(entry.path, "directory loop: links back to a folder above it")
                    continue
                yield from self._walk(entry.path, ancestors + (key,), specs)
            else:
                candidate = self._candidate(entry.path, st)
                if candidate:
                    yield candidate

    def _candidate(self, path: str, st: os.stat_result) -> Candidate | None:
        if not stat.S_ISREG(st.st_mode) or path.lower().endswith(".xmp"):
            return None  # sidecars are read with their photo, not as files of their own
        try:
            path.encode("utf-8")
        except UnicodeEncodeError:
            self.on_error(path, "file name is not valid UTF-8; rename the file to import it")
            return None
        return Candidate(path, st.st_size, st.st_mtime_ns)


def _spec(lines: list[str]):
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines(lines)


def _excluded(path: str, is_dir: bool, specs: list) -> bool:
    for base, spec in specs:
        rel = os.path.relpath(path, base) + ("/" if is_dir else "")
        if spec.match_file(rel):
            return True
    return False


# -- what this run knows of each content hash -----------------------------------------


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


# -- the cost cap ------------------------------------------------------------------


class Budget:
    """--max-cost: no photo starts whose likely cost would take the run past the cap.

    Each photo reserves its likely cost (IndexFaces, DetectText and the SearchFaces of
    the library's average faces a photo) before its first call; the writer settles the
    reservation with what the calls cost. A photo with more faces than the average can
    take the run past the cap by its extra SearchFaces ($0.001 each on Rekognition).
    """

    def __init__(self, limit: float | None, per_photo: float):
        self.limit = limit
        self.per_photo = per_photo
        self.spent = 0.0
        self.reserved = 0.0
        self.reached = False
        self._lock = threading.Lock()

    def reserve(self) -> bool:
        with self._lock:
            if self.limit is None or not self.per_photo:
                return True
            if self.spent + self.reserved + self.per_photo > self.limit + 1e-9:
                self.reached = True
                return False
            self.reserved += self.per_photo
            return True

    def settle(self, cost: float) -> None:
        with self._lock:
            if self.limit is not None and self.per_photo:
                self.reserved = max(0.0, self.reserved - self.per_photo)
            self.spent += cost


T = TypeVar("T")

# -- preparing and analysing (worker threads) -------------------------------


class Analyser:
    """The work done for one file in a worker thread: read once, hash, prepare, call the engine."""

    def __init__(self, engine: Engine, index: ContentIndex | None = None, *,
                 dry_run: bool = False, uploader=None, stop: threading.Event | None = None,
                 read_xmp: bool = False, call_threads: int = 0, budget: Budget | None = None,
                 text_engine: Engine | None = None, prefilter: FaceProbe | None = None):
        self.engine = engine
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
                return Outcome("failed", c, reason=e.reason, permanent=e.permanent)
            if data is None:
                return _not_an_image(c)
            sha = hashlib.sha256(data).hexdigest()
            kind, photo_id = self.index.claim(sha)
            if kind != "first":
                return Outcome(kind, c, sha, photo_id=photo_id)
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
                                    photo_id=photo.id, ticket=ticket)
        where = photo.path or f"photo {photo.id}"
        return Outcome("failed", Candidate(where, 0, 0), photo.sha256, photo_id=photo.id,
                       reason=reason)

    def analyse(self, c: Candidate, sha: str, data: bytes, photo_id: int | None = None,
                ticket: Ticket | None = None) -> Outcome:
        try:
            prepared = images.prepare(data, min_side=self.engine.min_side, name=c.path,
                                      as_is=self.engine.decodes_images)
        except ItemFailed as e:
            return Outcome("failed", c, sha, photo_id=photo_id, reason=e.reason,
                           permanent=e.permanent, too_small=isinstance(e, TooSmall))
        # The writer needs the photo's size, format and date, never its bytes: outcomes waiting
        # for it hold no image (with 32 workers, 41-44 photos were in memory, not 32).
        header = replace(prepared, data=b"")
        if self.dry_run:
            return Outcome("would_analyse", c, sha, prepared=header)
        if self.budget is not None and not self.budget.reserve():
            return Outcome("over_budget", c, sha, photo_id=photo_id)
        if self.uploader:
            try:
                self.uploader.put(sha, prepared.format, data)
            except Exception as e:  # storage is optional; the photo is retried next run
                return Outcome("failed", c, sha, reason=f"S3 copy failed: {e}", permanent=False)
        out = Outcome("analysed", c, sha, photo_id=photo_id, prepared=header)
        if self.read_xmp:
            from pathlib import Path

            from photosense_cli import xmp

            out.regions, out.metadata_problems = xmp.read_names(Path(c.path),
                                                                prepared.orientation, data)
        faces: list[DetectedFace] = []
        try:
            call = partial(self.pacers.call, ticket=ticket)
            if self.calls is None:
                faces = self._index(prepared.data, sha, out.usage, ticket)
                out.lines = call(self.text_operation, self._read_text, prepared.data, out.usage)
                for face in faces:
                    out.faces.append((face, call("SearchFaces", self.engine.search_faces,
                                                 face.face_id, FACE_MATCH_THRESHOLD, out.usage)))
            else:
                indexed: cf.Future[list[DetectedFace]] = self.calls.submit(
                    self._index, prepared.data, sha, out.usage, ticket)
                text: cf.Future[list[TextLine]] = self.calls.submit(
                    call, self.text_operation, self._read_text, prepared.data, out.usage)
                both: list[cf.Future] = [indexed, text]
                cf.wait(both)
                if indexed.exception() is None:
                    faces = indexed.result()  # kept first: deleted below if the text failed
                error = indexed.exception() or text.exception()
                if error is not None:
                    raise error
                out.lines = text.result()
                searches = [self.calls.submit(call, "SearchFaces", self.engine.search_faces,
                                              face.face_id, FACE_MATCH_THRESHOLD, out.usage)
                            for face in faces]
                out.faces = [(face, s.result()) for face, s in zip(faces, searches, strict=True)]
        except ItemFailed as e:
            out.kind, out.reason, out.permanent = "failed", e.reason, e.permanent
            out.orphans_left = not self._delete_quietly([f.face_id for f in faces])
        except EngineError:
            self._delete_quietly([f.face_id for f in faces])
            raise
        return out

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


def read_image(path: str, size: int) -> bytes | None:
    """The bytes of an image file, read once; None for a file that is no image at all.

    A video or any other non-image is never read whole (its first 32 bytes say what it
    is), and never a failure, whatever its size.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(32)
            if images.sniff(head, path) is None:
                return None
            if size > images.MAX_FILE_BYTES:
                raise ItemFailed(f"file too large ({size / 2**20:,.0f} MB; photosense reads "
                               f"images up to {images.MAX_FILE_BYTES // 2**20} MB)")
            return head + f.read()
    except OSError as e:
        raise ItemFailed(os_reason(e)) from None


def _is_image_file(path: str) -> bool:
    """Whether a file's first 32 bytes name an image format: the count a first cloud import
    asks about. It counted every file (labels.csv, LICENSE) as a photo: 35 where the dry
    run and the summary said 27."""
    try:
        with open(path, "rb") as f:
            return images.sniff(f.read(32), path) is not None
    except OSError:
        return False


def _not_an_image(c: Candidate) -> Outcome:
    if os.path.splitext(c.path)[1].lower() not in images.IMAGE_SUFFIXES:
        return Outcome("ignored", c)
    if c.size == 0:
        return Outcome("failed", c, reason="empty file")
    return Outcome("failed", c, reason="not an image: its content is no image format photosense reads")


# -- the pipeline (the writer) ----------------------------------------------------


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

    def run(self, items: list[T], work: Callable[[T], Outcome],
            store: Callable[[Outcome], None],
            then: Callable[[], list[T]] = lambda: [],
            started: float | None = None) -> RunSummary:
        """Process the items, then whatever `then` returns once they are all stored.

        started: when the job began (an import's scan comes before its items), for `seconds`.
        """
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
        catalogued = self.cat.engine_face_ids()
        orphans = [fid for fid, _ in self.engine.list_faces() if fid not in catalogued]
        if orphans:
            self.engine.delete_faces(orphans)
        self.summary.recovered_faces = len(orphans)
        self.cat.mark_recovered(self.run_id)

    def _process(self, items: list[T], work: Callable[[T], Outcome],
                 store: Callable[[Outcome], None]) -> None:
        window = self.threads * 4  # bounds memory: at most this many photos' bytes in flight
        pool = cf.ThreadPoolExecutor(self.threads, thread_name_prefix="photosense")
        pending: set[cf.Future] = set()
        queue = iter(items)
        try:
            while True:
                for item in queue:
                    pending.add(pool.submit(work, item))
                    if len(pending) >= window:
                        break
                if not pending:
                    break
                done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                # Store every photo that finished before raising a fatal error of another.
                errors = []
                for future in done:
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


# -- import ------------------------------------------------------------------------

# The operation under which text read by the offline OCR for a cloud engine is logged
# (import --text local): no engine prices it, so it never counts as DetectText's cost.
OFFLINE_TEXT = "DetectText (offline)"
FACE_PROBE = "FaceProbe (offline)"  # import --prefilter local, free likewise

# Faces a photo, for estimates before a library has measured its own: family photo
# libraries run 0.8-1.5 (the shared test photos: 25 faces in 23 photos, 1.09).
ASSUMED_FACES = 1.0


class Importer:
    def __init__(self, cat: Catalogue, engine: Engine, *, threads: int | None = None,
                 dry_run: bool = False, uploader=None, exclude: Iterable[str] = (),
                 retry_failed: bool = False, read_xmp: bool = True,
                 max_cost: float | None = None, text_engine: Engine | None = None,
                 prefilter: FaceProbe | None = None,
                 before_calls: Callable[[Callable[[], int]], None] = lambda photos: None,
                 on_error: Callable[[dict], None] = lambda e: None,
                 on_progress: Callable[[int | None, str], None] = lambda total, path: None,
                 on_file: Callable[[str, str], None] = lambda path, what: None,
                 on_photo: Callable[[int], None] = lambda faces: None):
        self.cat = cat
        self.engine = engine
        self.dry_run = dry_run
        self.on_file = on_file  # what happened to each file (-v)
        self.on_photo = on_photo  # a new photo stored, with its number of faces (progress)
        self.uploader = uploader
        self.exclude = list(exclude)
        self.read_xmp = read_xmp
        self.max_cost = max_cost
        self.text_engine = text_engine
        self.prefilter = prefilter
        self.text_operation = text_operation(text_engine)
        self.budget = Budget(None, 0.0)  # made with the run's own estimate in run()
        self.named_from_xmp: list[dict] = []  # one undoable change for the whole import
        self.before_calls = before_calls  # after the scan, before any engine call
        self.summary = RunSummary("import", engine.name, str(cat.path), dry_run=dry_run)
        self.pipeline: Pipeline[Candidate] = Pipeline(
            cat, engine, self.summary, threads=threads or engine.default_workers or 1,
            on_error=on_error, on_progress=on_progress)
        self.clusterer = Clusterer(cat)
        self.index = ContentIndex(cat.photo_ids_by_hash(), cat.forgotten_hashes())
        self.locations: dict[str, tuple[int, int, int]] = {}
        self.faces_per_photo = (ASSUMED_FACES, False)  # what a dry run's estimate used
        self.failures: dict[str, tuple[int, int, bool]] = {} if retry_failed else cat.failures()
        self.remembered = set(cat.failures()) if retry_failed else set(self.failures)

    def run(self, paths: Iterable[str]) -> RunSummary:
        started = time.perf_counter()
        self.locations = self.cat.locations_by_path()
        forgotten_paths = self.cat.forgotten_paths()
        scanner = Scanner(self._scan_error, self.exclude,
                          on_excluded=lambda path: self.on_file(path, "excluded"))
        todo, seen, companions = [], set(), []
        for c in scanner.scan(paths):
            seen.add(c.path)
            known = self.locations.get(c.path)
            if known and known[0] == c.size and known[1] == c.mtime_ns:
                self.summary.skipped += 1
                self.on_file(c.path, "unchanged")
            elif forgotten_paths.get(c.path) == (c.size, c.mtime_ns):
                self.summary.forgotten += 1  # forgotten by path: its photo lives elsewhere
                self.on_file(c.path, "forgotten")
            elif (failed := self.failures.get(c.path)) and failed[:2] == (c.size, c.mtime_ns):
                # failed (or was too small) before and unchanged: not read again
                if failed[2]:
                    self.summary.too_small += 1
                    self.on_file(c.path, "too small (unchanged)")
                else:
                    self.summary.known_failures += 1
                    self.on_file(c.path, "failed before (unchanged)")
            elif _developed_sibling(c.path):
                companions.append(c)
            else:
                todo.append(c)
        self.summary.excluded = scanner.excluded
        # counted only when asked for: 32 bytes a new file, for a cloud import's question
        self.before_calls(lambda: sum(1 for c in todo if _is_image_file(c.path)))
        if self.max_cost is not None:  # reruns without a cap pay no query for it
            faces_each = max(ASSUMED_FACES, self.cat.faces_per_photo() or ASSUMED_FACES)
            self.budget = Budget(self.max_cost, cost_usd(self.engine, {
                "IndexFaces": 1, self.text_operation: 1, "SearchFaces": faces_each}))
        analyser = Analyser(self.engine, self.index, dry_run=self.dry_run, uploader=self.uploader,
                            stop=self.pipeline.stop, read_xmp=self.read_xmp, budget=self.budget,
                            text_engine=self.text_engine, prefilter=self.prefilter,
                            call_threads=2 * self.pipeline.threads
                            if self.engine.parallel_calls else 0)
        try:
            self.pipeline.run(todo, analyser, self._write,
                              then=lambda: self._pair_with_siblings(companions), started=started)
        finally:
            analyser.close()
            if self.named_from_xmp:
                with self.cat.transaction():
                    n = len(self.named_from_xmp)
                    self.cat.log_change("xmp-names", f"named {n} {'person' if n == 1 else 'people'}"
                                        " from names in the photos' metadata",
                                        {"names": self.named_from_xmp})
        self.summary.people_hidden = self.clusterer.hidden_background
        self._mark_gone(scanner.folders, seen)
        if self.dry_run:
            self._estimate_searches()
        return self.summary

    def _pair_with_siblings(self, companions: list[Candidate]) -> list[Candidate]:
        """A RAW and the JPEG (or HEIC) the camera wrote beside it are one photo: the RAW
        becomes another path of the JPEG's photo, whose faces were sent once. A RAW whose
        sibling is not in the library (excluded, failed) is analysed on its own."""
        alone: list[Candidate] = []
        if self.dry_run:  # nothing is stored: each RAW would be a path of its sibling's photo
            self.summary.known += len(companions)
            return alone
        for c in companions:
            sibling = _developed_sibling(c.path)
            photo_id = self.cat.photo_id_at(sibling) if sibling else None
            if photo_id is None:
                alone.append(c)
            else:
                self._add_path(photo_id, c)
        return alone

    def _scan_error(self, path: str, reason: str) -> None:
        """A file or folder the scan could not use: reported once, remembered like a failure."""
        path = text_path(path)
        try:
            st = os.lstat(path)
            ident = (st.st_size, st.st_mtime_ns)
        except OSError:
            ident = (0, 0)
        failed = self.failures.get(path)
        if failed is not None and failed[:2] == ident:
            self.summary.known_failures += 1
            return
        self.pipeline.on_error(self.summary.fail(path, reason))
        self._remember_failure(path, *ident, reason)

    def _mark_gone(self, folders: list[str], seen: set[str]) -> None:
        """Catalogued paths under the scanned folders that are no longer on disk."""
        gone = [p for folder in folders for p in self.cat.live_paths_under(folder)
                if p not in seen and not os.path.lexists(p)]
        self.summary.gone = len(gone)
        if gone and not self.dry_run:
            with self.cat.transaction():
                self.cat.mark_gone(gone)
                self.summary.moved = self.cat.count_paths_still_elsewhere(gone)
        for path in gone:
            self.on_file(path, "gone")

    def _remember_failure(self, path: str, size: int, mtime_ns: int, reason: str,
                          too_small: bool = False) -> None:
        if not self.dry_run:
            with self.cat.transaction():
                self.cat.record_failure(path, size, mtime_ns, reason, too_small)

    def _fail(self, o: Outcome, c: Candidate, reason: str | None = None) -> None:
        if o.too_small:
            self.summary.too_small += 1
            self.on_file(c.path, f"skipped: {reason or o.reason}")
            self._remember_failure(text_path(c.path), c.size, c.mtime_ns, reason or o.reason,
                                   too_small=True)
            return
        self.pipeline.fail(o, c.path, reason)
        if o.permanent:
            self._remember_failure(text_path(c.path), c.size, c.mtime_ns, reason or o.reason)

    def _write(self, o: Outcome) -> None:
        s, c = self.summary, o.candidate
        if o.kind == "ignored":
            s.ignored += 1
            self.on_file(c.path, "not a photo")
        elif o.kind == "forgotten":
            s.forgotten += 1
            self.on_file(c.path, "forgotten")
        elif o.kind == "failed":
            self._fail(o, c)
            self.pipeline.log_failed_calls(o)
            self.budget.settle(cost_usd(self.engine, Counter(o.usage.operations())))
            if o.sha256:
                for copy in self.index.failed(o.sha256, o.reason):
                    self._fail(o, copy)
        elif o.kind == "known":
            self._add_path(o.photo_id, c)
        elif o.kind == "copy":
            state, photo_id, reason = self.index.place_copy(o.sha256, c)
            if state == "known":
                self._add_path(photo_id, c)
            elif state == "failed":
                self._fail(o, c, reason)
        elif o.kind == "over_budget":
            s.over_budget += 1 + len(self.index.release(o.sha256))
            s.max_cost_reached = True
        elif o.kind == "would_analyse":
            s.new += 1
            s.note_added(c.path)
            self.on_file(c.path, "would be analysed")
            s.calls.update({"IndexFaces": 1, self.text_operation: 1})
            if self.prefilter is not None:  # IndexFaces then counts as at most one a photo
                s.calls.update({FACE_PROBE: 1})
            s.known += len(self.index.written(o.sha256, None))
        elif o.kind == "analysed":
            self._store(o)

    def _add_path(self, photo_id: int | None, c: Candidate) -> None:
        self.summary.known += 1
        self.on_file(c.path, "copy of a catalogued photo")
        if photo_id is None or self.dry_run:
            return
        before = self.locations.get(c.path)
        dropped: list[str] = []
        with self.cat.transaction():
            self.cat.record_location(photo_id, c.path, c.size, c.mtime_ns)
            if c.path in self.remembered:
                self.cat.clear_failure(c.path)
            if before is not None and before[2] != photo_id:
                # The file now holds content the library knows from elsewhere: what it held
                # before is gone from here, and from everywhere if it had no other path.
                self._drop_if_pathless(before[2], dropped)
                self.cat.delete_faceless_people()
        self._delete_from_engine(dropped)

    def _store(self, o: Outcome) -> None:
        s, c, p = self.summary, o.candidate, o.prepared
        assert p is not None
        taken, source = (p.taken_at, "exif") if p.taken_at else (_mtime_iso(c.mtime_ns), "file")
        before = self.locations.get(c.path)  # this path held other content before: an edit
        dropped: list[str] = []
        with self.cat.transaction():
            photo_id = self.cat.insert_photo({
                "sha256": o.sha256, "size": c.size, "width": p.width, "height": p.height,
                "format": p.format, "taken_at": taken, "taken_at_source": source,
                "engine": self.engine.name,
            })
            self.cat.record_location(photo_id, c.path, c.size, c.mtime_ns)
            persons = self._persons_from_before(o, before, dropped)
            owners: list[int] = [0] * len(o.faces)
            in_photo: set[int] = set()
            # the surest faces choose first: of two faces that match one person, the weaker
            # goes to its next-best person (two faces of a photo are two people)
            order = sorted(range(len(o.faces)), key=lambda i: -max(
                (m.similarity for m in o.faces[i][1]), default=0.0))
            for i in order:
                face, matches = o.faces[i]
                s.people_created += self.clusterer.assign(photo_id, face, matches,
                                                          person=persons.get(i), taken=in_photo)
                assert self.clusterer.last_person is not None
                owners[i] = self.clusterer.last_person
                in_photo.add(owners[i])
            if o.regions:
                self._names_from_metadata(photo_id, o, owners)
            if dropped:
                self.cat.delete_faceless_people()
            self.cat.insert_text_lines(photo_id, o.lines)
            self.cat.log_calls(self.pipeline.run_id, self.engine.name, o.usage, o.sha256)
            if c.path in self.remembered:
                self.cat.clear_failure(c.path)
            # Copies that waited for this photo become its paths, in the same transaction.
            copies = self.index.written(o.sha256, photo_id)
            for copy in copies:
                self.cat.record_location(photo_id, copy.path, copy.size, copy.mtime_ns)
        self._delete_from_engine(dropped)
        self.budget.settle(cost_usd(self.engine, Counter(o.usage.operations())))
        s.new += 1
        s.note_added(c.path)
        self.on_photo(len(o.faces))
        self.on_file(c.path, f"new: {len(o.faces)} face{'s' * (len(o.faces) != 1)}, "
                     f"{len(o.lines)} line{'s' * (len(o.lines) != 1)} of text")
        for copy in copies:
            self.on_file(copy.path, "copy of a catalogued photo")
        s.known += len(copies)
        s.faces += len(o.faces)
        s.text_lines += len(o.lines)
        self.pipeline.count_calls(o)
        for source, reason in o.metadata_problems:
            self.pipeline.fail(o, source, reason)

    def _persons_from_before(self, o: Outcome, before: tuple[int, int, int] | None,
                             dropped: list[str]) -> dict[int, int]:
        """Face index -> person, for faces that were in this photo before.

        Two cases keep what the user taught: a file edited in place (its old photo,
        left with no other path, is replaced; its faces' people carry over by box
        overlap) and a photo whose 'forget' was undone (its old people come back).
        The caller holds the transaction.
        """
        from photosense_cli.reindex import pair_faces

        new_boxes = [f.box for f, _ in o.faces]
        persons: dict[int, int] = {}
        restore = self.cat.take_restorable(o.sha256)
        if restore:
            pairs = pair_faces(new_boxes, [Box(**r["box"]) for r in restore])
            for i, j in pairs.items():
                persons[i] = self.cat.revive_person(restore[j]["person"])
        if before is not None:
            old_faces = self._drop_if_pathless(before[2], dropped)
            pairs = pair_faces(new_boxes, [f.box for f in old_faces])
            for i, j in pairs.items():
                person = old_faces[j].person_id
                if person is not None:
                    persons.setdefault(i, person)
        return persons

    def _names_from_metadata(self, photo_id: int, o: Outcome, owners: list[int]) -> None:
        """Names other tools wrote into the photo count (the caller holds the transaction).

        A named region lies over a detected face when their boxes overlap by IoU >= 0.3 or
        the face's centre is inside the region (hand-drawn regions are often looser or
        tighter than a detector's box); the best overlap wins. Its person, if unnamed, takes
        the name; a person named otherwise gets a hint; a name another person already has
        becomes a merge suggestion instead, since only the engine can say they are one.
        A region over no face is kept for a later engine or reindex.
        """
        boxes = [f.box for f, _ in o.faces]
        given: set[str] = set()
        for region in o.regions:
            if region.box is None:
                continue
            scores = [(_overlap(b, region.box), i) for i, b in enumerate(boxes)]
            best = max(scores, default=(0.0, -1))
            if best[0] <= 0:
                self.cat.add_xmp_region(photo_id, region.name, region.box, region.source)
                continue
            given.add(region.name)
            self._name_person(owners[best[1]], region.name, region.source)
        for region in o.regions:  # PersonInImage alone: no box to match, kept for the user
            if region.box is None and region.name not in given:
                self.cat.add_xmp_region(photo_id, region.name, None, region.source)

    def _name_person(self, person_id: int, name: str, source: str) -> None:
        person = self.cat.person(person_id)
        if person is None:
            return
        if person.named:
            if person.name.casefold() != name.casefold():
                self.cat.add_name_hint(person_id, name, source)
            return
        others = [p for p in self.cat.people_named(name) if p.id != person_id]
        if others:
            self.cat.add_suggestion(person_id, others[0].id, 0.0, "xmp")
            return
        self.named_from_xmp.append({"person": person_id, "name": person.name, "named": False,
                                    "source": person.name_source})
        self.cat.set_name(person_id, name, True, source)

    def _drop_if_pathless(self, photo_id: int, dropped: list[str]) -> list[Face]:
        """Delete a photo whose last path now holds other content; returns its faces."""
        if self.cat.paths_of([photo_id]):
            return []
        old_faces = self.cat.faces_of_photo(photo_id)
        dropped += [f.engine_face_id for f in old_faces]
        self.cat.delete_photos([photo_id])  # the caller then deletes people left faceless
        self.summary.replaced += 1
        return old_faces

    def _delete_from_engine(self, face_ids: list[str]) -> None:
        """Faces of a replaced photo: deleted after the commit, so a failure loses nothing."""
        if not face_ids:
            return
        try:
            self.engine.delete_faces(face_ids)
        except (ItemFailed, EngineError):
            self.pipeline.orphans_left = True  # the next run's recovery deletes them

    def _estimate_searches(self) -> None:
        """SearchFaces is one call per face: estimate faces from this library's average so far,
        one face a photo for a library with no photo yet."""
        measured = self.cat.faces_per_photo()
        per_photo = ASSUMED_FACES if measured is None else measured
        self.faces_per_photo = (per_photo, measured is not None)
        self.summary.calls["SearchFaces"] = round(self.summary.new * per_photo)
        self.summary.cost_usd = cost_usd(self.engine, self.summary.calls)


_DEVELOPED = (".jpg", ".JPG", ".jpeg", ".JPEG", ".heic", ".HEIC", ".heif", ".HEIF")


def _developed_sibling(path: str) -> str | None:
    """For a RAW file, the JPEG or HEIC of the same shot beside it (IMG_1.CR2, IMG_1.JPG)."""
    stem, ext = os.path.splitext(path)
    if ext.lower() not in images.RAW_SUFFIXES:
        return None
    return next((stem + e for e in _DEVELOPED if os.path.isfile(stem + e)), None)


def _overlap(face: Box, region: Box) -> float:
    """How well a region names a face: IoU, or a token 0.3 when only the face's centre is
    inside the region; 0 for no overlap that counts."""
    iou = face.iou(region)
    if iou >= 0.3:
        return iou
    cx, cy = face.left + face.width / 2, face.top + face.height / 2
    inside = (region.left <= cx <= region.left + region.width
              and region.top <= cy <= region.top + region.height)
    return 0.3 if inside else 0.0


def _mtime_iso(mtime_ns: int) -> str:
    """The file's mtime in this machine's local time, with its offset (no EXIF date)."""
    return dt.datetime.fromtimestamp(mtime_ns / 1e9).astimezone().replace(microsecond=0).isoformat()
