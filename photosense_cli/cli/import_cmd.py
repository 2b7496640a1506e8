"""photosense import PATH..."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from photosense_cli.cli.common import (
    JsonOption, LibraryOption, display_path, err_console, handle_errors, library_path, print_json,
)
from photosense_cli.library import ImportRequest, import_photos


@handle_errors
def import_command(
    paths: Annotated[List[str], typer.Argument(help="Folders (walked recursively) and files.")],
    engine: Annotated[Optional[str], typer.Option(help="local or rekognition; a new library "
                      "picks Rekognition when AWS is configured, else local.")] = None,
    workers: Annotated[Optional[int], typer.Option(min=1, max=64, help="Photos analysed at "
                       "once [default: 8 for Rekognition, the number of cores for local].")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would be sent and "
                       "its estimated cost; call nothing, change nothing.")] = False,
    json_output: JsonOption = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    profile: Annotated[Optional[str], typer.Option(help="AWS profile.")] = None,
    region: Annotated[Optional[str], typer.Option(help="AWS region.")] = None,
    s3_bucket: Annotated[Optional[str], typer.Option(help="Also copy each new original to "
                         "this S3 bucket.")] = None,
    s3_prefix: Annotated[str, typer.Option(help="Key prefix in the bucket.")] = "",
    wait: Annotated[float, typer.Option(min=0, help="If another import is running on this "
                    "library, wait up to this many seconds instead of refusing.")] = 0.0,
    library: LibraryOption = None,
):
    """Find new photos under PATHS, analyse them, and record faces, people and text."""
    err = err_console()
    req = ImportRequest(paths=paths, engine=engine, workers=workers, dry_run=dry_run,
                        profile=profile, region=region, s3_bucket=s3_bucket,
                        s3_prefix=s3_prefix, wait=wait)
    show_progress = err.is_terminal and not quiet and not json_output
    progress = Progress(TextColumn("[bold]importing"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), console=err, transient=True,
                        disable=not show_progress)
    task = progress.add_task("import", total=None)

    def on_progress(total, path):
        if total is not None:
            progress.update(task, total=total)
        else:
            progress.advance(task)

    def on_error(e):
        progress.console.print(f"photosense: {display_path(e['path'])}: {e['reason']}",
                               markup=False, highlight=False, soft_wrap=True)

    def on_notice(message):
        if not quiet:
            progress.console.print(message, markup=False, highlight=False, soft_wrap=True)

    with progress:
        summary = import_photos(library_path(library), req, on_notice=on_notice,
                                on_error=on_error, on_progress=on_progress)
    result = summary.as_dict()
    if json_output:
        print_json(result)
    elif not quiet:
        err.print(describe(result), markup=False)
    raise typer.Exit(1 if summary.failed else 0)


def describe(r: dict) -> str:
    p = r["photos"]
    verb = "Would analyse" if r["dry_run"] else "Analysed"
    head = (f"{verb} {p['new']} new photo{'s' * (p['new'] != 1)}; {p['known']} already known, "
            f"{p['skipped']} unchanged, {p['failed']} failed")
    if p["ignored"]:
        head += f", {p['ignored']} other files ignored"
    if p["forgotten"]:
        head += f", {p['forgotten']} forgotten"
    lines = [head + "."]
    if not r["dry_run"] and p["new"]:
        lines.append(f"Found {r['faces']} faces ({r['people_created']} new people) and "
                     f"{r['text_lines']} lines of text in {r['seconds']:.1f} s.")
    if r["calls"]:
        calls = ", ".join(f"{op} {n}" for op, n in r["calls"].items())
        cost = f" ≈ ${r['estimated_cost_usd']:.3f}" if r["engine"] == "rekognition" else ""
        lines.append(f"{r['engine']} calls{' (estimated)' if r['dry_run'] else ''}: {calls}{cost}.")
    if r["recovered_faces"]:
        lines.append(f"Removed {r['recovered_faces']} faces an interrupted run had left in the engine.")
    return "\n".join(lines)
