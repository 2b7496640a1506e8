"""photosense people ...: list, show, name, hide, merge and fix people."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, List, Optional, Tuple

import typer

from photosense_cli.cli.common import (
    FormatOption,
    JsonOption,
    LibraryOption,
    PathsOption,
    Print0Option,
    ProfileOption,
    RegionOption,
    library_path,
    region_from_env,
)
from photosense_cli.cli.output import (
    FACE_CSV,
    ask,
    choose_format,
    display,
    emit,
    error_line,
    face_rows,
    interactive,
    literal,
    out_console,
    print_paths,
    say,
    table,
)
from photosense_cli.errors import PhotosenseError

app = typer.Typer(help="List, show, name, hide and merge people; fix single faces.",
                  invoke_without_command=True, no_args_is_help=False)

PersonArg = Annotated[str, typer.Argument(help="A person's id or name.")]
UnnamedOpt = Annotated[bool, typer.Option("--unnamed", help="Only people without a name.")]
NamedOpt = Annotated[bool, typer.Option("--named", help="Only named people.")]
HiddenOpt = Annotated[bool, typer.Option("--hidden", help="List hidden people instead "
                      "(hidden by you, or by photosense: a tiny face in a crowd).")]
AllOpt = Annotated[bool, typer.Option("--all", help="Also unnamed people with a single face, "
                   "left out by default.")]


def _open(ctx: typer.Context, library: str | None):
    """The library: this command's --library, else the one given to 'people' itself
    (`people --library X show 1`), else $PHOTOSENSE_LIBRARY or the default."""
    from photosense_cli.catalogue import open_existing

    def typed(c) -> bool:
        source = c.get_parameter_source("library")
        return source is not None and source.name == "COMMANDLINE"

    if not typed(ctx) and ctx.parent is not None and ctx.parent.obj and typed(ctx.parent):
        library = ctx.parent.obj["library"]
    return open_existing(library_path(library))


def _list(cat, unnamed, named, hidden, everyone, fmt):
    from photosense_cli import people

    if unnamed and named:
        raise PhotosenseError("--unnamed and --named exclude each other")
    listed, left_out = people.list_people(
        cat, named=True if named else False if unnamed else None, hidden=hidden,
        everyone=everyone)
    rows = [p.to_json() for p in listed]

    def show():
        if left_out:
            say(f"{left_out} unnamed {'person' if left_out == 1 else 'people'} with a single "
                "face not shown: 'photosense people --all' lists them.")
        if not rows:
            if hidden:
                say("No hidden people.")
            elif left_out:
                pass
            elif unnamed and cat.counts()["people"]:
                say("Everyone has a name. 'photosense people' lists them.")
            elif named and (total := cat.counts()["people"]):
                say(f"No one has a name yet ({total} unnamed "
                    f"{'person' if total == 1 else 'people'}): 'photosense people --unnamed' "
                    "lists them, 'photosense people rename ID NAME' names one.")
            else:
                say("No people yet.")
            return
        out = out_console()
        who = [r for r in rows if not r["named"]]
        if who:  # "Who's this?": how often they appear, and a photo to look at
            out.print(table(["id", "faces", "photos", "who's this? (a photo of them)"], [
                (str(r["id"]), str(r["faces"]), str(r["photos"]), literal(r["sample"]))
                for r in who], title="Unnamed"))
        known = [r for r in rows if r["named"]]
        if known:
            out.print(table(["id", "name", "photos", "faces"], [
                (str(r["id"]), literal(r["label"]), str(r["photos"]), str(r["faces"]))
                for r in known], title="Named" if who else None))

    emit(rows, fmt, show)


@app.callback()
def main(ctx: typer.Context, unnamed: UnnamedOpt = False, named: NamedOpt = False,
         hidden: HiddenOpt = False, everyone: AllOpt = False, json_output: JsonOption = False,
         fmt: FormatOption = None, library: LibraryOption = None):
    """People found in your photos: unnamed ones first ("Who's this?"), then named ones.

    Unnamed people seen only once are left out unless --all.

    Examples:

      photosense people

      photosense people rename 7 "Ada Lovelace"

      photosense people merge "Ada Lovelace" 12 31
    """
    if ctx.invoked_subcommand is None:
        _list(_open(ctx, library), unnamed, named, hidden, everyone,
              choose_format(fmt, json_output))
        return
    if unnamed or named or hidden or everyone or json_output or fmt:
        raise PhotosenseError(f"put listing options after 'people', not before "
                              f"'{ctx.invoked_subcommand}'")
    ctx.obj = {"library": library}


@app.command("list")
def list_command(ctx: typer.Context, unnamed: UnnamedOpt = False, named: NamedOpt = False,
                 hidden: HiddenOpt = False, everyone: AllOpt = False,
                 json_output: JsonOption = False, fmt: FormatOption = None,
                 library: LibraryOption = None):
    """List people with their numbers of photos and faces.

    Examples:

      photosense people list --unnamed

      photosense people list --format csv > people.csv
    """
    _list(_open(ctx, library), unnamed, named, hidden, everyone,
          choose_format(fmt, json_output))


@app.command()
def show(ctx: typer.Context, person: PersonArg, json_output: JsonOption = False,
         fmt: FormatOption = None,
         sheet: Annotated[Optional[Path], typer.Option(help="Write a contact sheet of the "
                          "person's face crops to this PNG or JPEG file.")] = None,
         missing: Annotated[bool, typer.Option("--missing", help="Include photos with no file "
                            "left on disk, marked missing.")] = False,
         paths: PathsOption = False, print0: Print0Option = False,
         library: LibraryOption = None):
    """A person's photos and faces.

    Examples:

      photosense people show 7

      photosense people show "Ada Lovelace" --sheet ada.png
    """
    from photosense_cli import people

    cat = _open(ctx, library)
    p = people.resolve(cat, person)
    details = people.person_details(cat, p, include_missing=missing)
    if sheet:
        _write_sheet(cat, p, sheet)
    if print0 and not paths:
        raise PhotosenseError("--print0 goes with --paths")
    if paths:
        print_paths((ph.path for ph in details.photos if ph.path and not ph.missing), print0)
        return
    data = details.to_json()

    def render():
        state = ("" if p.named else " (unnamed)") + (" (hidden)" if p.hidden else "")
        if p.name_source and p.name_source != "typed":
            state += f" (name from {p.name_source})"
        out = out_console()
        out.print(literal(p.name, "bold").append(literal(f"{state}  id {p.id}, "
                                                         f"{len(details.photos)} photos, "
                                                         f"{len(details.faces)} faces")))
        for hint in details.name_hints:
            out.print(literal(f"  {hint['source']} calls them {hint['name']!r}"))
        photos = {ph.id: ph for ph in details.photos}
        out.print(table(["face", "photo", "taken", "path", "box (l, t, w, h)", "conf"], [
            (str(f.id), str(f.photo_id), photos[f.photo_id].taken_at or "",
             literal(photos[f.photo_id].path).append(
                 " (missing)" if photos[f.photo_id].missing else "", "red"),
             "{:.2f}, {:.2f}, {:.2f}, {:.2f}".format(*f.box.as_tuple()),
             f"{f.confidence:.1f}" if f.confidence is not None else "")
            for f in details.faces]))

    emit(data, choose_format(fmt, json_output), render, csv_columns=FACE_CSV,
         csv_rows=face_rows(data["faces"], {ph["id"]: ph for ph in data["photos"]}))


def _crops(cat, person):
    from photosense_cli import people

    return people.face_crops(cat, person, on_error=error_line)


def _write_sheet(cat, person, sheet: Path):
    from photosense_cli.images import save_private

    crops = _crops(cat, person)
    if not crops:
        raise PhotosenseError(f"no face of {person.name!r} could be cropped: "
                              "the photos are not readable")
    from photosense_cli import people

    save_private(people.contact_sheet(cat, person, crops), sheet, cat.protected())
    say(f"wrote {len(crops)} faces to {sheet}")


@app.command()
def faces(ctx: typer.Context, person: PersonArg,
          out: Annotated[Path, typer.Option("--out", help="Folder for the crops (made 0700 "
                         "if new); the current folder when not given.")] = Path("."),
          library: LibraryOption = None):
    """Write each face of a person as a square crop, named face-ID.jpg.

    Examples:

      photosense people faces 7 --out crops/

      photosense people faces "Ada Lovelace" --out ~/ada-faces
    """
    from photosense_cli import people
    from photosense_cli.files import make_folder
    from photosense_cli.images import save_private

    cat = _open(ctx, library)
    crops = _crops(cat, people.resolve(cat, person))
    if out.exists() and not out.is_dir():
        raise PhotosenseError(f"{out}: not a folder; --out names the folder for the crops")
    try:
        make_folder(out)  # 0700: the crops are faces
    except OSError as e:
        raise PhotosenseError(f"{out}: cannot make the folder: {e.strerror or e}") from None
    protected = cat.protected()
    for face, crop in crops:
        save_private(crop, out / f"face-{face.id}.jpg", protected)
    say(f"wrote {len(crops)} faces to {os.path.abspath(out)}")


@app.command()
def rename(ctx: typer.Context, person: PersonArg,
           name: Annotated[str, typer.Argument(help="The new name.")],
           allow_duplicate: Annotated[bool, typer.Option(
               "--allow-duplicate", help="Give a name another person already has (two "
               "people of one name); without it, that is refused with a hint to merge.")] = False,
           library: LibraryOption = None):
    """Name a person (or rename them).

    Examples:

      photosense people rename 7 "Ada Lovelace"

      photosense people rename "Ada Lovelace" "Ada King"
    """
    from photosense_cli import people

    cat = _open(ctx, library)
    say(people.rename(cat, people.resolve(cat, person, exact=True), name, allow_duplicate))


@app.command()
def hide(ctx: typer.Context, person: PersonArg, library: LibraryOption = None):
    """Hide a person from lists and search results (strangers in the background).

    Examples:

      photosense people hide 12

      photosense people --hidden
    """
    from photosense_cli import people

    cat = _open(ctx, library)
    say(people.set_hidden(cat, people.resolve(cat, person, exact=True), True))


@app.command()
def unhide(ctx: typer.Context, person: PersonArg, library: LibraryOption = None):
    """Show a hidden person again.

    Examples:

      photosense people unhide 12
    """
    from photosense_cli import people

    cat = _open(ctx, library)
    say(people.set_hidden(cat, people.resolve(cat, person, exact=True), False))


@app.command()
def merge(ctx: typer.Context,
          target: Annotated[str, typer.Argument(help="The person who stays.")],
          sources: Annotated[List[str], typer.Argument(help="People merged into TARGET.")],
          force: Annotated[bool, typer.Option("--yes", "-y", "--force", help="Merge even when "
                           "the sources have names of their own (the target keeps its name); "
                           "on a terminal you are asked instead, and without one the merge "
                           "is refused unless given.")] = False,
          library: LibraryOption = None):
    """Merge people the clustering split: SOURCES' faces move to TARGET, for good.

    Examples:

      photosense people merge "Ada Lovelace" 12 31

      photosense people suggest
    """
    from photosense_cli import people

    cat = _open(ctx, library)
    t = people.resolve(cat, target, exact=True)
    srcs = [people.resolve(cat, s, exact=True) for s in sources]
    lose = people.named_sources(t, srcs)
    if lose and not force:
        names = ", ".join(repr(s.name) for s in lose)
        if not interactive():
            raise PhotosenseError(f"{names} and {t.name!r} both have names; merging keeps "
                                  f"{t.name!r}. Pass --yes if they are one person")
        if not ask(f"Merge {names} into {t.name!r}? The name {names} goes."):
            raise typer.Exit(1)
    say(people.merge(cat, t, srcs))


@app.command()
def unassign(ctx: typer.Context,
             face: Annotated[int, typer.Argument(help="A face id (see 'people show').")],
             library: LibraryOption = None):
    """Take a wrongly clustered face out of its person: it becomes a new unnamed person.

    Examples:

      photosense people unassign 204
    """
    from photosense_cli import people

    say(people.move_face(_open(ctx, library), face, None))


@app.command()
def move(ctx: typer.Context,
         face: Annotated[int, typer.Argument(help="A face id (see 'people show').")],
         person: PersonArg, library: LibraryOption = None):
    """Move one face to another person.

    Examples:

      photosense people move 204 "Ada Lovelace"
    """
    from photosense_cli import people

    cat = _open(ctx, library)
    say(people.move_face(cat, face, people.resolve(cat, person, exact=True)))


@app.command()
def suggest(ctx: typer.Context,
            search: Annotated[bool, typer.Option("--search", help="First search the engine "
                              "with up to 3 faces per person at its suggestion threshold (one "
                              "engine call per face; billed on Rekognition).")] = False,
            reject: Annotated[Optional[Tuple[str, str]], typer.Option(
                "--reject", help="Two people who are not one (--reject A B): never suggest "
                "them again ('photosense undo' takes it back).", show_default=False)] = None,
            limit: Annotated[int, typer.Option(min=1, help="Show at most this many pairs.")] = 50,
            json_output: JsonOption = False, fmt: FormatOption = None,
            profile: ProfileOption = None, region: RegionOption = None,
            library: LibraryOption = None):
    """Pairs of people who are probably one person, best first. Accept one with 'people merge'.

    Examples:

      photosense people suggest

      photosense people suggest --search --json
    """
    from photosense_cli import people
    from photosense_cli.engines.base import EngineOptions
    from photosense_cli.library import engine_for

    cat = _open(ctx, library)
    if reject:
        a, b = (people.resolve(cat, r, exact=True) for r in reject)
        say(people.reject(cat, a, b))
        return
    if search:
        engine = engine_for(cat, EngineOptions(1, profile, region_from_env(region)))
        say(f"searched with {people.find_suggestions(cat, engine)} faces")
    rows = [s.to_json() for s in people.suggestions(cat, limit)]

    def render():
        if not rows:
            say("No suggestions: the engine found no pair that is probably one person."
                if search else "No suggestions. Try 'photosense people suggest --search'.")
            return
        out_console().print(table(["score", "person", "person", "from", "to accept"], [
            (f"{r['score']:.1f}", f"{r['a']['id']} {display(r['a']['label'])}",
             f"{r['b']['id']} {display(r['b']['label'])}", r["source"],
             f"photosense people merge {r['a']['id']} {r['b']['id']}") for r in rows]))

    emit(rows, choose_format(fmt, json_output), render)
