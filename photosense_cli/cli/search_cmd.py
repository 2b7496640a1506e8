"""photosense search (find, and saved searches) and photosense show."""

from __future__ import annotations

import sys
from typing import Annotated, List, Optional

import typer
from typer.core import TyperGroup

from photosense_cli.cli.common import (
    FormatOption,
    JsonOption,
    LibraryOption,
    PathsOption,
    Print0Option,
    open_library,
)
from photosense_cli.cli.output import (
    FACE_CSV,
    choose_format,
    display,
    emit,
    face_rows,
    literal,
    out_console,
    print_json,
    print_paths,
    say,
    table,
)
from photosense_cli.errors import PhotosenseError


class SearchGroup(TyperGroup):
    """`search [TEXT] [filters]` finds; `search save|list|show|delete|run` keep searches.

    A first word that is not a subcommand is the search itself (`find`), so every search
    typed before saved searches existed works as it did; a text that is a subcommand's
    name is found with `search find WORD`."""

    default_command = "find"

    def parse_args(self, ctx, args):
        if not args or args[0] not in self.commands:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=SearchGroup, help="Find photos; keep searches under a name and run "
                  "them again (cron: 'search run NAME --new').")

# The query, shared by `find` and `save`.
TextArg = Annotated[Optional[List[str]], typer.Argument(
    help="Words in the photo, anywhere in it (prefixes match; case and accents do not "
    "matter); '\"a phrase\"', A OR B, -WORD after --.", show_default=False)]
PersonOpt = Annotated[Optional[List[str]], typer.Option(
    "--person", "-p", help="A person in the photo; repeat for photos with all of them.")]
AnyPersonOpt = Annotated[Optional[List[str]], typer.Option(
    "--any-person", help="A person in the photo; repeat for photos with at least one of "
    "them.")]
NotPersonOpt = Annotated[Optional[List[str]], typer.Option(
    "--not-person", help="A person not in the photo; repeat to exclude several.")]
OnlyOpt = Annotated[bool, typer.Option(
    "--only", help="Nobody else in the photo but the people asked for (people hidden as "
    "strangers do not count).")]
AloneOpt = Annotated[bool, typer.Option("--alone", help="Exactly one face in the photo.")]
UnnamedOpt = Annotated[bool, typer.Option(
    "--unnamed", help="Someone not named yet in the photo: where to name people next.")]
NotTextOpt = Annotated[Optional[List[str]], typer.Option(
    "--not-text", help="A word or phrase the photo's text must not hold; repeat for "
    "several (the same as -WORD in the text, which needs -- before it).")]
HasTextOpt = Annotated[Optional[bool], typer.Option(
    "--has-text/--no-text", help="Only photos with text in them, or only photos without.",
    show_default=False)]
OnOpt = Annotated[Optional[str], typer.Option(
    "--on", help="Taken on this day of any year: MM-DD, or today (on this day).")]
FromOpt = Annotated[Optional[str], typer.Option(
    "--from", help="Taken on or after: YYYY, YYYY-MM, YYYY-MM-DD, an ISO timestamp, today, "
    "yesterday, or 7d, 2w, 3m, 1y ago.")]
ToOpt = Annotated[Optional[str], typer.Option(
    "--to", help="Taken on or before (the whole day, month or year given); the same forms "
    "as --from.")]
PathOpt = Annotated[Optional[str], typer.Option(
    "--path", help="A folder (everything under it), a file, a folder name (2019: any folder "
    "of that name), or a glob on the whole path ('*/2019/*.jpg').")]
NearOpt = Annotated[Optional[str], typer.Option(
    "--near", help="Taken near a city ('Paris', 'Cambridge, Massachusetts'), in a country "
    "('France'), or near LAT,LON in decimal degrees (48.8584,2.2945); from the photo's "
    "EXIF GPS tags (or its XMP's).")]
WithinOpt = Annotated[Optional[float], typer.Option(
    "--within", help="How far from --near, in km (default: 10 for LAT,LON; for a city, "
    "5 to 40 by its size).", show_default=False)]
PlaceOpt = Annotated[Optional[str], typer.Option(
    "--place", help="Taken in a place of this name: the city, region or country its "
    "position was named after ('Île-de-France', 'Springfield, Illinois').")]
MissingOpt = Annotated[bool, typer.Option(
    "--missing", help="Include photos with no file left on disk, marked missing, at their "
    "last known path.")]
# The output, shared by `find` and `run`.
LimitOpt = Annotated[int, typer.Option(min=0, help="At most this many results; 0 for all.")]
CsvOpt = Annotated[bool, typer.Option("--csv", help="Print CSV (same as --format csv).")]
CountOpt = Annotated[bool, typer.Option(
    "--count", help="Print only how many photos match (all of them: --limit does not "
    "apply); --json for {\"count\": N}.")]
NameArg = Annotated[str, typer.Argument(help="The saved search's name.")]


def _request(text, person, any_person, not_person, only, alone, unnamed, has_text, not_text,
             on_day, date_from, date_to, path, near, within, place, limit, missing):
    from photosense_cli.app import SearchRequest

    return SearchRequest(
        " ".join(text) if text else None, person or [], date_from, date_to, path,
        limit or None, missing,
        any_people=any_person or [], not_people=not_person or [], only=only,
        alone=alone, unnamed=unnamed, has_text=has_text, on_day=on_day, near=near,
        within=within, place=place, not_text=not_text or [])


def _output(json_output, fmt, csv_output, paths_output, print0, count):
    """The chosen format, once the output options are checked against each other."""
    from photosense_cli.cli.common import Format

    if csv_output and (json_output or fmt not in (None, Format.csv)):
        raise PhotosenseError("--csv contradicts the other output option given")
    chosen = choose_format(Format.csv if csv_output else fmt, json_output)
    if paths_output and (json_output or csv_output or fmt):
        raise PhotosenseError("--paths contradicts the other output option given")
    if print0 and not paths_output:
        raise PhotosenseError("--print0 goes with --paths")
    if count and (paths_output or csv_output or fmt not in (None, Format.json)):
        raise PhotosenseError("--count prints a number: it goes with --json only")
    return chosen


def _print_count(n: int, chosen) -> None:
    emit({"count": n}, chosen, lambda: out_console().print(str(n)))
    raise typer.Exit(0 if n else 1)


def _render(found, chosen, paths_output: bool, print0: bool) -> None:
    """Write a search's result to stdout, flushed: written means written (--new)."""
    hits = found.hits
    if found.cut:
        say(f"{len(hits)} of {'' if found.exact else 'at least '}{found.total:,} shown; "
            "--limit 0 for all")
    if paths_output:
        print_paths((h.path for h in hits if h.path and not h.missing), print0)
    else:
        def render():
            if not hits:
                return
            out_console().print(table(["id", "path", "taken", "people", "text"], [
                (str(h.id), literal(h.path).append(" (missing)" if h.missing else "", "red"),
                 h.taken_at or "",
                 literal(", ".join(name for _, name in h.people)), _highlight(h.marked))
                for h in hits]))
            say(f"{len(hits)} photo{'s' * (len(hits) != 1)}")

        emit([h.to_json() for h in hits], chosen, render,
             csv_columns=["id", "path", "taken_at", "people", "text"])
    sys.stdout.flush()


def _exit_when_empty(found, chosen, paths_output: bool, empty: str) -> None:
    if not found.hits:
        if chosen.value == "table" and not paths_output:
            say(empty)
        raise typer.Exit(1)


@app.command("find")
def search_command(
    text: TextArg = None,
    person: PersonOpt = None,
    any_person: AnyPersonOpt = None,
    not_person: NotPersonOpt = None,
    only: OnlyOpt = False,
    alone: AloneOpt = False,
    unnamed: UnnamedOpt = False,
    has_text: HasTextOpt = None,
    not_text: NotTextOpt = None,
    on_day: OnOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    path: PathOpt = None,
    near: NearOpt = None,
    within: WithinOpt = None,
    place: PlaceOpt = None,
    limit: LimitOpt = 50,
    json_output: JsonOption = False,
    fmt: FormatOption = None,
    csv_output: CsvOpt = False,
    paths_output: PathsOption = False,
    print0: Print0Option = False,
    count: CountOpt = False,
    missing: MissingOpt = False,
    library: LibraryOption = None,
):
    """Find photos by text, people, date and path. Exit code 1 when nothing is found.

    Saved searches: search save, list, show, delete and run.

    A word that is also a subcommand's name is found with: search find WORD.

    Examples:

      photosense search whiteboard

      photosense search louvre mairie            (both words, anywhere in the photo)

      photosense search '"grand hotel" OR motel' --not-text closed

      photosense search --person Ada --from 2019 --to 2019-06

      photosense search --person Ada --not-person Carl --on today

      photosense search --near 48.8584,2.2945 --within 2

      photosense search --near "Cambridge, Massachusetts" --person Ada

      photosense search --place Italy --on today

      photosense search louvre --paths | xargs open

      photosense search find list
    """
    chosen = _output(json_output, fmt, csv_output, paths_output, print0, count)
    request = _request(text, person, any_person, not_person, only, alone, unnamed, has_text,
                       not_text, on_day, date_from, date_to, path, near, within, place, limit, missing)
    with open_library(library) as lib:
        if count:
            n = lib.search_count(request)
        else:
            found = lib.search(request)
    if count:
        _print_count(n, chosen)
    _render(found, chosen, paths_output, print0)
    _exit_when_empty(found, chosen, paths_output, "No photo matches.")


@app.command("save")
def save_command(
    name: NameArg,
    text: TextArg = None,
    person: PersonOpt = None,
    any_person: AnyPersonOpt = None,
    not_person: NotPersonOpt = None,
    only: OnlyOpt = False,
    alone: AloneOpt = False,
    unnamed: UnnamedOpt = False,
    has_text: HasTextOpt = None,
    not_text: NotTextOpt = None,
    on_day: OnOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    path: PathOpt = None,
    near: NearOpt = None,
    within: WithinOpt = None,
    place: PlaceOpt = None,
    missing: MissingOpt = False,
    replace: Annotated[bool, typer.Option("--replace", help="Change the query of a saved "
                       "search of that name (what its --new runs printed stays printed).")
                       ] = False,
    json_output: JsonOption = False,
    library: LibraryOption = None,
):
    """Keep a search under a name, with the same query and filters as search.

    People are kept by id (renames and merges follow them); relative dates and --on
    today are read again at each run.

    Examples:

      photosense search save ada-new --person Ada

      photosense search save whiteboards whiteboard --from 30d --path ~/Pictures/work
    """
    request = _request(text, person, any_person, not_person, only, alone, unnamed, has_text,
                       not_text, on_day, date_from, date_to, path, near, within, place, 0, missing)
    with open_library(library) as lib:
        saved, existed = lib.save_search(name, request, replace=replace)
    emit(saved.to_json(), choose_format(None, json_output),
         lambda: say(display(f"{'changed' if existed else 'saved'} the search "
                             f"{saved.name!r}: {' '.join(saved.command())}")))


@app.command("list")
def list_command(json_output: JsonOption = False, fmt: FormatOption = None,
                 library: LibraryOption = None):
    """The saved searches, by name. Exit code 1 when there is none.

    Examples:

      photosense search list

      photosense search list --json
    """
    chosen = choose_format(fmt, json_output)
    with open_library(library) as lib:
        found = lib.saved_searches()

    def render():
        if found:
            out_console().print(table(["name", "search", "new runs printed", "last --new"], [
                (literal(s.name), literal(" ".join(s.command()[2:])), str(s.seen),
                 s.last_new_run_at or "never") for s in found]))
        else:
            say("No saved search: 'photosense search save NAME ...' keeps one.")

    emit([s.to_json() for s in found], chosen, render,
         csv_columns=["name", "command", "seen", "last_new_run_at", "created_at"])
    if not found:
        raise typer.Exit(1)


@app.command("show")
def saved_show_command(name: NameArg, json_output: JsonOption = False,
                       library: LibraryOption = None):
    """A saved search: its query with the people's current names, and its --new state.

    Examples:

      photosense search show ada-new
    """
    with open_library(library) as lib:
        s = lib.saved_search(name)

    def render():
        out = out_console()
        out.print(literal(s.name))
        out.print(literal("  " + " ".join(s.command())))
        for role, label in (("all", "with"), ("any", "with any of"), ("not", "without")):
            for p in s.of_role(role):
                gone = " (no longer in the library)" if p.id is None else f" (id {p.id})"
                out.print(literal(f"  {label} {p.name}{gone}"))
        out.print(f"  saved {s.created_at}, changed {s.updated_at}")
        out.print(f"  --new runs printed {s.seen} photo{'s' * (s.seen != 1)}, last "
                  f"{s.last_new_run_at or 'never'}")

    emit(s.to_json(), choose_format(None, json_output), render)


@app.command("delete")
def delete_command(name: NameArg, library: LibraryOption = None):
    """Delete a saved search, and what its --new runs printed.

    Examples:

      photosense search delete ada-new
    """
    with open_library(library) as lib:
        say(lib.delete_search(name))


@app.command("run")
def run_command(
    name: NameArg,
    new: Annotated[bool, typer.Option("--new", help="Only photos no earlier --new run of "
                   "this search printed; recorded once the output is written (cron).")
                   ] = False,
    limit: LimitOpt = 50,
    json_output: JsonOption = False,
    fmt: FormatOption = None,
    csv_output: CsvOpt = False,
    paths_output: PathsOption = False,
    print0: Print0Option = False,
    count: CountOpt = False,
    library: LibraryOption = None,
):
    """Run a saved search. Exit code 1 when nothing is found (with --new: nothing new).

    Examples:

      photosense search run ada-new --new --paths

      photosense search run whiteboards --json
    """
    chosen = _output(json_output, fmt, csv_output, paths_output, print0, count)
    with open_library(library) as lib:
        if count:
            n = lib.count_saved(name, new=new)
        else:
            found = lib.run_saved(name, lambda f: _render(f, chosen, paths_output, print0),
                                  new=new, limit=limit or None)
    if count:
        _print_count(n, chosen)
    _exit_when_empty(found, chosen, paths_output,
                     "No new photo." if new else "No photo matches.")


def _highlight(lines: list[str]):
    from rich.text import Text

    from photosense_cli.cli.output import display
    from photosense_cli.records import MARK_END, MARK_START

    out = Text()
    for i, line in enumerate(lines[:3]):
        if i:
            out.append("\n")
        parts = line.replace(MARK_END, MARK_START).split(MARK_START)
        for j, part in enumerate(parts):
            out.append(display(part), style="bold yellow" if j % 2 else "")
    return out


def text_command(photo: Annotated[str, typer.Argument(help="A photo's path or id.")],
                 json_output: JsonOption = False, library: LibraryOption = None):
    """Only the text read in a photo, a line each, in reading order (rows top to bottom,
    each left to right). Exit code 1 when no text was read in it.

    Examples:

      photosense text ~/Pictures/whiteboard.jpg | pbcopy

      photosense text 42 | grep -i invoice
    """
    with open_library(library) as lib:
        d = lib.photo(photo)
    lines = [t.text for t in d.text]
    if json_output:
        print_json({"id": d.photo.id, "path": d.photo.path, "text": lines})
    else:
        # plain lines, never wrapped or styled; control characters shown escaped
        sys.stdout.write("".join(display(line) + "\n" for line in lines))
        sys.stdout.flush()
    raise typer.Exit(0 if lines else 1)


def show_command(photo: Annotated[str, typer.Argument(help="A photo's path or id.")],
                 json_output: JsonOption = False, fmt: FormatOption = None,
                 library: LibraryOption = None):
    """A photo's people, faces and lines of text.

    Examples:

      photosense show ~/Pictures/2019/IMG_0042.jpg

      photosense show 42 --json
    """
    with open_library(library) as lib:
        d = lib.photo(photo)

    def render():
        out = out_console()
        p = d.photo
        for path in p.paths:
            out.print(literal(path))
        out.print(f"id {p.id}, {p.width}x{p.height} {p.format}, taken "
                  f"{p.taken_at or 'unknown'} ({p.taken_at_source})")
        if p.gps:
            where = f"in {p.place.label()}, " if p.place else ""
            out.print(literal(f"{where}at {p.gps[0]:.6f}, {p.gps[1]:.6f} (GPS)"))
        if d.faces:
            out.print(table(["face", "person", "box (l, t, w, h)", "conf"], [
                (str(f.id), literal(f"{f.person_id} {f.person}"),
                 "{:.2f}, {:.2f}, {:.2f}, {:.2f}".format(*f.box.as_tuple()),
                 f"{f.confidence:.1f}" if f.confidence is not None else "")
                for f in d.faces], title="Faces"))
        for t in d.text:
            out.print(literal(f"  “{t.text}”  ({t.confidence:.0f})"))
        for r in d.regions:
            where = "no box" if r["box"] is None else "no face found under it"
            out.print(literal(f"  named in metadata: {r['name']} ({where}; {r['source']})"))

    data = d.to_json()
    # CSV: one row per face; a photo with no face is one row with its path alone
    rows = face_rows(data["faces"], {data["id"]: data}) or [{"photo": data["id"],
                                                              "path": data["path"],
                                                              "taken_at": data["taken_at"]}]
    emit(data, choose_format(fmt, json_output), render, csv_columns=FACE_CSV, csv_rows=rows)


