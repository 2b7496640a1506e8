"""photosense search and photosense show."""

from __future__ import annotations

import csv
import sys
from typing import Annotated, List, Optional

import typer
from rich.table import Table
from rich.text import Text

from photosense_cli import people, search as core
from photosense_cli.cli.common import (
    JsonOption, LibraryOption, display_path, err_console, handle_errors, library_path,
    out_console, print_json,
)
from photosense_cli.library import open_existing


@handle_errors
def search_command(
    text: Annotated[Optional[str], typer.Argument(help="Words in the photo (prefixes match; "
                    "case and accents do not matter).")] = None,
    person: Annotated[Optional[List[str]], typer.Option("--person", "-p", help="A person in "
                      "the photo; repeat for photos with all of them.")] = None,
    date_from: Annotated[Optional[str], typer.Option("--from", help="Taken on or after "
                         "(YYYY, YYYY-MM or YYYY-MM-DD).")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Taken on or before.")] = None,
    path: Annotated[Optional[str], typer.Option("--path", help="A glob on the photo's path, "
                    "e.g. '*/2019/*'.")] = None,
    limit: Annotated[int, typer.Option(min=0, help="At most this many results; 0 for all.")] = 50,
    json_output: JsonOption = False,
    csv_output: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    paths_output: Annotated[bool, typer.Option("--paths", help="Print one path per line, "
                            "for xargs.")] = False,
    library: LibraryOption = None,
):
    """Find photos by text, people, date and path. Exit code 1 when nothing is found."""
    cat = open_existing(library_path(library))
    person_ids = [people.resolve(cat, p)["id"] for p in person or []]
    results = core.search(cat, text, person_ids=person_ids, date_from=date_from,
                          date_to=date_to, path_glob=path, limit=limit or None)
    for r in results:
        marked = r.pop("marked")
        r["_marked"] = marked
    public = [{k: v for k, v in r.items() if not k.startswith("_")} for r in results]
    if json_output:
        print_json(public)
    elif csv_output:
        w = csv.writer(sys.stdout)
        w.writerow(["id", "path", "taken_at", "people", "text"])
        for r in public:
            w.writerow([r["id"], r["path"], r["taken_at"] or "", "; ".join(r["people"]),
                        " | ".join(r["text"])])
    elif paths_output:
        for r in public:
            sys.stdout.write(f"{r['path']}\n")
    elif results:
        table = Table("id", "path", "taken", "people", "text")
        for r in results:
            table.add_row(str(r["id"]), display_path(r["path"] or ""), r["taken_at"] or "",
                          ", ".join(r["people"]), _highlight(r["_marked"]))
        out_console().print(table)
        err_console().print(f"{len(results)} photo{'s' * (len(results) != 1)}", style="dim")
    if not results:
        if not (json_output or csv_output or paths_output):
            err_console().print("No photo matches.")
        raise typer.Exit(1)


def _highlight(lines: list[str]) -> Text:
    out = Text()
    for i, line in enumerate(lines[:3]):
        if i:
            out.append("\n")
        parts = line.replace(core.MARK_END, core.MARK_START).split(core.MARK_START)
        for j, part in enumerate(parts):
            out.append(part, style="bold yellow" if j % 2 else "")
    return out


@handle_errors
def show_command(photo: Annotated[str, typer.Argument(help="A photo's path or id.")],
                 json_output: JsonOption = False, library: LibraryOption = None):
    """A photo's people, faces and lines of text."""
    cat = open_existing(library_path(library))
    d = core.photo_details(cat, core.resolve_photo(cat, photo))
    if json_output:
        print_json(d)
        return
    out = out_console()
    for p in d["paths"]:
        out.print(display_path(p), markup=False)
    out.print(f"id {d['id']}, {d['width']}x{d['height']} {d['format']}, taken "
              f"{d['taken_at'] or 'unknown'} ({d['taken_at_source']})", markup=False)
    if d["faces"]:
        table = Table("face", "person", "box (l, t, w, h)", "conf", title="Faces")
        for f in d["faces"]:
            b = f["box"]
            table.add_row(str(f["id"]), f"{f['person_id']} {f['person']}",
                          f"{b['left']:.2f}, {b['top']:.2f}, {b['width']:.2f}, {b['height']:.2f}",
                          f"{f['confidence']:.1f}")
        out.print(table)
    for t in d["text"]:
        out.print(f"  “{t['text']}”  ({t['confidence']:.0f})", markup=False)
