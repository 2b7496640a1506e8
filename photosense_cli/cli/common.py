"""Options every command shares, declared once, and where the library file is."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer

ENV_LIBRARY = "PHOTOSENSE_LIBRARY"


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


LibraryOption = Annotated[
    Optional[str],  # a str, not a Path: Path("newdir/") would lose the slash that means "a folder"
    typer.Option("--library", "-L", envvar=ENV_LIBRARY, show_envvar=True, show_default=False,
                 help="Library file, or a folder to keep library.db in. Default: library.db "
                 "in the user data directory (~/.local/share/photosense on Linux)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (same as --format json).")]
FormatOption = Annotated[Optional[Format], typer.Option(
    "--format", "-f", show_default=False, help="Output format: table (the default on a "
    "terminal), json, jsonl (one object a line) or csv.")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
ProfileOption = Annotated[Optional[str], typer.Option(
    envvar="AWS_PROFILE", show_envvar=False, help="AWS profile (Rekognition only).")]
RegionOption = Annotated[Optional[str], typer.Option(
    show_default=False, help="AWS region (Rekognition only). Default: AWS_REGION, "
    "AWS_DEFAULT_REGION or the profile's region, as the AWS CLI does.")]
WorkersOption = Annotated[Optional[int], typer.Option(
    min=1, max=64, envvar="PHOTOSENSE_WORKERS", show_envvar=True, show_default=False,
    help="Photos analysed at once. Default: 16 for Rekognition, one per core for local.")]


def library_path(value: str | None) -> Path:
    """The library file: --library, else $PHOTOSENSE_LIBRARY, else the user data directory.

    A folder (existing, or written with a trailing slash) holds library.db.
    """
    if value is None or str(value) == "":
        from platformdirs import user_data_dir

        return Path(user_data_dir("photosense")) / "library.db"
    raw = os.fspath(value)
    path = Path(raw).expanduser()
    if raw.endswith(os.sep) or path.is_dir():
        return path / "library.db"
    return path


def region_from_env(region: str | None) -> str | None:
    """--region, else AWS_REGION (which the AWS CLI honours before AWS_DEFAULT_REGION)."""
    return region or os.environ.get("AWS_REGION") or None
