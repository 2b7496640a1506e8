"""Writing the files photosense makes for the user (crops, sheets, sidecars) safely.

They hold face data, so they are private by default, and they are replaced whole:
written to a temporary file beside the target, then renamed over it, so a reader
never sees half a file and a failure leaves the old one as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def replace_atomically(path: Path, write: Callable[[BinaryIO], object], mode: int = 0o600) -> None:
    """Write `path` through a temporary file with this mode; OSError as the system says."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, mode)  # whatever the umask took away at creation
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
