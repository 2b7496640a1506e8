"""photosense xmp write, and photosense export."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from photosense_cli.cli.common import JsonOption, LibraryOption, open_library
from photosense_cli.cli.output import error_line, print_json, say

app = typer.Typer(help="XMP sidecars: photosense's people where other photo tools read them.",
                  no_args_is_help=True)


class SidecarName(StrEnum):
    dotted = "dotted"
    stem = "stem"


@app.command("write")
def write_command(
    paths: Annotated[Optional[List[str]], typer.Argument(
        help="Files or folders whose photos get sidecars (all photos when none).")] = None,
    person: Annotated[Optional[List[str]], typer.Option(
        "--person", "-p", help="Only photos with this person (repeatable).")] = None,
    sidecar_name: Annotated[SidecarName, typer.Option(
        help="New sidecars as IMG_1.jpg.xmp (dotted: digiKam, darktable) or IMG_1.xmp (stem: "
        "Lightroom, Capture One). An existing sidecar in either style is updated.")
    ] = SidecarName.dotted,
    include_unnamed: Annotated[bool, typer.Option(
        "--include-unnamed", help="Also write the regions of unnamed people, with no name (a tool "
        "shows them as unknown faces).")] = False,
    keywords: Annotated[bool, typer.Option(
        "--keywords", help="Also write each name as a keyword: dc:subject, "
        "lr:hierarchicalSubject People|Name, digiKam TagsList People/Name.")] = False,
    json_output: JsonOption = False,
    library: LibraryOption = None,
):
    """Write or update XMP sidecars with face regions and people. Originals are never touched.

    Everything else in an existing sidecar (ratings, labels, keywords, develop settings,
    other tools' regions) is kept; a rerun with nothing changed rewrites nothing.

    Examples:

      photosense xmp write ~/Pictures

      photosense xmp write --person "Ada Lovelace" --keywords

      photosense xmp write ~/Pictures/2019 --sidecar-name stem --json
    """
    with open_library(library) as lib:
        r = lib.write_sidecars(under=paths or [], people=person or [], style=sidecar_name.value,
                               include_unnamed=include_unnamed, keywords=keywords,
                               on_error=error_line, on_skip=error_line)
    if json_output:
        print_json(r.to_json())
    else:
        skipped = f"{len(r.skipped)} read-only left as they are, " if r.skipped else ""
        say(f"{len(r.written)} sidecars written, {len(r.unchanged)} unchanged, {skipped}"
            f"{len(r.failed)} failed")
    raise typer.Exit(1 if r.failed else 0)


class ExportFormat(StrEnum):
    jsonl = "jsonl"
    csv = "csv"


def export_command(
    paths: Annotated[Optional[List[str]], typer.Argument(
        help="Files or folders to export (the whole library when none).")] = None,
    fmt: Annotated[ExportFormat, typer.Option(
        "--format", "-f", help="jsonl (one JSON object a line, streamed) or csv.")
    ] = ExportFormat.jsonl,
    out: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="Write to this file (created 0600: it holds face boxes) "
        "instead of standard output.")] = None,
    library: LibraryOption = None,
):
    """Export one record per photo: path, date, size, people (id, name, box) and text.

    Field names are stable and documented in docs/json/export.schema.json.

    Examples:

      photosense export > library.jsonl

      photosense export ~/Pictures/2019 --format csv --out 2019.csv
    """
    with open_library(library) as lib:
        if out is None:
            lib.export(fmt.value, paths or [], stream=sys.stdout)
            return
        n = lib.export(fmt.value, paths or [], out=out)
    say(f"exported {n} photos to {out}")
