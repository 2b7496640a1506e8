"""Scanning: the folders walked, what is excluded, and the bytes of each image read once."""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Callable, Iterable, Iterator

from photosense_cli import images
from photosense_cli.errors import ItemFailed, os_reason
from photosense_cli.pipeline.state import Candidate, Outcome, OutcomeKind

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


def is_image_file(path: str) -> bool:
    """Whether a file's first 32 bytes name an image format: the count a first cloud import
    asks about. It counted every file (labels.csv, LICENSE) as a photo: 35 where the dry
    run and the summary said 27."""
    try:
        with open(path, "rb") as f:
            return images.sniff(f.read(32), path) is not None
    except OSError:
        return False


def not_an_image(c: Candidate) -> Outcome:
    if os.path.splitext(c.path)[1].lower() not in images.IMAGE_SUFFIXES:
        return Outcome(OutcomeKind.IGNORED, c)
    if c.size == 0:
        return Outcome(OutcomeKind.FAILED, c, reason="empty file")
    return Outcome(OutcomeKind.FAILED, c,
                   reason="not an image: its content is no image format photosense reads")


_DEVELOPED = (".jpg", ".JPG", ".jpeg", ".JPEG", ".heic", ".HEIC", ".heif", ".HEIF")


def developed_sibling(path: str) -> str | None:
    """For a RAW file, the JPEG or HEIC of the same shot beside it (IMG_1.CR2, IMG_1.JPG)."""
    stem, ext = os.path.splitext(path)
    if ext.lower() not in images.RAW_SUFFIXES:
        return None
    return next((stem + e for e in _DEVELOPED if os.path.isfile(stem + e)), None)


def mtime_iso(mtime_ns: int) -> str:
    """The file's mtime in this machine's local time, with its offset (no EXIF date)."""
    return dt.datetime.fromtimestamp(mtime_ns / 1e9).astimezone().replace(microsecond=0).isoformat()
