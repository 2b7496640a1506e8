"""The command line: Typer apps that parse, call one core function, and render."""

from __future__ import annotations

import typer

from photosense_cli import __version__
from photosense_cli.cli import import_cmd, library_cmd, people_cmd, search_cmd

app = typer.Typer(
    name="photosense",
    help="Find photos by who is in them and by the text in them.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool):
    if value:
        print(f"photosense {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")):
    pass


app.command("import")(import_cmd.import_command)
app.command("search")(search_cmd.search_command)
app.command("show")(search_cmd.show_command)
app.add_typer(people_cmd.app, name="people")
app.command("status")(library_cmd.status_command)
app.command("forget")(library_cmd.forget_command)
app.command("reindex")(library_cmd.reindex_command)
app.command("undo")(library_cmd.undo_command)
app.command("history")(library_cmd.history_command)


def main() -> None:
    app()
