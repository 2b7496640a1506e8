"""The one way photosense writes a file for the user: exports, sheets, crops, sidecars.

Every such file goes through `write_file`, which

- refuses what must never be replaced: the library file and its -wal, -shm and
  .lock, and any photo of the library, whatever name reaches them (a symlink, a
  hard link, `..`), and anything that is not a regular file (a device, a FIFO, a
  folder);
- writes a temporary file in the same folder, created 0600 with O_EXCL (never
  through a link someone planted), then renames it over the target, so a reader
  never sees half a file and a failure (a full disk) leaves the old one as it
  was;
- gives the file the mode asked for, also when it replaces an existing file:
  0600 for anything that ties names to faces, since faces are biometric data.

A symlinked target is written where the link points (as a shell's `>` would),
and the link stays.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from photosense_cli.errors import PhotosenseError

# The catalogue holds only photos it could decode, and hashing a candidate target costs a
# read of it: targets bigger than this are no copy of a photo we would refuse for.
HASH_LIMIT = 512 * 1024 * 1024


class ReadRefused(Exception):
    """A file photosense will not read (not a regular file, too big); `reason` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def read_limited(path: Path | str, limit: int, what: str) -> bytes:
    """The bytes of a file someone else may have put in a photo folder (a sidecar, a
    .photosenseignore): only from a regular file (a symlink counts for what it points to)
    of at most `limit` bytes. A link to /dev/zero or a FIFO is never read, and O_NONBLOCK
    keeps the open of a FIFO from waiting for a writer. FileNotFoundError when absent."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ReadRefused("not a regular file; not read")
        too_big = f"over the {limit:,}-byte limit of {what}; not read"
        if st.st_size > limit:
            raise ReadRefused(f"{st.st_size:,} bytes, {too_big}")
        parts, n = [], 0
        while n <= limit:  # the file can grow after the fstat: read one byte past the limit
            block = os.read(fd, min(1 << 20, limit + 1 - n))
            if not block:
                break
            parts.append(block)
            n += len(block)
        if n > limit:
            raise ReadRefused(too_big)
        return b"".join(parts)
    finally:
        os.close(fd)


class WriteRefused(PhotosenseError):
    """A target photosense will not write; the message names the file and the reason."""


@dataclass(frozen=True)
class Protected:
    """What a write must never replace: the library's own files, and its photos.

    `photo_at(path)` and `photo_with(sha256)` answer from the catalogue; the defaults
    protect nothing but the library files (for a library not opened yet).
    """

    library: Path
    photo_at: Callable[[str], bool] = field(default=lambda path: False)
    photo_with: Callable[[str], bool] = field(default=lambda sha256: False)

    def library_files(self) -> list[Path]:
        lib = Path(os.path.realpath(self.library))
        return [lib] + [lib.with_name(lib.name + s) for s in ("-wal", "-shm", "-journal",
                                                               ".lock")]


def make_folder(path: Path) -> None:
    """A folder for private files: created 0700 whatever the umask (0777 under umask 000)."""
    missing = []
    p = Path(path)
    while not p.exists() and p != p.parent:
        missing.append(p)
        p = p.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue
        os.chmod(folder, 0o700)  # whatever the umask took away, or left


def target_of(path: Path, protected: Protected | None) -> Path:
    """The real file a write to `path` would replace; WriteRefused when it must not."""
    real = Path(os.path.realpath(path))
    shown = str(path)
    if protected is not None:
        library = protected.library_files()
        if real in library:
            raise WriteRefused(f"{shown}: this is the library's own file; not written")
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise WriteRefused(f"{shown}: cannot write: {e.strerror or e}") from None
    if not real.parent.is_dir():
        raise WriteRefused(f"{shown}: cannot write: the folder {real.parent} does not exist")
    if st is None:
        return real
    if not stat.S_ISREG(st.st_mode):
        what = "a folder" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise WriteRefused(f"{shown}: {what}; name a file to write")
    if protected is not None:
        for lib in protected.library_files():
            try:
                if os.path.samestat(st, os.stat(lib)):  # a hard link to it
                    raise WriteRefused(f"{shown}: this is the library's own file; not written")
            except FileNotFoundError:
                continue
        if protected.photo_at(str(real)) or protected.photo_at(os.path.abspath(path)):
            raise WriteRefused(f"{shown}: this is a photo of the library; photosense never "
                               "replaces a photo")
        if 0 < st.st_size <= HASH_LIMIT and protected.photo_with(_sha256(real)):
            raise WriteRefused(f"{shown}: this file is a copy of a photo of the library; "
                               "photosense never replaces a photo")
    return real


def _sha256(path: Path) -> str:
    import hashlib  # every command opens a library, few write a file: imported when they do

    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    except OSError:
        return ""
    return h.hexdigest()


def write_file(path: Path, write: Callable[[BinaryIO], object], *, mode: int = 0o600,
               protected: Protected | None) -> Path:
    """Write `path` whole through a temporary file beside it; returns the file written.

    WriteRefused (exit 2, one line naming the file) when the target must not be
    replaced or the write fails; the old file is then as it was.
    """
    import tempfile  # with random and hashlib, ~3 ms a command that writes no file pays

    real = target_of(path, protected)
    try:
        fd, tmp = tempfile.mkstemp(dir=real.parent, prefix=f".{real.name}.", suffix=".tmp")
    except OSError as e:
        raise WriteRefused(f"{path}: cannot write: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), mode)  # mkstemp made it 0600; the umask plays no part
            os.fsync(f.fileno())  # the rename must not reach the disk before the bytes
        os.replace(tmp, real)
    except OSError as e:
        os.unlink(tmp)
        raise WriteRefused(f"{path}: cannot write: {e.strerror or e}") from None
    except BaseException:
        os.unlink(tmp)
        raise
    return real
