"""photosense people review / people sheet: name people at the speed of looking.

The terminal app (photosense_cli.tui) is imported only here, when it runs: Textual and
textual-image cost ~150 ms of start-up that no other command pays.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from photosense_cli.cli.common import JsonOption, LibraryOption
from photosense_cli.cli.output import display, error_line, print_json, say
from photosense_cli.cli.people_cmd import AllOpt, _open, app
from photosense_cli.errors import PhotosenseError


class Images(StrEnum):
    auto = "auto"
    kitty = "kitty"
    sixel = "sixel"
    blocks = "blocks"
    none = "none"


PeopleOpt = Annotated[Optional[List[str]], typer.Option(
    "--person", "-p", show_default=False, help="Review this person (id or name); repeat for "
    "more. Default: the unnamed people, biggest first, then suggested pairs.")]


def _terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


@app.command()
def review(ctx: typer.Context, person: PeopleOpt = None,
           limit: Annotated[Optional[int], typer.Option(min=1, show_default=False,
                            help="Review at most this many people.")] = None,
           everyone: AllOpt = False,
           images: Annotated[Images, typer.Option(
               help="How faces are drawn: auto (the best the terminal has), kitty (the Kitty "
               "graphics protocol), sixel, blocks (Unicode half-blocks, any colour "
               "terminal), none (face ids and file names).")] = Images.auto,
           export: Annotated[Optional[str], typer.Option(
               "--export", metavar="FILE", show_default=False,
               help="Write the queue as JSON lines to FILE (0600; - for stdout) instead of "
               "opening the app: fill in names, then --apply it.")] = None,
           sheets: Annotated[Optional[Path], typer.Option(
               "--sheets", metavar="DIR", show_default=False,
               help="With --export: a contact sheet per person in DIR (person-ID.png, 0600), "
               "its path in the line.")] = None,
           apply: Annotated[Optional[str], typer.Option(
               "--apply", metavar="FILE", show_default=False,
               help="Apply a filled-in review file (- for stdin): checked whole, then applied "
               "as one change that one 'photosense undo' takes back.")] = None,
           json_output: JsonOption = False, library: LibraryOption = None):
    """Name people: a screen per person with their faces, type a name, Enter.

    Without a terminal, --export writes the same queue as a file to fill in, and --apply
    applies it. Every action is in 'photosense history'; 'photosense undo' takes back the
    last.

    Examples:

      photosense people review

      photosense people review --export names.jsonl --sheets sheets/

      photosense people review --apply names.jsonl
    """
    if export is not None and apply is not None:
        raise PhotosenseError("--export and --apply are two steps: run one, then the other")
    if sheets is not None and export is None:
        raise PhotosenseError("--sheets goes with --export")
    if json_output and apply is None:
        raise PhotosenseError("--json goes with --apply (an export is JSON lines already)")
    with _open(ctx, library) as lib:
        if apply is not None:
            _apply(lib, apply, json_output)
            return
        queue = lib.review.queue(person or (), limit=limit, everyone=everyone)
        if export is not None:
            _export(lib, queue, export, sheets)
            return
        if not _terminal():
            raise PhotosenseError("people review needs a terminal on stdin and stdout; "
                                  "in a script use --export FILE, fill in names, then --apply FILE")
        if not queue:
            say("No one to review: everyone with more than one face has a name "
                "('photosense people review --all' includes single faces).")
            return
        from photosense_cli.tui.review_app import ReviewApp

        result = ReviewApp(lib, queue, images=images.value).run()
    if result:
        say(result)


def _export(lib, queue, export: str, sheets: Path | None) -> None:
    if export == "-":
        n = lib.review.export(queue, stream=sys.stdout, sheets=sheets, on_error=error_line)
    else:
        n = lib.review.export(queue, out=Path(export), sheets=sheets, on_error=error_line)
    say(f"exported {n} {'person' if n == 1 else 'people'}"
        + (f" to {display(export)}" if export != "-" else "")
        + ": fill in \"name\" (or \"hide\", \"merge_into\", \"not\"), then "
        "'photosense people review --apply FILE'")


def _apply(lib, source: str, json_output: bool) -> None:
    if source == "-":
        data = sys.stdin.buffer.read(lib.review.max_file_bytes + 1)
        name = "stdin"
    else:
        data, name = lib.review.read_file(source), source
    result = lib.review.apply(data, name)
    if json_output:
        print_json(result.to_json())
    for problem in result.problems:
        error_line(name, problem)
    if result.problem_count:
        more = result.problem_count - len(result.problems)
        raise PhotosenseError(f"{display(name)}: {result.problem_count} "
                              f"problem{'s' if result.problem_count != 1 else ''}"
                              + (f" ({more} more not shown)" if more else "")
                              + "; nothing was applied")
    if not result.applied:
        say(f"{display(name)}: nothing to apply (no line gives a name, hides, merges or "
            "takes out a face)")
        return
    done = ", ".join(f"{v} {k}" for k, v in result.done.items() if v)
    say(f"applied {display(name)}: {done}; 'photosense undo' takes it all back")


@app.command()
def sheet(ctx: typer.Context,
          out: Annotated[Path, typer.Option("--out", "-o", help="The picture to write "
                         "(.png, .jpg or .webp; 0600).", show_default=False)],
          people: Annotated[Optional[List[str]], typer.Argument(
              help="People (ids or names); default: everyone unnamed.", show_default=False)
          ] = None,
          unnamed: Annotated[bool, typer.Option("--unnamed", help="Everyone unnamed "
                             "(the default).")] = False,
          everyone: Annotated[bool, typer.Option("--all", help="Everyone, named or not, "
                              "single faces too.")] = False,
          limit: Annotated[int, typer.Option(min=1, help="At most this many people.")] = 1000,
          library: LibraryOption = None):
    """One picture of many people: each one's clearest face, with id, name (or ?) and count.

    For naming people from one image where the terminal shows none: look, then
    'photosense people rename ID NAME'.

    Examples:

      photosense people sheet --out unnamed.png

      photosense people sheet --all --out everyone.png
    """
    if sum(map(bool, (people, unnamed, everyone))) > 1:
        raise PhotosenseError("give people, --unnamed or --all: one of them")
    with _open(ctx, library) as lib:
        shown, left = lib.review.sheet(people or (), out, unnamed=not everyone, limit=limit,
                                       on_error=error_line)
    say(f"wrote {shown} {'person' if shown == 1 else 'people'} to {display(str(out))}"
        + (f"; {left} more left out by --limit {limit}" if left else ""))
