"""photosense import PATH..."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, List, Optional

import typer

from photosense_cli.cli.common import (
    ClusterOption,
    JsonOption,
    LibraryOption,
    MaxCostOption,
    ProfileOption,
    QuietOption,
    RegionOption,
    WorkersOption,
    folder_rules,
    library_path,
    region_from_env,
)
from photosense_cli.cli.output import (
    ask,
    display,
    err_console,
    error_line,
    interactive,
    print_json,
    say,
)


class TextReader(StrEnum):
    engine = "engine"
    local = "local"


class Prefilter(StrEnum):
    none = "none"
    local = "local"


def import_command(
    paths: Annotated[List[str], typer.Argument(help="Folders (walked recursively) and files.")],
    engine: Annotated[Optional[str], typer.Option(
        envvar="PHOTOSENSE_ENGINE", show_envvar=True, show_default=False,
        help="local or rekognition. A new library uses local unless told; an existing "
        "library keeps its own.")] = None,
    workers: WorkersOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would be sent and "
                       "its estimated cost; call nothing, change nothing.")] = False,
    json_output: JsonOption = False,
    quiet: QuietOption = False,
    profile: ProfileOption = None,
    region: RegionOption = None,
    s3_bucket: Annotated[Optional[str], typer.Option(help="Also copy each new original to "
                         "this S3 bucket.")] = None,
    s3_prefix: Annotated[str, typer.Option(help="Key prefix in the bucket.")] = "",
    wait: Annotated[float, typer.Option(min=0, help="If another import is running on this "
                    "library, wait up to this many seconds instead of refusing.")] = 0.0,
    exclude: Annotated[Optional[List[str]], typer.Option(
        "--exclude", "-x", show_default=False, help="Leave out files and folders matching "
        "this gitignore-style pattern (repeatable), as a .photosenseignore file in a "
        "scanned folder does. Excluded files are not read.")] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before the first "
                   "import of a new library sends photos to a cloud engine. On a terminal "
                   "that import asks first; in a script (no terminal) it goes on, as "
                   "--engine rekognition was a choice, and says on stderr what it sends "
                   "unless --yes is given.")] = False,
    max_cost: MaxCostOption = None,
    text: Annotated[TextReader, typer.Option(
        "--text", envvar="PHOTOSENSE_TEXT", show_envvar=True, help="Who reads the text in "
        "the photos: the engine, or 'local', the offline OCR on this machine. With "
        "Rekognition, 'local' takes DetectText (a third of the bill) off it and keeps the "
        "text here; only faces are sent.")] = TextReader.engine,
    prefilter: Annotated[Prefilter, typer.Option(
        "--prefilter", envvar="PHOTOSENSE_PREFILTER", show_envvar=True, help="'local': the "
        "offline face detector looks first, and only photos in which it sees a face (or is "
        "unsure) go to the engine's IndexFaces; landscapes and documents cost nothing for "
        "faces.")] = Prefilter.none,
    max_text_tiles: Annotated[int, typer.Option(
        "--max-text-tiles", min=0, max=16, help="A photo whose text reaches the engine's "
        "limit (Rekognition's DetectText: 100 words) is read again in up to this many "
        "overlapping bands, each one more DetectText call ($0.001): a whiteboard or a "
        "page keeps all its words. 0: never.")] = 4,
    no_xmp: Annotated[bool, typer.Option(
        "--no-xmp", help="Do not read names other tools wrote into the photos or their "
        "sidecars (MWG and Microsoft regions, PersonInImage).")] = False,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="One line per file on stderr and what happened to it (new, "
        "copy of a catalogued photo, unchanged, excluded, too small, not a photo...).")
    ] = False,
    retry_failed: Annotated[bool, typer.Option(
        "--retry-failed", help="Try again the files that failed before and have not changed "
        "since (they are skipped otherwise; 'photosense status' lists them).")] = False,
    cluster: ClusterOption = None,
    library: LibraryOption = None,
):
    """Find new photos under PATHS, analyse them, and record faces, people and text.

    Examples:

      photosense import ~/Pictures

      photosense import ~/Pictures --dry-run --engine rekognition --text local

      photosense import /mnt/photos --quiet --json > last-import.json
    """
    from photosense_cli import app

    req = app.ImportRequest(paths=paths, engine=engine, workers=workers, dry_run=dry_run,
                        profile=profile, region=region_from_env(region), s3_bucket=s3_bucket,
                        s3_prefix=s3_prefix, wait=wait, exclude=tuple(exclude or ()),
                        retry_failed=retry_failed, read_xmp=not no_xmp, max_cost=max_cost,
                        text=text.value, prefilter=prefilter.value,
                        max_text_tiles=max_text_tiles, folders=folder_rules(),
                        cluster=cluster or None,
                        consent=None if yes or not interactive() else ask,
                        # a script's cloud import is told on stderr even with --quiet
                        told=None if yes else (lambda m: say(f"photosense: {m}")),
                        on_file=(lambda path, what: say(f"{display(path)}: {what}"))
                        if verbose else None)
    err = err_console()
    show_progress = err.is_terminal and not quiet and not json_output
    bar = _Bar(err) if show_progress else None
    req.on_photo = bar.photo if bar is not None else None

    def on_progress(total, path):
        # The bar starts with the analysis, after the scan and after any question: a
        # question asked while a bar is drawn is drawn over (it was never seen).
        if bar is not None:
            bar.update(total)

    def on_notice(message):
        if not quiet:
            say(message)

    try:
        summary = app.import_photos(library_path(library), req, on_notice=on_notice,
                                on_error=lambda e: error_line(e["path"], e["reason"]),
                                on_progress=on_progress)
    finally:
        if bar is not None:
            bar.stop()
    result = summary.to_json()
    if json_output:
        print_json(result)
    elif not quiet:
        say(describe(result))
    if summary.max_cost_reached:
        error_line("--max-cost", f"stopped before spending more than ${max_cost:.2f}: "
                   f"{summary.over_budget} photos not started; run again to go on")
        raise typer.Exit(2)
    raise typer.Exit(1 if summary.failed else 0)


class _Bar:
    """Files done of those to read, the photos and faces found so far, and the rate over
    the whole run: rich's own estimate follows the last few seconds, and with photos that
    cost 0.1 to 10 s each its ETA swung 100x in 10 s."""

    def __init__(self, console):
        self.console = console
        self.progress = None
        self.task = None
        self.started = 0.0
        self.photos = 0
        self.faces = 0

    def photo(self, faces: int) -> None:
        self.photos += 1
        self.faces += faces

    def update(self, total: int | None) -> None:
        import time

        if self.progress is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self.progress = Progress(TextColumn("importing"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("files · {task.fields[found]} {task.fields[rate]}"),
                                     console=self.console, transient=True)
            self.task = self.progress.add_task("import", total=None, rate="", found="")
            self.progress.start()
            self.started = time.monotonic()
        assert self.task is not None
        if total is not None:
            self.progress.update(self.task, total=total)
            return
        self.progress.advance(self.task)
        self.progress.update(self.task, found=f"{self.photos} new photos, {self.faces} faces")
        task = self.progress.tasks[0]
        elapsed = time.monotonic() - self.started
        if task.completed >= 5 and elapsed > 1 and task.total:
            rate = task.completed / elapsed
            left = (task.total - task.completed) / rate
            self.progress.update(self.task, rate=f"· {rate:.1f} files/s, about "
                                 f"{_duration(left)} left")

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def describe(r: dict) -> str:
    p = r["files"]
    verb = "Would analyse" if r["dry_run"] else "Analysed"
    head = f"{verb} {p['new']} new photo{'s' * (p['new'] != 1)}"
    parts = []
    if p["known"]:
        copies = "copies of catalogued photos" if p["known"] != 1 else "copy of a catalogued photo"
        parts.append(f"{p['known']} {copies} (not analysed again)")
    if p["skipped"]:
        parts.append(f"{p['skipped']} unchanged since the last import")
    parts.append(f"{p['failed']} failed")
    if p["too_small"]:
        parts.append(f"{p['too_small']} too small to analyse (thumbnails, icons), skipped")
    if p["ignored"]:
        parts.append(f"{p['ignored']} other file{'s' * (p['ignored'] != 1)} (not photos) ignored")
    if p["forgotten"]:
        parts.append(f"{p['forgotten']} forgotten")
    if p["excluded"]:
        parts.append(f"{p['excluded']} excluded")
    lines = [f"{head}; {', '.join(parts)}."]
    if p["known_failures"]:
        lines.append(f"{p['known_failures']} known failure{'s' * (p['known_failures'] != 1)} "
                     "skipped (unchanged since they failed); see 'photosense status', "
                     "or --retry-failed.")
    deleted = p["gone"] - p["moved"]
    if p["moved"]:
        lines.append(f"{p['moved']} photo{'s' * (p['moved'] != 1)} moved or renamed: found at "
                     f"the new path, with {'its' if p['moved'] == 1 else 'their'} people.")
    if deleted:
        lines.append(f"{deleted} catalogued file{'s' * (deleted != 1)} deleted or moved out of "
                     "the folders imported: those photos are missing (see 'photosense status').")
    if p["over_budget"]:
        lines.append(f"{p['over_budget']} photos not started: --max-cost reached.")
    if p["replaced"]:
        lines.append(f"{p['replaced']} edited photo{'s' * (p['replaced'] != 1)} replaced, "
                     "keeping their people.")
    if not r["dry_run"] and p["new"]:
        lines.append(f"Found {r['faces']} faces ({r['people_created']} new people) and "
                     f"{r['text_lines']} lines of text in {r['seconds']:.1f} s.")
        if r["places_named"]:
            n = r["places_named"]
            lines.append(f"{n} photo{'s' * (n != 1)} placed on the map (city, region, country).")
        if r["people_hidden"]:
            n = r["people_hidden"]
            lines.append(f"{n} of the new people {'is a tiny face' if n == 1 else 'are tiny faces'}"
                         " in the background, hidden until seen again: "
                         "'photosense people --hidden' lists them.")
    if not r["dry_run"] and r["faces_suggested"]:
        n = r["faces_suggested"]
        lines.append(f"{n} face{'s' * (n != 1)} almost matched someone and "
                     f"{'asks' if n == 1 else 'ask'} \"is this them?\": "
                     "'photosense people suggest --faces'.")
    if not r["dry_run"] and r["faces_by_user"]:
        n = r["faces_by_user"]
        lines.append(f"{n} face{'s' * (n != 1)} placed by {'its' if n == 1 else 'their'} "
                     "person's user vector (all of that person's faces at once).")
    if r["calls"]:
        calls = ", ".join(f"{op} {n}" for op, n in r["calls"].items())
        cost = f" ≈ ${r['estimated_cost_usd']:.3f}" if r["estimated_cost_usd"] else ""
        lines.append(f"{r['engine']} calls{' (estimated)' if r['dry_run'] else ''}: {calls}{cost}.")
    if r["throttled"]:
        n = sum(r["throttled"].values())
        lines.append(f"{n} call{'s' * (n != 1)} refused for rate and sent again, slower "
                     "(not billed).")
    if r["recovered_faces"]:
        lines.append(f"Removed {r['recovered_faces']} faces an interrupted run had left in the engine.")
    lines += privacy_lines(r)
    return "\n".join(lines)


def privacy_lines(r: dict) -> list[str]:
    """What the folder rules, the forgotten faces and the templates changed in a run."""
    v, lines = r["privacy"], []
    kept = [f"{n} in folders with {rule}" for n, rule in (
        (v["no_faces"], "faces = false: text only"),
        (v["no_cloud"], "cloud = false: nothing sent")) if n]
    if kept:
        lines.append(f"Folder rules: {'; '.join(kept)} (faces not analysed"
                     f"{', text read on this machine' if v['no_cloud'] else ''}).")
    if v["text_not_read"]:
        lines.append(f"{v['text_not_read']} photos under cloud = false had their text left "
                     "unread: the offline OCR is not installed (pip install "
                     "'photosense-cli[local]').")
    if v["faces_removed_by_rule"]:
        lines.append(f"Deleted {v['faces_removed_by_rule']} faces of photos now under a folder "
                     "rule, here and in the engine.")
    if v["faces_forgotten"]:
        lines.append(f"Dropped {v['faces_forgotten']} faces of forgotten people (not stored).")
    if v["faces_suppressed"]:
        lines.append(f"Dropped {v['faces_suppressed']} faces that matched a suppression "
                     "template (not stored; 'photosense people suppressed').")
    return lines
