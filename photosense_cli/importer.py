"""The import: scan folders, prepare each new image, analyse it, cluster its faces, store it.

Threads read, prepare and call the engine in parallel; the calling thread is
the catalogue's only writer and commits each photo in one transaction, so an
interrupted run loses at most the photos in flight. Faces those photos left in
the engine's collection are found and deleted at the start of the next run.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import os
import stat
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from photosense_cli import images
from photosense_cli.catalogue import Catalogue
from photosense_cli.engines.base import (
    FACE_MATCH_THRESHOLD, Engine, Face, KnownFace, Match, TextLine, Usage, estimate_cost,
)
from photosense_cli.errors import BadImage, EngineError
from photosense_cli.people import Clusterer

DEFAULT_WORKERS = 16  # engine calls are network-bound; adaptive retries absorb throttling


@dataclass
class Candidate:
    path: str
    size: int
    mtime_ns: int


@dataclass
class Outcome:
    kind: str  # analysed | known | copy | failed | ignored | forgotten | would_analyse
    candidate: Candidate
    sha256: str = ""
    photo_id: int | None = None
    prepared: images.Prepared | None = None
    faces: list[tuple[Face, list[Match]]] = field(default_factory=list)
    lines: list[TextLine] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    reason: str = ""
    orphans_left: bool = False


@dataclass
class Summary:
    engine: str
    library: str
    dry_run: bool = False
    new: int = 0
    known: int = 0
    skipped: int = 0
    failed: int = 0
    ignored: int = 0
    forgotten: int = 0
    faces: int = 0
    people_created: int = 0
    text_lines: int = 0
    calls: Counter = field(default_factory=Counter)
    errors: list[dict] = field(default_factory=list)
    recovered_faces: int = 0
    seconds: float = 0.0

    def fail(self, path: str, reason: str) -> dict:
        self.failed += 1
        error = {"path": text_path(path), "reason": reason}
        self.errors.append(error)
        return error

    def as_dict(self) -> dict:
        return {
            "library": self.library,
            "engine": self.engine,
            "dry_run": self.dry_run,
            "photos": {"new": self.new, "known": self.known, "skipped": self.skipped,
                       "failed": self.failed, "ignored": self.ignored,
                       "forgotten": self.forgotten},
            "faces": self.faces,
            "people_created": self.people_created,
            "text_lines": self.text_lines,
            "calls": dict(sorted(self.calls.items())),
            "estimated_cost_usd": estimate_cost(self.engine, self.calls),
            "recovered_faces": self.recovered_faces,
            "seconds": round(self.seconds, 3),
            "errors": self.errors,
        }


def text_path(path: str) -> str:
    """A path that JSON and SQLite can hold: bytes that are not UTF-8 become \\xNN escapes."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


# -- scanning ---------------------------------------------------------------


def scan(paths: Iterable[str], on_error: Callable[[str, str], None]) -> Iterator[Candidate]:
    """Regular files below the given paths, sorted, following links but never looping.

    Hidden files and folders (.thumbnails, macOS ._ files) are left out.
    """
    for root in paths:
        root = os.path.abspath(os.fspath(root))
        try:
            st = os.stat(root)
        except OSError as e:
            on_error(root, _os_reason(e))
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk(root, ((st.st_dev, st.st_ino),), on_error)
        else:
            candidate = _candidate(root, st, on_error)
            if candidate:
                yield candidate


def _walk(folder: str, ancestors: tuple, on_error) -> Iterator[Candidate]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        on_error(folder, _os_reason(e))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        try:
            st = entry.stat()  # follows symlinks
        except OSError as e:
            on_error(entry.path, _os_reason(e))
            continue
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in ancestors:
                on_error(entry.path, "directory loop: links back to a folder above it")
                continue
            yield from _walk(entry.path, ancestors + (key,), on_error)
        else:
            candidate = _candidate(entry.path, st, on_error)
            if candidate:
                yield candidate


def _candidate(path: str, st: os.stat_result, on_error) -> Candidate | None:
    if not stat.S_ISREG(st.st_mode):
        return None
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        on_error(path, "file name is not valid UTF-8; rename the file to import it")
        return None
    return Candidate(path, st.st_size, st.st_mtime_ns)


def _os_reason(e: OSError) -> str:
    return f"cannot read: {e.strerror or e}"


# -- preparing and analysing (worker threads) -------------------------------


class Analyser:
    """The work done for one file in a worker thread: read once, hash, prepare, call the engine."""

    def __init__(self, engine: Engine, known: dict[str, int], forgotten: set[str],
                 dry_run: bool, uploader=None):
        self.engine = engine
        self.known = known
        self.forgotten = forgotten
        self.dry_run = dry_run
        self.uploader = uploader
        self.claimed: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, c: Candidate) -> Outcome:
        if c.size > images.MAX_FILE_BYTES:
            return Outcome("failed", c, reason=f"file too large ({c.size / 2**20:,.0f} MB; "
                           f"photosense reads images up to {images.MAX_FILE_BYTES // 2**20} MB)")
        try:
            with open(c.path, "rb") as f:
                head = f.read(32)  # a video is not read whole just to learn it is no image
                if images.sniff(head) is None:
                    return self._not_an_image(c, head)
                data = head + f.read()
        except OSError as e:
            return Outcome("failed", c, reason=_os_reason(e))
        sha = hashlib.sha256(data).hexdigest()
        if sha in self.forgotten:
            return Outcome("forgotten", c, sha)
        with self.lock:
            if sha in self.known:
                return Outcome("known", c, sha, photo_id=self.known[sha])
            if sha in self.claimed:  # a copy of a file another thread is analysing
                return Outcome("copy", c, sha)
            self.claimed.add(sha)
        try:
            prepared = images.prepare(data, min_side=self.engine.min_side)
        except BadImage as e:
            return Outcome("failed", c, sha, reason=e.reason)
        if self.dry_run:
            return Outcome("would_analyse", c, sha, prepared=prepared)
        if self.uploader:
            try:
                self.uploader.put(sha, prepared.format, data)
            except Exception as e:  # storage is optional; the photo is retried next run
                return Outcome("failed", c, sha, reason=f"S3 copy failed: {e}")
        return self.analyse(c, sha, prepared)

    def remember(self, sha: str, photo_id: int) -> None:
        """A photo is now catalogued: later copies in this run are known, not analysed."""
        with self.lock:
            self.known[sha] = photo_id

    @staticmethod
    def _not_an_image(c: Candidate, head: bytes) -> Outcome:
        if os.path.splitext(c.path)[1].lower() not in images.IMAGE_SUFFIXES:
            return Outcome("ignored", c)
        if not head:
            return Outcome("failed", c, reason="empty file")
        return Outcome("failed", c, reason="not an image: its content is no image format photosense reads")

    def analyse(self, c: Candidate, sha: str, prepared: images.Prepared) -> Outcome:
        out = Outcome("analysed", c, sha, prepared=prepared)
        faces: list[Face] = []
        try:
            faces = self.engine.index_faces(prepared.data, sha, out.usage)
            out.lines = self.engine.detect_text(prepared.data, out.usage)
            out.faces = [
                (face, self.engine.search_faces(face.face_id, FACE_MATCH_THRESHOLD, out.usage))
                for face in faces
            ]
        except BadImage as e:
            out.kind, out.reason = "failed", e.reason
            out.orphans_left = not self._delete_quietly([f.face_id for f in faces])
        except EngineError:
            self._delete_quietly([f.face_id for f in faces])
            raise
        return out

    def _delete_quietly(self, face_ids: list[str]) -> bool:
        if not face_ids:
            return True
        try:
            self.engine.delete_faces(face_ids)
            return True
        except Exception:
            return False


# -- the run (the writer) ----------------------------------------------------


class Importer:
    def __init__(self, cat: Catalogue, engine: Engine, *, workers: int = DEFAULT_WORKERS,
                 dry_run: bool = False, uploader=None,
                 on_error: Callable[[dict], None] = lambda e: None,
                 on_progress: Callable[[int | None, str], None] = lambda total, path: None):
        self.cat = cat
        self.engine = engine
        self.workers = max(1, workers)
        self.dry_run = dry_run
        self.uploader = uploader
        self.on_error = on_error
        self.on_progress = on_progress
        self.summary = Summary(engine.name, str(cat.path), dry_run=dry_run)
        self.clusterer = Clusterer(cat)
        self.run_id: int | None = None
        self._copies: dict[str, list[Candidate]] = defaultdict(list)
        self._written: dict[str, int] = {}
        self._orphans_left = False

    def run(self, paths: Iterable[str]) -> Summary:
        start = time.perf_counter()
        locations = self.cat.locations_by_path()
        candidates = list(scan(paths, self._error))
        todo = []
        for c in candidates:
            seen = locations.get(c.path)
            if seen and seen[0] == c.size and seen[1] == c.mtime_ns:
                self.summary.skipped += 1
            else:
                todo.append(c)
        self.on_progress(len(todo), "")
        if not self.dry_run:
            self.run_id, crashed = self.cat.start_run("import")
        status = "interrupted"
        try:
            if todo and not self.dry_run:
                self._open_collection(recover=crashed)
            self._process(todo)
            status = "partial" if self.summary.failed else "ok"
        finally:
            self.summary.seconds = time.perf_counter() - start
            if self.run_id is not None:
                if self._orphans_left:
                    status = "interrupted"  # makes the next run look for orphaned faces
                self.cat.finish_run(self.run_id, status, self.summary.as_dict())
        return self.summary

    def _open_collection(self, recover: bool) -> None:
        cat = self.cat
        collection = cat.get_meta("collection_id")
        if collection is None:
            collection = f"photosense-{cat.get_meta('library_id')}"
            with cat.transaction():
                cat.set_meta("collection_id", collection)
        known = (KnownFace(fid, desc) for fid, desc in cat.face_descriptors())
        self.engine.open_collection(collection, known)
        if recover:
            # A run died between the engine and the catalogue: delete the faces it left behind.
            catalogued = cat.engine_face_ids()
            orphans = [fid for fid, _ in self.engine.list_faces() if fid not in catalogued]
            if orphans:
                self.engine.delete_faces(orphans)
            self.summary.recovered_faces = len(orphans)
            cat.mark_recovered(self.run_id)

    def _process(self, todo: list[Candidate]) -> None:
        forgotten = {r[0] for r in self.cat.conn.execute("SELECT sha256 FROM forgotten")}
        analyser = Analyser(self.engine, self.cat.photo_ids_by_hash(), forgotten,
                            self.dry_run, self.uploader)
        self._analyser = analyser
        window = self.workers * 4  # bounds memory: at most this many photos' bytes in flight
        with cf.ThreadPoolExecutor(self.workers, thread_name_prefix="photosense") as pool:
            pending: set[cf.Future] = set()
            queue = iter(todo)
            try:
                while True:
                    for c in queue:
                        pending.add(pool.submit(analyser, c))
                        if len(pending) >= window:
                            break
                    if not pending:
                        break
                    done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                    # Store every photo that finished before raising a fatal error of another.
                    errors = [e for e in map(cf.Future.exception, done) if e is not None]
                    for outcome in (f.result() for f in done if f.exception() is None):
                        self._write(outcome)
                        self.on_progress(None, outcome.candidate.path)
                    if errors:
                        raise errors[0]
            except BaseException:
                for f in pending:
                    f.cancel()
                raise

    # -- writing outcomes ---------------------------------------------------

    def _write(self, o: Outcome) -> None:
        s, c = self.summary, o.candidate
        if o.kind == "ignored":
            s.ignored += 1
        elif o.kind == "forgotten":
            s.forgotten += 1
        elif o.kind == "failed":
            self._error(c.path, o.reason)
            self._orphans_left |= o.orphans_left
            self._log_calls(o)
            for copy in self._copies.pop(o.sha256, []):
                self._error(copy.path, o.reason)
        elif o.kind == "known":
            s.known += 1
            if not self.dry_run:
                with self.cat.transaction():
                    self.cat.record_location(o.photo_id, c.path, c.size, c.mtime_ns)
        elif o.kind == "copy":
            if o.sha256 in self._written:
                s.known += 1
                if not self.dry_run:
                    with self.cat.transaction():
                        self.cat.record_location(self._written[o.sha256], c.path, c.size, c.mtime_ns)
            else:
                self._copies[o.sha256].append(c)
        elif o.kind == "would_analyse":
            s.new += 1
            s.calls.update({"IndexFaces": 1, "DetectText": 1})
            self._written[o.sha256] = 0
            s.known += len(self._copies.pop(o.sha256, []))
        elif o.kind == "analysed":
            self._store(o)

    def _store(self, o: Outcome) -> None:
        s, c, p = self.summary, o.candidate, o.prepared
        taken, source = (p.taken_at, "exif") if p.taken_at else (_mtime_iso(c.mtime_ns), "file")
        with self.cat.transaction():
            photo_id = self.cat.insert_photo({
                "sha256": o.sha256, "size": c.size, "width": p.width, "height": p.height,
                "format": p.format, "taken_at": taken, "taken_at_source": source,
                "engine": self.engine.name,
            })
            self.cat.record_location(photo_id, c.path, c.size, c.mtime_ns)
            copies = self._copies.pop(o.sha256, [])
            for copy in copies:
                self.cat.record_location(photo_id, copy.path, copy.size, copy.mtime_ns)
            for face, matches in o.faces:
                created = self.clusterer.assign(photo_id, face, matches)
                s.people_created += created
            self.cat.insert_text_lines(photo_id, o.lines)
            self.cat.log_calls(self.run_id, self.engine.name, o.usage, o.sha256)
        self._analyser.remember(o.sha256, photo_id)
        self._written[o.sha256] = photo_id
        s.new += 1
        s.known += len(copies)
        s.faces += len(o.faces)
        s.text_lines += len(o.lines)
        s.calls.update(op for op, _, _ in o.usage.calls)

    def _log_calls(self, o: Outcome) -> None:
        if o.usage.calls and not self.dry_run:
            self.summary.calls.update(op for op, _, _ in o.usage.calls)
            with self.cat.transaction():
                self.cat.log_calls(self.run_id, self.engine.name, o.usage, o.sha256 or None)

    def _error(self, path: str, reason: str) -> None:
        self.on_error(self.summary.fail(path, reason))


def estimate_dry_run(cat: Catalogue, summary: Summary) -> None:
    """SearchFaces is one call per face: estimate faces from this library's average so far."""
    photos = cat.scalar("SELECT count(*) FROM photos") or 0
    faces = cat.scalar("SELECT count(*) FROM faces") or 0
    per_photo = faces / photos if photos else 1.0
    summary.calls["SearchFaces"] = round(summary.new * per_photo)


def _mtime_iso(mtime_ns: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(mtime_ns / 1e9).replace(microsecond=0).isoformat()
