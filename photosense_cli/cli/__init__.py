"""The command line: Typer apps that parse, call one core function, and render.

Errors have one boundary, `Boundary.invoke`: whatever a command raises that the
user can act on becomes one line on stderr and the documented exit code
(0 success, 1 some files failed or nothing found, 2 usage or fatal error,
130 interrupted). A traceback is a bug.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from photosense_cli import __version__
from photosense_cli.cli import (
    import_cmd,
    library_cmd,
    people_cmd,
    review_cmd,  # noqa: F401  (its commands join 'people')
    search_cmd,
    xmp_cmd,
)
from photosense_cli.cli.output import display
from photosense_cli.errors import ItemFailed, PhotosenseError


def _fail(message: str, code: int) -> None:
    sys.stderr.write(f"photosense: {message}\n")
    raise typer.Exit(code)


def _quiet_stdout() -> None:
    """The reader of stdout went away (`| head -1`): later writes and the final flush go
    nowhere, so Python prints no 'Exception ignored' and the exit code stays ours."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


class Boundary(TyperGroup):
    """The root group: the single place where errors become one line and an exit code."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Usage errors as one line (plus a hint), exit 2: Typer's Rich box took 4 lines
        and a script's log had to be read by a person."""
        from typer.exceptions import Abort

        click = _click()
        standalone_mode = kwargs.get("standalone_mode", True)
        kwargs["standalone_mode"] = False  # errors come back here, to be said in one line
        try:
            rv = super().main(*args, **kwargs)
            code = rv if isinstance(rv, int) else 0
        except click.exceptions.NoArgsIsHelpError:
            code = 2  # `photosense` alone: the help was shown, that is the message
        except click.exceptions.UsageError as e:
            sys.stderr.write(f"photosense: {_usage_line(e)}\n")
            if e.ctx is not None:
                sys.stderr.write(f"  see '{e.ctx.command_path} --help'\n")
            code = 2
        except click.exceptions.ClickException as e:
            sys.stderr.write(f"photosense: {e.format_message()}\n")
            code = e.exit_code
        except Abort:  # Ctrl-C or end of input at a question
            sys.stderr.write("photosense: interrupted; nothing more was done\n")
            code = 130
        except BrokenPipeError:
            _quiet_stdout()
            code = 0
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            _quiet_stdout()
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx):
        for stream in (sys.stdout, sys.stderr):  # a name no encoding can show is escaped
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                reconfigure(errors="backslashreplace")
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # inside the boundary: a reader that went away is handled here
            return result
        except PhotosenseError as e:
            _fail(str(e), e.exit_code)
        except ItemFailed as e:  # an engine refusing a request outside an import (forget, suggest)
            _fail(e.reason, 2)
        except BrokenPipeError:
            # `photosense search --paths | head -1`: the reader had enough, which is no failure.
            _quiet_stdout()
            raise typer.Exit(0) from None
        except OSError as e:
            where = f"{display(os.fsdecode(e.filename))}: " if e.filename else ""
            _fail(f"{where}{e.strerror or e}", 2)
        except sqlite3.Error as e:
            from photosense_cli.app import explain_database_error

            repairing = ctx.invoked_subcommand == "repair"
            _fail(str(explain_database_error(e, repairing=repairing)), 2)
        except KeyboardInterrupt:
            _fail("interrupted; what was committed is kept, run the same command again to go on",
                  130)


def _click():
    """The click that Typer runs on: Typer 0.28 vendors its own (typer._click), whose
    exceptions are not the click package's."""
    import typer.core

    vendored = getattr(typer.core, "_click", None)
    if vendored is not None:
        return vendored
    import click

    return click


def _usage_line(e) -> str:
    """click's message, on one line, naming the option as the user typed it."""
    message = " ".join(e.format_message().split())
    return message[0].lower() + message[1:] if message else "usage error"


app = typer.Typer(
    name="photosense",
    cls=Boundary,
    help="Find photos by who is in them and by the text in them.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool):
    if value:
        print(f"photosense {__version__}")
        raise typer.Exit()


@app.callback()
def root(ctx: typer.Context,
         version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")):
    """Find photos by who is in them and by the text in them.

    Settings you make once (engine, region, profile, workers, exclude, library) can
    live in config.toml in the user config directory (~/.config/photosense on Linux,
    or $PHOTOSENSE_CONFIG); a flag beats an environment variable, which beats the file.
    """
    from photosense_cli.cli.common import load_config

    ctx.default_map = load_config(list(_command_names(ctx.command)))


def _command_names(group, prefix: str = ""):
    """'import', 'people', 'people.show'...: the keys of click's default_map."""
    for name, command in group.commands.items():
        yield prefix + name
        if hasattr(command, "commands"):
            yield from _command_names(command, f"{prefix}{name}.")


app.command("import")(import_cmd.import_command)
app.add_typer(search_cmd.app, name="search")
app.command("show")(search_cmd.show_command)
app.command("text")(search_cmd.text_command)
app.add_typer(people_cmd.app, name="people")
app.command("status")(library_cmd.status_command)
app.command("forget")(library_cmd.forget_command)
app.command("reindex")(library_cmd.reindex_command)
app.command("undo")(library_cmd.undo_command)
app.command("history")(library_cmd.history_command)
app.command("repair")(library_cmd.repair_command)
app.command("backup")(library_cmd.backup_command)
app.add_typer(xmp_cmd.app, name="xmp")
app.command("export")(xmp_cmd.export_command)


def main() -> None:
    app()
