"""photosense people ...: list, show, name, hide, merge and fix people."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer
from rich.table import Table

from photosense_cli import people
from photosense_cli.cli.common import (
    JsonOption, LibraryOption, display_path, err_console, fail, handle_errors, library_path,
    out_console, print_json,
)
from photosense_cli.images import contact_sheet
from photosense_cli.library import engine_for, open_existing

app = typer.Typer(help="List, show, name, hide and merge people; fix single faces.",
                  invoke_without_command=True, no_args_is_help=False)

PersonArg = Annotated[str, typer.Argument(help="A person's id or unique name.")]


def _list(library, unnamed, named, hidden, json_output):
    cat = open_existing(library_path(library))
    if unnamed and named:
        fail("--unnamed and --named exclude each other")
    rows = people.list_people(cat, named=True if named else False if unnamed else None,
                              hidden=hidden)
    data = [{"id": r["id"], "name": r["name"], "named": bool(r["named"]),
             "hidden": bool(r["hidden"]), "photos": r["photos"], "faces": r["faces"]}
            for r in rows]
    if json_output:
        print_json(data)
        return
    if not data:
        err_console().print("No people yet." if not hidden else "No hidden people.")
        return
    table = Table("id", "name", "photos", "faces")
    for r in data:
        name = r["name"] if r["named"] else f"[yellow]{r['name']}[/] [dim](who's this?)[/]"
        table.add_row(str(r["id"]), name, str(r["photos"]), str(r["faces"]))
    out_console().print(table)


UnnamedOpt = Annotated[bool, typer.Option("--unnamed", help="Only people without a name.")]
NamedOpt = Annotated[bool, typer.Option("--named", help="Only named people.")]
HiddenOpt = Annotated[bool, typer.Option("--hidden", help="List hidden people instead.")]


@app.callback()
@handle_errors
def main(ctx: typer.Context, unnamed: UnnamedOpt = False, named: NamedOpt = False,
         hidden: HiddenOpt = False, json_output: JsonOption = False,
         library: LibraryOption = None):
    """People found in your photos: unnamed ones first ("Who's this?"), then named ones."""
    if ctx.invoked_subcommand is None:
        _list(library, unnamed, named, hidden, json_output)


@app.command("list")
@handle_errors
def list_command(unnamed: UnnamedOpt = False, named: NamedOpt = False, hidden: HiddenOpt = False,
                 json_output: JsonOption = False, library: LibraryOption = None):
    """List people with their numbers of photos and faces."""
    _list(library, unnamed, named, hidden, json_output)


@app.command()
@handle_errors
def show(person: PersonArg, json_output: JsonOption = False,
         sheet: Annotated[Optional[Path], typer.Option(help="Write a contact sheet of the "
                          "person's face crops to this PNG or JPEG file.")] = None,
         library: LibraryOption = None):
    """A person's photos and faces."""
    cat = open_existing(library_path(library))
    p = people.resolve(cat, person)
    details = people.person_details(cat, p)
    if sheet:
        _write_sheet(cat, p, sheet)
    if json_output:
        print_json(details)
        return
    out = out_console()
    state = "" if details["named"] else " (unnamed)"
    state += " (hidden)" if details["hidden"] else ""
    out.print(f"[bold]{details['name']}[/]{state}  id {details['id']}, "
              f"{len(details['photos'])} photos, {len(details['faces'])} faces")
    table = Table("face", "photo", "taken", "path", "box (l, t, w, h)", "conf")
    paths = {ph["id"]: ph for ph in details["photos"]}
    for f in details["faces"]:
        ph = paths[f["photo_id"]]
        b = f["box"]
        table.add_row(str(f["id"]), str(f["photo_id"]), ph["taken_at"] or "",
                      display_path(ph["path"] or ""),
                      f"{b['left']:.2f}, {b['top']:.2f}, {b['width']:.2f}, {b['height']:.2f}",
                      f"{f['confidence']:.1f}" if f["confidence"] is not None else "")
    out.print(table)


def _write_sheet(cat, person, sheet: Path):
    err = err_console()
    crops = people.face_crops(cat, person, on_error=lambda path, reason: err.print(
        f"photosense: {display_path(path)}: {reason}", markup=False))
    if not crops:
        fail(f"no face of {person['name']!r} could be cropped: the photos are not readable", 1)
    contact_sheet([c for _, c in crops]).save(sheet)
    err.print(f"wrote {len(crops)} faces to {sheet}", markup=False)


@app.command()
@handle_errors
def faces(person: PersonArg,
          out: Annotated[Path, typer.Option("--out", help="Folder for the crops.")],
          library: LibraryOption = None):
    """Write each face of a person as a square crop, named face-ID.jpg."""
    cat = open_existing(library_path(library))
    p = people.resolve(cat, person)
    err = err_console()
    crops = people.face_crops(cat, p, on_error=lambda path, reason: err.print(
        f"photosense: {display_path(path)}: {reason}", markup=False))
    out.mkdir(parents=True, exist_ok=True)
    for face, crop in crops:
        crop.save(out / f"face-{face['id']}.jpg", quality=90)
    err.print(f"wrote {len(crops)} faces to {out}", markup=False)


@app.command()
@handle_errors
def rename(person: PersonArg, name: Annotated[str, typer.Argument(help="The new name.")],
           library: LibraryOption = None):
    """Name a person (or rename them)."""
    cat = open_existing(library_path(library))
    err_console().print(people.rename(cat, people.resolve(cat, person), name), markup=False)


@app.command()
@handle_errors
def hide(person: PersonArg, library: LibraryOption = None):
    """Hide a person from lists and search results (strangers in the background)."""
    cat = open_existing(library_path(library))
    err_console().print(people.set_hidden(cat, people.resolve(cat, person), True), markup=False)


@app.command()
@handle_errors
def unhide(person: PersonArg, library: LibraryOption = None):
    """Show a hidden person again."""
    cat = open_existing(library_path(library))
    err_console().print(people.set_hidden(cat, people.resolve(cat, person), False), markup=False)


@app.command()
@handle_errors
def merge(target: Annotated[str, typer.Argument(help="The person who stays.")],
          sources: Annotated[List[str], typer.Argument(help="People merged into TARGET.")],
          library: LibraryOption = None):
    """Merge people the clustering split: SOURCES' faces move to TARGET, for good."""
    cat = open_existing(library_path(library))
    t = people.resolve(cat, target)
    srcs = [people.resolve(cat, s) for s in sources]
    err_console().print(people.merge(cat, t, srcs), markup=False)


@app.command()
@handle_errors
def unassign(face: Annotated[int, typer.Argument(help="A face id (see 'people show').")],
             library: LibraryOption = None):
    """Take a wrongly clustered face out of its person: it becomes a new unnamed person."""
    cat = open_existing(library_path(library))
    err_console().print(people.move_face(cat, face, None), markup=False)


@app.command()
@handle_errors
def move(face: Annotated[int, typer.Argument(help="A face id (see 'people show').")],
         person: PersonArg, library: LibraryOption = None):
    """Move one face to another person."""
    cat = open_existing(library_path(library))
    err_console().print(people.move_face(cat, face, people.resolve(cat, person)), markup=False)


@app.command()
@handle_errors
def suggest(search: Annotated[bool, typer.Option("--search", help="First search the engine "
                              "with up to 3 faces per person at 80 % (one engine call per "
                              "face; billed on Rekognition).")] = False,
            limit: Annotated[int, typer.Option(min=1)] = 50,
            json_output: JsonOption = False, library: LibraryOption = None):
    """Pairs of people who are probably one person, best first. Accept one with 'people merge'."""
    cat = open_existing(library_path(library))
    if search:
        calls = people.find_suggestions(cat, engine_for(cat))
        err_console().print(f"searched with {calls} faces", markup=False)
    rows = people.suggestions(cat, limit)
    if json_output:
        print_json([{"a": {"id": r["person_a"], "name": r["name_a"]},
                     "b": {"id": r["person_b"], "name": r["name_b"]},
                     "score": round(r["score"], 2), "source": r["source"]} for r in rows])
        return
    if not rows:
        err_console().print("No suggestions. Try 'photosense people suggest --search'.")
        return
    table = Table("score", "person", "person", "from", "to accept")
    for r in rows:
        table.add_row(f"{r['score']:.1f}", f"{r['person_a']} {r['name_a']}",
                      f"{r['person_b']} {r['name_b']}", r["source"],
                      f"photosense people merge {r['person_a']} {r['person_b']}")
    out_console().print(table)
