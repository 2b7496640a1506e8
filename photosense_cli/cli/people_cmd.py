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
    open_library,
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
    print_json,
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
PeopleLimitOpt = Annotated[int, typer.Option(min=0, help="At most this many people, in "
                           "the listing's order; 0 for all.")]


def _open(ctx: typer.Context, library: str | None, profile: str | None = None,
          region: str | None = None):
    """The library: this command's --library, else the one given to 'people' itself
    (`people --library X show 1`), else $PHOTOSENSE_LIBRARY or the default."""
    def typed(c) -> bool:
        source = c.get_parameter_source("library")
        return source is not None and source.name == "COMMANDLINE"

    if not typed(ctx) and ctx.parent is not None and ctx.parent.obj and typed(ctx.parent):
        library = ctx.parent.obj["library"]
    return open_library(library, profile, region)


def _list(ctx, library, unnamed, named, hidden, everyone, fmt, limit=0):
    if unnamed and named:
        raise PhotosenseError("--unnamed and --named exclude each other")
    with _open(ctx, library) as lib:
        # one more than asked: whether the listing was cut, without counting everyone
        listed, left_out = lib.people(named=True if named else False if unnamed else None,
                                      hidden=hidden, everyone=everyone,
                                      limit=limit + 1 if limit else 0)
        total = 0 if listed else lib.people_count()  # says why the listing is empty
    cut = bool(limit) and len(listed) > limit
    rows = [p.to_json() for p in listed[:limit or None]]
    if cut:  # on stderr, in every format, as search says it
        say(f"the first {limit} people shown; --limit 0 lists them all")

    def show():
        if left_out:
            say(f"{left_out} unnamed {'person' if left_out == 1 else 'people'} with a single "
                "face not shown: 'photosense people --all' lists them.")
        if not rows:
            if hidden:
                say("No hidden people.")
            elif left_out:
                pass
            elif unnamed and total:
                say("Everyone has a name. 'photosense people' lists them.")
            elif named and total:
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
         fmt: FormatOption = None, limit: PeopleLimitOpt = 0, library: LibraryOption = None):
    """People found in your photos: unnamed ones first ("Who's this?"), then named ones.

    Unnamed people seen only once are left out unless --all.

    Examples:

      photosense people

      photosense people rename 7 "Ada Lovelace"

      photosense people merge "Ada Lovelace" 12 31
    """
    if ctx.invoked_subcommand is None:
        _list(ctx, library, unnamed, named, hidden, everyone,
              choose_format(fmt, json_output), limit)
        return
    if unnamed or named or hidden or everyone or json_output or fmt or limit:
        raise PhotosenseError(f"put listing options after 'people', not before "
                              f"'{ctx.invoked_subcommand}'")
    ctx.obj = {"library": library}


@app.command("list")
def list_command(ctx: typer.Context, unnamed: UnnamedOpt = False, named: NamedOpt = False,
                 hidden: HiddenOpt = False, everyone: AllOpt = False,
                 json_output: JsonOption = False, fmt: FormatOption = None,
                 limit: PeopleLimitOpt = 0, library: LibraryOption = None):
    """List people with their numbers of photos and faces.

    Examples:

      photosense people list --unnamed

      photosense people list --format csv > people.csv
    """
    _list(ctx, library, unnamed, named, hidden, everyone,
          choose_format(fmt, json_output), limit)


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
    with _open(ctx, library) as lib:
        p = lib.person(person)
        details = lib.person_details(p, include_missing=missing)
        if sheet:
            n = lib.write_sheet(p, sheet, on_error=error_line)
            say(f"wrote {n} faces to {sheet}")
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
        if details.born:
            out.print(literal(f"  born {details.born}: no face from a photo taken before "
                              "it joins them"))
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
    with _open(ctx, library) as lib:
        n = lib.write_crops(lib.person(person), out, on_error=error_line)
    say(f"wrote {n} faces to {os.path.abspath(out)}")


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
    with _open(ctx, library) as lib:
        say(lib.rename(person, name, allow_duplicate=allow_duplicate))


@app.command()
def hide(ctx: typer.Context, person: PersonArg, library: LibraryOption = None):
    """Hide a person from lists and search results (strangers in the background).

    Examples:

      photosense people hide 12

      photosense people --hidden
    """
    with _open(ctx, library) as lib:
        say(lib.set_hidden(person, True))


@app.command()
def unhide(ctx: typer.Context, person: PersonArg, library: LibraryOption = None):
    """Show a hidden person again.

    Examples:

      photosense people unhide 12
    """
    with _open(ctx, library) as lib:
        say(lib.set_hidden(person, False))


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
    with _open(ctx, library) as lib:
        _merge(lib, target, sources, force)


def _merge(lib, target: str, sources: list[str], force: bool) -> None:
    t, srcs, lose = lib.merge_plan(target, sources)
    if lose and not force:
        names = ", ".join(repr(s.name) for s in lose)
        if not interactive():
            raise PhotosenseError(f"{names} and {t.name!r} both have names; merging keeps "
                                  f"{t.name!r}. Pass --yes if they are one person")
        if not ask(f"Merge {names} into {t.name!r}? The name {names} goes."):
            raise typer.Exit(1)
    say(lib.merge(t, srcs))


@app.command()
def unassign(ctx: typer.Context,
             face: Annotated[int, typer.Argument(help="A face id (see 'people show').")],
             library: LibraryOption = None):
    """Take a wrongly clustered face out of its person: it becomes a new unnamed person.

    Examples:

      photosense people unassign 204
    """
    with _open(ctx, library) as lib:
        say(lib.move_face(face, None))


@app.command()
def move(ctx: typer.Context,
         face: Annotated[int, typer.Argument(help="A face id (see 'people show').")],
         person: PersonArg, library: LibraryOption = None):
    """Move one face to another person.

    Examples:

      photosense people move 204 "Ada Lovelace"
    """
    with _open(ctx, library) as lib:
        say(lib.move_face(face, person))


@app.command()
def suggest(ctx: typer.Context,
            faces: Annotated[bool, typer.Option("--faces", help="List the faces that ask "
                             "\"is this X?\" instead: their best match fell below the 90 "
                             "that clusters, so each started its own person.")] = False,
            accept: Annotated[Optional[int], typer.Option(
                "--accept", metavar="FACE", help="The face is the person suggested: move it "
                "there.", show_default=False)] = None,
            decline: Annotated[Optional[int], typer.Option(
                "--decline", metavar="FACE", help="The face is not the person suggested: "
                "never suggest or assign it to them again.", show_default=False)] = None,
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

    With --faces: single faces that may be someone ("is this Ada?"), accepted with
    --accept FACE and declined with --decline FACE.

    Examples:

      photosense people suggest

      photosense people suggest --faces

      photosense people suggest --accept 204

      photosense people suggest --search --json
    """
    with _open(ctx, library, profile, region) as lib:
        if reject:
            say(lib.reject(*reject))
            return
        if accept is not None or decline is not None:
            if accept is not None and decline is not None:
                raise PhotosenseError("--accept and --decline: give one")
            say(lib.accept_face(accept) if accept is not None else lib.decline_face(decline))
            return
        if faces:
            _face_suggestions([f.to_json() for f in lib.face_suggestions(limit)],
                              choose_format(fmt, json_output))
            return
        if search:
            say(f"searched with {lib.find_suggestions()} faces")
        rows = [s.to_json() for s in lib.suggestions(limit)]
        waiting = lib.face_suggestion_count()

    def render():
        if waiting:
            say(f"{waiting} face{'s' * (waiting != 1)} may be someone you know: "
                "photosense people suggest --faces")
        if not rows:
            say("No suggestions: the engine found no pair that is probably one person."
                if search else "No suggestions. Try 'photosense people suggest --search'.")
            return
        out_console().print(table(["score", "person", "person", "from", "to accept"], [
            (f"{r['score']:.1f}", f"{r['a']['id']} {display(r['a']['label'])}",
             f"{r['b']['id']} {display(r['b']['label'])}", r["source"],
             f"photosense people merge {r['a']['id']} {r['b']['id']}") for r in rows]))

    emit(rows, choose_format(fmt, json_output), render)


def _face_suggestions(rows: list[dict], fmt) -> None:
    def render():
        if not rows:
            say("No face is waiting for an answer.")
            return
        out_console().print(table(["face", "score", "is this", "now", "photo", "to accept"], [
            (str(r["face"]), f"{r['score']:.1f}",
             f"{r['person']['id']} {display(r['person']['label'])}",
             f"{r['now']['id']} {display(r['now']['label'] or '')}",
             display(r["path"] or "(no file)"),
             f"photosense people suggest --accept {r['face']}") for r in rows]))
        say("Decline one with: photosense people suggest --decline FACE")

    flat = [{"face": r["face"], "score": r["score"], "person_id": r["person"]["id"],
             "name": r["person"]["name"], "label": r["person"]["label"],
             "now_id": r["now"]["id"], "path": r["path"]} for r in rows]
    emit(rows, fmt, render, csv_columns=list(FACE_SUGGESTION_CSV), csv_rows=flat)


# `people suggest --faces --format csv`: one flat row a face, the person asked about
FACE_SUGGESTION_CSV = ("face", "score", "person_id", "name", "label", "now_id", "path")


@app.command()
def born(ctx: typer.Context, person: PersonArg,
         date: Annotated[Optional[str], typer.Argument(
             help="YYYY-MM-DD, or YYYY-MM or YYYY (the first day they can mean).",
             show_default=False)] = None,
         clear: Annotated[bool, typer.Option("--clear", help="Remove the birth date.")] = False,
         library: LibraryOption = None):
    """Give a person a birth date: no face from a photo taken before it joins them.

    Their faces from photos the camera dated before it leave together for a new unnamed
    person (often a parent or an older sibling). 'photosense undo' takes it back.

    Examples:

      photosense people born "Ada Lovelace" 2015-06-01

      photosense people born 12 --clear
    """
    if clear == (date is not None):
        raise PhotosenseError("give a date, or --clear")
    with _open(ctx, library) as lib:
        say(lib.born(person, date))


@app.command()
def split(ctx: typer.Context, person: PersonArg,
          yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply the split without "
                         "asking.")] = False,
          threshold: Annotated[Optional[float], typer.Option(
              min=0, max=100, help="The similarity (0-100) that holds a group together; "
              "default: the engine's suggestion floor.", show_default=False)] = None,
          json_output: JsonOption = False, profile: ProfileOption = None,
          region: RegionOption = None, library: LibraryOption = None):
    """Sort a person's faces into groups of faces alike, to take apart two people the
    clustering made one. The largest group keeps the person; each other group becomes a new
    unnamed person. One change: 'photosense undo' takes it back.

    It shows the groups and asks; --json prints them without applying (with --yes,
    applied). On Rekognition each face compared is one SearchFaces (up to 200).

    Examples:

      photosense people split "Ada Lovelace"

      photosense people split 12 --json

      photosense people split 12 --yes
    """
    with _open(ctx, library, profile, region) as lib:
        proposal = lib.split_plan(person, threshold)
        r = proposal.to_json()
        if not json_output:
            _say_split(r)
        if len(proposal.groups) > 1 and (yes or (not json_output and interactive() and ask(
                f"Split into {len(proposal.groups)} people?"))):
            r = lib.split(proposal).to_json()
            if not json_output:
                say(f"split {display(proposal.person.name)!r}: new people "
                    + ", ".join(str(i) for i in r["created"]) + " ('photosense undo' takes "
                    "it back)")
        elif len(proposal.groups) > 1 and not json_output and not interactive():
            say("nothing changed: pass --yes to apply")
    if json_output:
        print_json(r)


def _say_split(r: dict) -> None:
    p, groups = r["person"], r["groups"]
    if len(groups) < 2:
        say(f"{display(p['label'])!r}: all {groups[0]['faces'] if groups else 0} faces are "
            f"alike at {r['threshold']:g}; nothing to split")
        return
    out_console().print(table(["group", "faces", "photos", "becomes", "for example"], [
        (str(i + 1), str(g["faces"]), str(g["photos"]),
         f"{display(p['label'])} (id {p['id']})" if g["keeps_person"] else "a new person",
         "\n".join(display(x) for x in g["samples"])) for i, g in enumerate(groups)]))


# -- biometric privacy -----------------------------------------------------------------


@app.command()
def forget(ctx: typer.Context, person: PersonArg,
           yes: Annotated[bool, typer.Option("--yes", "-y", help="Erase without asking. On a "
                          "terminal forget says what it erases and asks; without one it "
                          "refuses unless given --yes.")] = False,
           never_again: Annotated[bool, typer.Option(
               "--never-again", help="Also keep one suppression template (their faces' "
               "mean, or a few faces in a cloud collection): later faces that match it are "
               "deleted at once, never stored. 'people suppressed' lists them.")] = False,
           label: Annotated[Optional[str], typer.Option(
               "--label", help="A label for the template, shown by 'people suppressed' "
               "(none by default: the template names no one).")] = None,
           wait: Annotated[float, typer.Option(min=0, help="If an import is running, wait "
                           "up to this many seconds instead of refusing.")] = 0.0,
           json_output: JsonOption = False, profile: ProfileOption = None,
           region: RegionOption = None, library: LibraryOption = None):
    """Erase a person everywhere: faces, boxes and descriptors, the engine's copies,
    their regions in sidecars, the history's copies. Not undoable.

    The photos stay, with their text and their other people. Importing them again, or a
    reindex, does not bring the faces back. The report is counted again after the
    erasing; anything left is named, and the exit code is 1 (run it again to finish).

    Examples:

      photosense people forget "Ex Partner"

      photosense people forget 12 --never-again --yes --json
    """
    with _open(ctx, library, profile, region) as lib:
        plan = lib.forget_person_plan(person)
        p = plan.person
        n, m = len(plan.faces), len(plan.photo_ids)
        what = (f"{n} face{'s' * (n != 1)} of {display(p.name)!r} (id {p.id}) in {m} "
                f"photo{'s' * (m != 1)}")
        if not yes and not interactive():
            raise PhotosenseError(f"forget would erase {what}; without a terminal to ask "
                                  "on, pass --yes to do it")
        if not yes and not ask(f"Erase {what}, here, in the engine and in the sidecars "
                               "photosense wrote? This cannot be undone."):
            raise typer.Exit(1)
        report = lib.forget_person(plan, never_again=never_again, label=label, wait=wait)
    r = report.to_json()
    if json_output:
        print_json(r)
    else:
        _say_forgotten(r)
    for line in r["left"]:
        error_line(f"person {r['person']['id']}", f"left: {line}")
    if r["left"]:
        raise typer.Exit(1)


def _say_forgotten(r: dict) -> None:
    c, e = r["catalogue"], r["engine"]
    say(f"forgot {display(r['person']['name'])!r}: {c.get('faces', 0)} faces in {r['photos']} "
        f"photos erased from the catalogue ({c.get('faces_left', 0)} left when counted "
        f"again), with {c.get('suggestions', 0)} suggestions, {c.get('rejections', 0)} "
        f"rejections and {c.get('history', 0)} history records")
    if e["faces_deleted"] or e["faces_left"]:
        say(f"{e['name']}: deleted {e['faces_deleted']} faces from the collection; "
            f"{e['faces_left']} left when counted again")
    if r["sidecars_rewritten"]:
        say(f"took their regions out of {len(r['sidecars_rewritten'])} sidecars")
    if r["files_deleted"]:
        say(f"deleted {len(r['files_deleted'])} crops and sheets that showed them")
    if r["named_elsewhere"]:
        say(f"still named in {len(r['named_elsewhere'])} files photosense does not own (other "
            "tools' regions, or the photos' own metadata); remove the name there:")
        for path in r["named_elsewhere"]:
            say(f"  {display(path)}")
    if r["suppression_template"] is not None:
        kept = (f", {e['kept_for_template']} faces kept in the collection for it"
                if e["kept_for_template"] else "")
        say(f"kept suppression template {r['suppression_template']}{kept}: later faces that "
            "match it are dropped")


@app.command()
def suppressed(ctx: typer.Context,
               remove: Annotated[Optional[int], typer.Option(
                   "--remove", metavar="ID", help="Drop this template (and the faces it "
                   "kept in a cloud collection): matching faces are kept again.")] = None,
               json_output: JsonOption = False, profile: ProfileOption = None,
               region: RegionOption = None, library: LibraryOption = None):
    """Suppression templates made by 'people forget --never-again': faces that match one
    are deleted at import, never stored. No names, unless given with --label.

    Examples:

      photosense people suppressed

      photosense people suppressed --remove 2
    """
    with _open(ctx, library, profile, region) as lib:
        if remove is not None:
            say(lib.remove_template(remove))
            return
        templates = lib.suppression_templates()
    if json_output:
        print_json([t.to_json() for t in templates])
        return
    if not templates:
        say("no suppression templates")
        return
    out_console().print(table(
        ["id", "label", "engine", "made from", "kept in engine", "created"],
        [[str(t.id), t.label or "", t.engine, f"{t.faces} faces", str(t.kept_in_engine),
          t.created_at] for t in templates]))
