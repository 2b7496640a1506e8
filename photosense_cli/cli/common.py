"""What every command shares: the --library option, error handling, output helpers."""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from photosense_cli.catalogue import default_library_path
from photosense_cli.errors import PhotosenseError

LibraryOption = Annotated[
    Optional[Path],
    typer.Option("--library", "-L", help="Library file [default: $PHOTOSENSE_LIBRARY, "
                 "else library.db in the user data directory].", show_default=False),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def library_path(value: Path | None) -> Path:
    return value.expanduser() if value else default_library_path()


def err_console() -> Console:
    return Console(stderr=True, highlight=False)


def out_console() -> Console:
    return Console(highlight=False)


def display_path(path: str) -> str:
    """A path on one line, whatever its name holds (newlines, control characters)."""
    if path.isprintable():
        return path
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in path)


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def fail(message: str, code: int = 2):
    sys.stderr.write(f"photosense: {message}\n")
    raise typer.Exit(code)


def handle_errors(func):
    """Turn the project's errors into one line on stderr and their exit code."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except PhotosenseError as e:
            fail(str(e), e.exit_code)
        except KeyboardInterrupt:
            fail("interrupted; what was committed is kept, run the same command again to go on", 130)

    return wrapper
