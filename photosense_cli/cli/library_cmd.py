"""photosense status, forget, undo, history."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer
from rich.table import Table

from photosense_cli import library as core, people
from photosense_cli.cli.common import (
    JsonOption, LibraryOption, display_path, err_console, handle_errors, library_path, out_console,
    print_json,
)
from photosense_cli.reindex import reindex


@handle_errors
def status_command(json_output: JsonOption = False, library: LibraryOption = None):
    """The library: where it is, its engine, what it holds, what the engine calls cost."""
    cat = core.open_existing(library_path(library))
    s = core.status(cat)
    if json_output:
        print_json(s)
        return
    out = out_console()
    rows = [("library", s["library"]), ("engine", s["engine"] or "none yet"),
            ("collection", s["collection"] or "none yet"),
            ("photos", f"{s['photos']} ({s['locations']} paths)"), ("faces", str(s["faces"])),
            ("people", f"{s['people']} ({s['named_people']} named)"),
            ("text lines", str(s["text_lines"])),
            ("engine calls", ", ".join(f"{k} {v}" for k, v in s["calls"].items()) or "none")]
    if s["engine"] == "rekognition":
        rows.append(("estimated cost", f"${s['estimated_cost_usd']:.3f}"))
    if s["last_import"]:
        li = s["last_import"]
        rows.append(("last import", f"{li['started_at']} ({li['status']})"))
    table = Table(show_header=False, box=None)
    for k, v in rows:
        table.add_row(f"[bold]{k}[/]", v)
    out.print(table)


@handle_errors
def forget_command(paths: Annotated[List[str], typer.Argument(help="Files or folders.")],
                   json_output: JsonOption = False, library: LibraryOption = None):
    """Erase photos and their faces from the library and the engine; later imports skip them."""
    cat = core.open_existing(library_path(library))
    r = core.forget(cat, paths)
    if json_output:
        print_json(r)
    else:
        err_console().print(f"forgot {r['photos']} photos and {r['faces']} faces; "
                            f"{r['people_removed']} people had no face left and were removed",
                            markup=False)


@handle_errors
def undo_command(library: LibraryOption = None):
    """Revert the last rename, merge, hide, unhide, unassign or move."""
    cat = core.open_existing(library_path(library))
    err_console().print(people.undo(cat), markup=False)


@handle_errors
def history_command(limit: Annotated[int, typer.Option(min=1)] = 20,
                    json_output: JsonOption = False, library: LibraryOption = None):
    """The corrections made to people, newest first ('undo' reverts the newest not undone)."""
    cat = core.open_existing(library_path(library))
    rows = people.history(cat, limit)
    if json_output:
        print_json(rows)
        return
    table = Table("id", "when", "kind", "change", "undone")
    for r in rows:
        table.add_row(str(r["id"]), r["at"], r["kind"], r["summary"], r["undone_at"] or "")
    out_console().print(table)


@handle_errors
def reindex_command(
    engine: Annotated[str, typer.Option(help="The engine to switch to: local or rekognition.")],
    workers: Annotated[Optional[int], typer.Option(min=1, max=64)] = None,
    json_output: JsonOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    profile: Annotated[Optional[str], typer.Option(help="AWS profile.")] = None,
    region: Annotated[Optional[str], typer.Option(help="AWS region.")] = None,
    library: LibraryOption = None,
):
    """Re-analyse every photo with another engine, keeping names and merges where faces match."""
    err = err_console()

    def on_error(e):
        err.print(f"photosense: {display_path(e['path'])}: {e['reason']}", markup=False,
                  soft_wrap=True)

    r = reindex(library_path(library), engine, profile=profile, region=region, workers=workers,
                on_error=on_error)
    if json_output:
        print_json(r)
    elif not quiet:
        err.print(f"Re-analysed {r['photos']} photos with the {r['engine']} engine: {r['faces']} "
                  f"faces, {r['faces_kept_person']} kept their person, {r['people_created']} new "
                  f"people, {r['people_removed']} people without a face left removed; "
                  f"{r['failed']} failed.", markup=False)
        if r["failed"]:
            err.print("Run the same command again to finish the switch.", markup=False)
    if not r["old_engine_cleaned"]:
        err.print(f"photosense: the {r['from']} engine could not be reached to delete the old "
                  "faces; run 'photosense reindex' again once it can be", markup=False)
    raise typer.Exit(1 if r["failed"] or not r["old_engine_cleaned"] else 0)
