"""photosense search and photosense show."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

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
    emit,
    face_rows,
    literal,
    out_console,
    print_paths,
    say,
    table,
)
from photosense_cli.errors import PhotosenseError


def search_command(
    text: Annotated[Optional[str], typer.Argument(help="Words in the photo (prefixes match; "
                    "case and accents do not matter).")] = None,
    person: Annotated[Optional[List[str]], typer.Option("--person", "-p", help="A person in "
                      "the photo; repeat for photos with all of them.")] = None,
    any_person: Annotated[Optional[List[str]], typer.Option("--any-person", help="A person "
                          "in the photo; repeat for photos with at least one of them.")] = None,
    not_person: Annotated[Optional[List[str]], typer.Option("--not-person", help="A person "
                          "not in the photo; repeat to exclude several.")] = None,
    only: Annotated[bool, typer.Option("--only", help="Nobody else in the photo but the "
                    "people asked for (people hidden as strangers do not count).")] = False,
    alone: Annotated[bool, typer.Option("--alone", help="Exactly one face in the "
                     "photo.")] = False,
    unnamed: Annotated[bool, typer.Option("--unnamed", help="Someone not named yet in the "
                       "photo: where to name people next.")] = False,
    has_text: Annotated[Optional[bool], typer.Option("--has-text/--no-text", help="Only "
                        "photos with text in them, or only photos without.",
                        show_default=False)] = None,
    on_day: Annotated[Optional[str], typer.Option("--on", help="Taken on this day of any "
                      "year: MM-DD, or today (on this day).")] = None,
    date_from: Annotated[Optional[str], typer.Option("--from", help="Taken on or after: "
                         "YYYY, YYYY-MM, YYYY-MM-DD, an ISO timestamp, today, yesterday, "
                         "or 7d, 2w, 3m, 1y ago.")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="Taken on or before (the "
                       "whole day, month or year given); the same forms as --from.")] = None,
    path: Annotated[Optional[str], typer.Option("--path", help="A folder (everything under "
                    "it), a file, a folder name (2019: any folder of that name), or a glob "
                    "on the whole path ('*/2019/*.jpg').")] = None,
    limit: Annotated[int, typer.Option(min=0, help="At most this many results; 0 for all.")] = 50,
    json_output: JsonOption = False,
    fmt: FormatOption = None,
    csv_output: Annotated[bool, typer.Option("--csv", help="Print CSV (same as --format "
                          "csv).")] = False,
    paths_output: PathsOption = False,
    print0: Print0Option = False,
    count: Annotated[bool, typer.Option("--count", help="Print only how many photos "
                     "match (all of them: --limit does not apply); --json for {\"count\": N}."
                     )] = False,
    missing: Annotated[bool, typer.Option("--missing", help="Include photos with no file "
                       "left on disk, marked missing, at their last known path.")] = False,
    library: LibraryOption = None,
):
    """Find photos by text, people, date and path. Exit code 1 when nothing is found.

    Examples:

      photosense search whiteboard

      photosense search --person Ada --from 2019 --to 2019-06

      photosense search --person Ada --not-person Carl --on today

      photosense search louvre --paths | xargs open
    """
    from photosense_cli.app import SearchRequest
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
    request = SearchRequest(
        text, person or [], date_from, date_to, path, limit or None, missing,
        any_people=any_person or [], not_people=not_person or [], only=only,
        alone=alone, unnamed=unnamed, has_text=has_text, on_day=on_day)
    with open_library(library) as lib:
        if count:
            n = lib.search_count(request)
        else:
            found = lib.search(request)
    if count:
        emit({"count": n}, chosen, lambda: out_console().print(str(n)))
        raise typer.Exit(0 if n else 1)
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
    if not hits:
        if chosen.value == "table" and not paths_output:
            say("No photo matches.")
        raise typer.Exit(1)


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


