"""The import lock: one import per library at a time."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from photosense_cli.errors import LibraryBusy
from photosense_cli.files import make_folder


@contextlib.contextmanager
def import_lock(db_path: Path, wait: float = 0.0) -> Iterator[None]:
    """One import per library at a time: a second one waits up to `wait` seconds, then refuses.

    flock is released by the kernel when the process dies, so a kill -9 never
    leaves a stale lock behind.
    """
    lock_path = Path(str(db_path) + ".lock")
    make_folder(lock_path.parent)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                    raise LibraryBusy(
                        f"another import is running on {db_path} (pid {holder}); "
                        "wait for it, or pass --wait SECONDS"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)


def process_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True
