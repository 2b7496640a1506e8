"""photosense status, forget, reindex, undo, history."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from photosense_cli.cli.common import (
    ClusterOption,
    FormatOption,
    JsonOption,
    LibraryOption,
    MaxCostOption,
    ProfileOption,
    QuietOption,
    RegionOption,
    WorkersOption,
    folder_rules,
    library_path,
    notice,
    open_library,
    region_from_env,
)
from photosense_cli.cli.output import (
    ask,
    choose_format,
    emit,
    error_line,
    interactive,
    out_console,
    print_json,
    say,
    table,
)


def status_command(json_output: JsonOption = False, fmt: FormatOption = None,
                   offline: Annotated[bool, typer.Option(
                       "--offline", help="Do not ask a cloud engine how many faces and "
                       "users its collection holds (a free call, but a network one).")
                   ] = False,
                   library: LibraryOption = None):
    """The library: where it is, its engine, what it holds, what the engine calls cost.

    Examples:

      photosense status

      photosense status --json
    """
    rules = folder_rules()
    with open_library(library) as lib:
        s = lib.status(rules, count_engine=not offline)

    def show():
        li = s["last_import"]
        offline = s["engine"] is not None and s["collection"] is None
        rows = [("library", s["library"]),
                ("engine", (s["engine"] or "none yet") + (" (offline: no photo leaves this "
                                                           "machine)" if offline else ""))]
        if not offline:
            rows.append(("collection", s["collection"] or "none yet"))
        rows += [("photos", f"{s['photos']} ({s['locations']} paths)"),
                 ("faces", str(s["faces"])),
                 ("people", f"{s['people']} ({s['named_people']} named)"),
                 ("text lines", str(s["text_lines"]))]
        if not offline:
            rows.append(("engine calls", ", ".join(f"{k} {v}" for k, v in s["calls"].items())
                         or "none"))
        if s["estimated_cost_usd"] is not None:
            rows.append(("estimated cost", f"${s['estimated_cost_usd']:.3f}"))
        if s["too_small"]:
            rows.append(("too small", f"{s['too_small']} images (thumbnails, icons) skipped"))
        last = "none"
        if li:
            cost = (f", ${li['cost_usd'] or 0:.3f}" if s["estimated_cost_usd"] is not None
                    else "")
            last = f"{li['command']} {li['started_at']} ({li['status']}{cost})"
        rows += [("last run", last), ("missing photos", str(s["missing"])),
                 ("known failures", str(s["known_failures"]))]
        rows += _biometric_rows(s["biometric"])
        out = out_console()
        out.print(table(["", ""], rows, show_header=False, box=None))
        if s["missing_photos"]:
            out.print(table(["photo", "last seen at (missing)"],
                            [(str(m["id"]), m["last_path"]) for m in s["missing_photos"]]))
        if s["failures"]:
            out.print(table(["failed file", "reason"],
                            [(f["path"], f["reason"]) for f in s["failures"]]))

    emit(s, choose_format(fmt, json_output), show)


def _biometric_rows(b: dict) -> list[tuple[str, str]]:
    """Where face data is held, for the status table."""
    c, e, f = b["catalogue"], b["engine"], b["files"]
    def n(count: int, what: str) -> str:
        return f"{count} {what}{'s' * (count != 1)}"

    rows = [("face data", f"{n(c['faces'], 'face')}, {n(c['descriptors'], 'descriptor')}; "
             f"{n(c['forgotten_faces'], 'forgotten face')} kept as boxes only; "
             f"{n(c['suppression_templates'], 'suppression template')}")]
    if e["counted_there"]:
        rows.append(("in the engine", f"{n(e['faces'], 'face')}, {n(e['users'], 'user')}"))
    elif e["error"]:
        rows.append(("in the engine", f"not counted: {e['error']}"))
    rows.append(("face files", f"{n(f['crops'], 'crop')}, {n(f['sheets'], 'sheet')}, "
                 f"{n(f['sidecars_naming_people'], 'sidecar')} naming people (written by "
                 "photosense)"))
    for rule in b["folders"]:
        what = ", ".join(w for w, on in (("no cloud", not rule["cloud"]),
                                         ("no faces", not rule["faces"])) if on) or "no rule"
        rows.append(("folder rule", f"{rule['path']}: {what} ({rule['photos']} photos)"))
    return rows


def forget_command(
    paths: Annotated[Optional[List[str]], typer.Argument(help="Files or folders.")] = None,
    missing: Annotated[bool, typer.Option("--missing", help="Also erase every photo with no "
                       "file left on disk (see 'photosense status').")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Erase without asking. On a "
                   "terminal forget shows what it will erase and asks; without one it "
                   "refuses unless given --yes.")] = False,
    json_output: JsonOption = False, profile: ProfileOption = None,
    region: RegionOption = None, library: LibraryOption = None):
    """Erase photos and their faces from the library and the engine; later imports skip them.

    'photosense undo' takes a forget back: the next import analyses those files again.

    Examples:

      photosense forget ~/Pictures/old-job

      photosense forget --missing --yes --json
    """
    from photosense_cli.errors import PhotosenseError

    if not paths and not missing:
        raise PhotosenseError("name files or folders to forget, or pass --missing")
    with open_library(library, profile, region) as lib:
        _forget(lib, paths or [], missing, yes, json_output)


def _forget(lib, paths: list[str], missing: bool, yes: bool, json_output: bool) -> None:
    from photosense_cli.errors import PhotosenseError

    plan = lib.forget_plan(paths, missing)
    if not plan:
        say("nothing to forget")
        return
    n, k = len(plan.photo_ids), len(plan.kept_paths)
    if not yes and not interactive():
        # a destructive command in a script does nothing unless told, like merge
        raise PhotosenseError(f"forget would erase {n} photo{'s' * (n != 1)} and their faces; "
                              "without a terminal to ask on, pass --yes to do it")
    if not yes:
        faces = lib.faces_in(plan.photo_ids)
        kept = (f" ({k} more photo{'s' * (k != 1)} also live{'s' * (k == 1)} elsewhere and "
                f"stay{'s' * (k == 1)}; only {'its' if k == 1 else 'their'} paths here are "
                "forgotten)") if k else ""
        if not ask(f"Erase {n} photo{'s' * (n != 1)} and {faces} faces from the library and "
                   f"the engine{kept}?"):
            raise typer.Exit(1)
    r = lib.forget(plan)
    if json_output:
        print_json(r)
    else:
        say(f"forgot {r['photos']} photo{'s' * (r['photos'] != 1)} and {r['faces']} faces; "
            f"{r['people_removed']} people had no face left and were removed "
            "('photosense undo' takes it back)")
        if k:
            say(f"kept {k} photo{'s' * (k != 1)} that also live{'s' * (k == 1)} elsewhere, "
                f"with {'its' if k == 1 else 'their'} faces; forgot "
                f"{len(r['paths_forgotten'])} path{'s' * (len(r['paths_forgotten']) != 1)} "
                "of them here, which later imports skip")


def undo_command(library: LibraryOption = None):
    """Revert the last rename, merge, hide, unhide, unassign or move.

    Examples:

      photosense undo

      photosense history
    """
    with open_library(library) as lib:
        say(lib.undo())


def history_command(limit: Annotated[int, typer.Option(min=1, help="Show at most this many "
                                                       "changes.")] = 20,
                    json_output: JsonOption = False, fmt: FormatOption = None,
                    library: LibraryOption = None):
    """The corrections made to people, newest first ('undo' reverts the newest not undone).

    Examples:

      photosense history

      photosense history --limit 5 --json
    """
    with open_library(library) as lib:
        rows = [c.to_json() for c in lib.history(limit)]
    emit(rows, choose_format(fmt, json_output), lambda: out_console().print(table(
        ["id", "when", "kind", "change", "undone"],
        [(str(r["id"]), r["at"], r["kind"], r["summary"], r["undone_at"] or "") for r in rows])))


def reindex_command(
    engine: Annotated[str, typer.Option(help="The engine to switch to: local or rekognition.")],
    workers: WorkersOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say how many photos would be "
                       "sent and what it would cost; call nothing, change nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask. On a terminal reindex "
                   "says what it sends where and that it ends the undo history, and asks; "
                   "without one it goes on and says so on stderr.")] = False,
    max_cost: MaxCostOption = None,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    profile: ProfileOption = None,
    region: RegionOption = None,
    cluster: ClusterOption = None,
    library: LibraryOption = None,
):
    """Re-analyse every photo with another engine, keeping names and merges where faces match.

    Corrections made before a reindex can no longer be undone after it (its faces are
    new). A cloud engine is asked about first, as the first import into it is.

    Examples:

      photosense reindex --engine local

      photosense reindex --engine rekognition --region eu-west-1 --dry-run
    """
    from photosense_cli import app

    req = app.reindex_request(engine, profile=profile, region=region_from_env(region),
                              cluster=cluster or None,
                              workers=workers, dry_run=dry_run, max_cost=max_cost,
                              folders=folder_rules(),
                              consent=None if yes or not interactive() else ask,
                              told=(lambda m: None) if yes else notice)
    s = app.reindex(library_path(library), req,
                    on_error=lambda e: error_line(e["path"], e["reason"]))
    r = s.to_json()
    if json_output:
        print_json(r)
    elif dry_run:
        say(f"Would re-analyse {s.reanalysed} photos with the {s.engine} engine"
            + (f", for about ${s.cost_usd:.2f}." if s.cost_usd else "."))
    elif not quiet:
        say(f"Re-analysed {s.reanalysed} photos with the {s.engine} engine: {s.faces} "
            f"faces, {s.faces_kept_person} kept their person, {s.people_created} new "
            f"people, {s.people_removed} people without a face left removed; "
            f"{s.failed} failed.")
        from photosense_cli.cli.import_cmd import privacy_lines

        for line in privacy_lines(r):
            say(line)
        if s.failed or s.over_budget:
            say("Run the same command again to finish the switch.")
    if s.max_cost_reached:
        error_line("--max-cost", f"stopped before spending more than ${max_cost:.2f}: "
                   f"{s.over_budget} photos not started; run again to go on")
        raise typer.Exit(2)
    if not s.old_engine_cleaned:
        say(f"photosense: the {s.previous_engine} engine could not be reached to delete the "
            "old faces; run 'photosense reindex' again once it can be")
    raise typer.Exit(1 if s.failed or not s.old_engine_cleaned else 0)


def repair_command(json_output: JsonOption = False, library: LibraryOption = None):
    """Rebuild the text index, recount people's faces, read the GPS positions of photos
    imported before positions were kept (their headers only), name the places of positions
    not named yet (offline), and check the file.

    Exit code 0 when the file is sound afterwards, 1 when damage remains (then restore a
    copy made with 'photosense backup', or import your photos into a new library) or a
    photo's position could not be read (each said on stderr; tried again next time).

    Examples:

      photosense repair

      photosense repair --json
    """
    import sqlite3

    from photosense_cli import app
    from photosense_cli.errors import RESTORE, LibraryDamaged

    try:
        r = app.repair(library_path(library), on_notice=notice)
    except (LibraryDamaged, sqlite3.DatabaseError) as e:
        damage = e if isinstance(e, LibraryDamaged) else app.explain_database_error(
            e, repairing=True)
        if not isinstance(damage, LibraryDamaged):
            raise damage from None
        say(f"photosense: {damage}")
        raise typer.Exit(1) from None
    if json_output:
        print_json(r)
    else:
        say("rebuilt the text index")
        if r["people_recounted"]:
            say(f"recounted the faces and photos of {r['people_recounted']} people")
        pos = r["positions"]
        if pos["read"]:
            say(f"read the GPS position of {pos['read']} photo{'s' * (pos['read'] != 1)} "
                f"imported before positions were kept: {pos['geotagged']} geotagged")
        named = r["places"]
        if named["named"] or named["no_place"]:
            say(f"named the place of {named['named']} photo{'s' * (named['named'] != 1)}"
                + (f" ({named['no_place']} far from any listed place)" if named["no_place"]
                   else ""))
        if named["waiting"]:
            say(f"{named['waiting']} geotagged photo{'s' * (named['waiting'] != 1)} wait for "
                "place names: pip install 'photosense[places]' (offline), then repair again")
        for problem in r["damage"]:
            say(f"photosense: damaged: {problem}")
        if r["damage"]:
            say(f"photosense: damage remains that repair cannot mend: {RESTORE}")
        else:
            say("the library file is sound")
    raise typer.Exit(1 if r["damage"] or r["positions"]["unreadable"] else 0)


def backup_command(
    dest: Annotated[Path, typer.Argument(help="A new file, or a folder to put "
                                         "library-DATE-TIME.db in.")],
    library: LibraryOption = None,
):
    """Copy the library, consistent and whole, even while an import runs.

    SQLite's online backup takes the library as of one moment; the copy is written 0600
    (it holds face data) through a temporary file, and never over the library or a photo.
    To restore, point --library (or PHOTOSENSE_LIBRARY) at the copy.

    Examples:

      photosense backup ~/backups/

      photosense backup /mnt/nas/photosense-$(date +%F).db
    """
    with open_library(library) as lib:
        written = lib.backup(dest)
        say(f"backed up {lib.status()['photos']} photos to {written}")
