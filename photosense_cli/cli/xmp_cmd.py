"""photosense xmp write, and photosense export."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from photosense_cli.cli.common import JsonOption, LibraryOption, library_path
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
    import os

    from photosense_cli import people
    from photosense_cli.catalogue import open_existing
    from photosense_cli.interop import write_sidecars

    cat = open_existing(library_path(library))
    ids = [people.resolve(cat, p).id for p in person or []]
    under = [os.path.abspath(p) for p in paths or []]
    r = write_sidecars(cat, under=under, person_ids=ids, style=sidecar_name.value,
                       include_unnamed=include_unnamed, keywords=keywords, on_error=error_line,
                       on_skip=error_line)
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
    import os

    from photosense_cli.catalogue import open_existing
    from photosense_cli.interop import export

    cat = open_existing(library_path(library))
    under = [os.path.abspath(p) for p in paths or []]
    if out is None:
        export(cat, sys.stdout, fmt.value, under)
        return
    import io

    from photosense_cli.files import write_file

    counted = []

    def write(f) -> None:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        counted.append(export(cat, text, fmt.value, under))
        text.flush()
        text.detach()  # write_file closes the file itself

    # Refused before a byte is read if --out is the library (it was truncated to 0 before).
    write_file(out, write, protected=cat.protected())
    say(f"exported {counted[0]} photos to {out}")
