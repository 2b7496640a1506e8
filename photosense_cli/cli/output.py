"""The one output layer: tables for people, JSON, JSON Lines and CSV for scripts, error lines.

Names and paths are the user's data: they are never read as markup, and
control characters in them are shown escaped, so one record stays one line.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from photosense_cli.cli.common import Format, display
from photosense_cli.errors import PhotosenseError


def literal(text: str | None, style: str = ""):
    """A rich Text of user data: shown as it is, never parsed as markup."""
    from rich.text import Text

    return Text(display(text), style=style)


def _console(**kw):
    from rich.console import Console

    class Quiet(Console):
        def on_broken_pipe(self) -> None:
            # Rich exits 1 when the reader of stdout goes away (`people | head -1`); the
            # boundary makes that the quiet exit 0 every command gives.
            raise BrokenPipeError

    return Quiet(highlight=False, markup=False, emoji=False, **kw)


def err_console():
    return _console(stderr=True)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def out_console():
    # Piped output is for other programs: never wrap or cut a path to fit a width.
    width = None if stdout_is_terminal() else 10_000
    return _console(width=width)


def interactive() -> bool:
    """A person at a terminal who can answer a question (not a script, not cron)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def ask(question: str) -> bool:
    import typer

    return typer.confirm(question, default=False, err=True)


def say(message: str) -> None:
    """A message for the person at the terminal (stderr, so stdout stays for data)."""
    sys.stderr.write(message + "\n")


def error_line(path: str, reason: str) -> None:
    """The one form of a per-file failure: 'photosense: PATH: REASON' on stderr."""
    sys.stderr.write(f"photosense: {display(path)}: {reason}\n")


def print_paths(paths, nul: bool = False) -> None:
    """One path a line for xargs, or NUL-terminated (-0) for names with spaces and newlines.

    A missing photo's path is never printed: scripts act on what is there.
    """
    end = "\0" if nul else "\n"
    for path in paths:
        sys.stdout.write(f"{path}{end}")


def choose_format(fmt: Format | None, json_flag: bool) -> Format:
    if json_flag and fmt not in (None, Format.json):
        raise PhotosenseError(f"--json and --format {fmt.value} contradict each other")
    return Format.json if json_flag else (fmt or Format.table)


def _ascii_only() -> bool:
    """JSON stays valid on a terminal that cannot show UTF-8: \\u escapes, not replacements."""
    return (sys.stdout.encoding or "").lower().replace("-", "") != "utf8"


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=_ascii_only()) + "\n")


def emit(data: Any, fmt: Format, table: Callable[[], None],
         csv_columns: Sequence[str] | None = None, csv_rows: list[dict] | None = None) -> None:
    """Render a record (dict) or a listing (list of dicts) in the chosen format.

    csv_rows: the flat rows CSV gets instead of `data`, for a record that holds lists
    (a person's faces): one row per face, not a JSON blob in one cell."""
    if fmt is Format.csv and csv_rows is not None:
        data = csv_rows
    if fmt is Format.json:
        print_json(data)
    elif fmt is Format.jsonl:
        for item in data if isinstance(data, list) else [data]:
            sys.stdout.write(json.dumps(item, ensure_ascii=_ascii_only()) + "\n")
    elif fmt is Format.csv:
        rows = data if isinstance(data, list) else [data]
        columns = list(csv_columns or (rows[0].keys() if rows else []))
        w = csv.writer(sys.stdout)
        w.writerow(columns)
        for r in rows:
            w.writerow([_csv_cell(r.get(c)) for c in columns])
    else:
        table()


FACE_CSV = ["face", "photo", "path", "taken_at", "person_id", "name", "label", "left", "top",
            "width", "height", "confidence"]


def face_rows(faces: list[dict], photos: dict[int, dict]) -> list[dict]:
    """One CSV row per face, with its photo's path and date (people show, show)."""
    rows = []
    for f in faces:
        ph = photos.get(f["photo_id"], {})
        rows.append({"face": f["id"], "photo": f["photo_id"], "path": ph.get("path"),
                     "taken_at": ph.get("taken_at"), "person_id": f["person_id"],
                     "name": f["person"], "label": f["person_label"], **f["box"],
                     "confidence": f["confidence"]})
    return rows


def _csv_cell(value: Any) -> str:
    """Text cells never start a formula (csvcell.safe); numbers are written as they are."""
    from photosense_cli.app import csv_safe as safe

    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return safe("; ".join(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                              for v in value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return safe(value)
    return str(value)


# Below this many columns of terminal per table column, a table would squeeze its cells
# to nothing: each row is shown as "column: value" lines instead.
MIN_CELL_WIDTH = 12


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], **kw):
    """A table whose cells are literal text; ids never wrap; stacked on narrow terminals."""
    cells = [[cell if not isinstance(cell, (str, type(None))) else literal(cell) for cell in row]
             for row in rows]
    return _Adaptive(list(columns), cells, kw)


class _Adaptive:
    def __init__(self, columns: list[str], rows: list[list], kw: dict):
        self.columns, self.rows, self.kw = columns, rows, kw

    def __rich_console__(self, console, options):
        from rich.table import Table
        from rich.text import Text

        if options.max_width >= MIN_CELL_WIDTH * len(self.columns):
            t = Table(**self.kw)
            for c in self.columns:
                t.add_column(c, no_wrap=c in ("id", "face", "photo", "person"), overflow="fold")
            for row in self.rows:
                t.add_row(*row)
            yield t
            return
        for i, row in enumerate(self.rows):
            if i:
                yield Text("")
            for name, cell in zip(self.columns, row, strict=True):
                yield Text(f"{name}: " if name else "", style="bold").append_text(
                    cell if isinstance(cell, Text) else Text(str(cell)))
