"""Options every command shares, declared once, and where the library file is."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Optional

import typer

ENV_LIBRARY = "PHOTOSENSE_LIBRARY"


class Format(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


LibraryOption = Annotated[
    Optional[str],  # a str, not a Path: Path("newdir/") would lose the slash that means "a folder"
    typer.Option("--library", "-L", envvar=ENV_LIBRARY, show_envvar=True, show_default=False,
                 help="Library file, or a folder to keep library.db in. Default: library.db "
                 "in the user data directory (~/.local/share/photosense on Linux)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (same as --format json).")]
FormatOption = Annotated[Optional[Format], typer.Option(
    "--format", "-f", show_default=False, help="Output format: table (the default on a "
    "terminal), json, jsonl (one object a line) or csv.")]
PathsOption = Annotated[bool, typer.Option("--paths", help="Print one path per line, for "
                                          "xargs (never a missing photo's).")]
Print0Option = Annotated[bool, typer.Option("--print0", "-0", help="With --paths: end each "
                                            "path with NUL instead of a newline (xargs -0).")]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
ProfileOption = Annotated[Optional[str], typer.Option(
    envvar="AWS_PROFILE", show_envvar=False, help="AWS profile (Rekognition only).")]
RegionOption = Annotated[Optional[str], typer.Option(
    show_default=False, help="AWS region (Rekognition only). Default: AWS_REGION, "
    "AWS_DEFAULT_REGION or the profile's region, as the AWS CLI does.")]
MaxCostOption = Annotated[Optional[float], typer.Option(
    "--max-cost", min=0, show_default=False, help="Stop before this run would spend more than "
    "this many US dollars (cloud engines): no photo starts that would pass it; exit 2, with "
    "what was done kept, and the same command goes on later.")]
WorkersOption = Annotated[Optional[int], typer.Option(
    min=1, max=64, envvar="PHOTOSENSE_WORKERS", show_envvar=True, show_default=False,
    help="Photos analysed at once, at most. Default: 32 for Rekognition (paced to its "
    "quota), one per core for local.")]

ClusterOption = Annotated[Optional[str], typer.Option(
    "--cluster", envvar="PHOTOSENSE_CLUSTER", show_envvar=True, show_default=False,
    metavar="tcp://HOST:8786", help="A Dask scheduler: each photo's analysis by the offline "
    "engine runs on its workers (pip install 'photosense-cli[local]' on each; here "
    "'photosense-cli[local,cluster]'). The photo's bytes travel to the worker with the "
    "task; faces and text come back, and the library stays here.")]


def library_path(value: str | None) -> Path:
    """The library file: --library, else $PHOTOSENSE_LIBRARY, else the user data directory.

    A folder (existing, or written with a trailing slash) holds library.db.
    """
    if value is None or str(value) == "":
        from platformdirs import user_data_dir

        return Path(user_data_dir("photosense")) / "library.db"
    raw = os.fspath(value)
    path = Path(raw).expanduser()
    if raw.endswith(os.sep) or path.is_dir():
        return path / "library.db"
    return path


def display(text: str | None) -> str:
    """A name or path on one line, whatever it holds (newlines, escape sequences)."""
    if text is None:
        return ""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def notice(message: str) -> None:
    """What the application layer tells the user in passing: one line on stderr, with
    the paths and names in it shown literally (a file name can hold escape sequences)."""
    import sys

    sys.stderr.write(f"photosense: {display(message)}\n")


def open_library(value: str | None, profile: str | None = None, region: str | None = None):
    """The library named on the command line, through the application layer (closed, with
    any engine made for it, when the command's block ends)."""
    from photosense_cli import app

    region = region_from_env(region)
    options = app.engine_options(profile, region) if profile or region else None
    return app.open_library(library_path(value), on_notice=notice, options=options)


ENV_CONFIG = "PHOTOSENSE_CONFIG"
# config.toml keys -> the commands and options they set. The config file sits below the
# environment and the command line: flag > environment variable > config file > default.
CONFIG_KEYS = {
    "engine": {"import": "engine"},
    "workers": {"import": "workers", "reindex": "workers"},
    "region": {"import": "region", "reindex": "region", "forget": "region",
               "people.suggest": "region"},
    "profile": {"import": "profile", "reindex": "profile", "forget": "profile",
                "people.suggest": "profile"},
    "exclude": {"import": "exclude"},
    "text": {"import": "text"},
    "prefilter": {"import": "prefilter"},
    "max_text_tiles": {"import": "max_text_tiles"},
    "cluster": {"import": "cluster", "reindex": "cluster"},
    "library": {"*": "library"},
}
CONFIG_TYPES = {"engine": str, "workers": int, "region": str, "profile": str, "exclude": list,
                "text": str, "prefilter": str, "max_text_tiles": int, "cluster": str,
                "library": str}


def config_path() -> Path:
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("photosense")) / "config.toml"


def _read_config() -> tuple[Path, dict]:
    """The config file as TOML, {} when there is none; PhotosenseError when it is bad."""
    from photosense_cli.errors import PhotosenseError

    path = config_path()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        if os.environ.get(ENV_CONFIG):
            # named on purpose: ignoring it would silently drop the user's settings
            raise PhotosenseError(f"{path}: no such config file (named by ${ENV_CONFIG}); "
                                  "create it, or unset the variable") from None
        return path, {}
    except OSError as e:
        raise PhotosenseError(f"{path}: cannot read the config file: {e.strerror or e}") from None
    import tomllib

    try:
        return path, tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise PhotosenseError(f"{path}: not valid TOML: {e}") from None


def folder_rules():
    """The [[folders]] rules of config.toml (policy.py): what may leave the machine."""
    from photosense_cli import app

    path, config = _read_config()
    return app.folder_rules(config.get("folders", []), str(path))


def load_config(commands: list[str]) -> dict:
    """click's default_map for these commands from config.toml; {} when there is none."""
    from photosense_cli.errors import PhotosenseError

    path, config = _read_config()
    out: dict = {}
    for key, value in config.items():
        if key == "folders":  # rules by path, read by the commands they concern
            from photosense_cli import app

            app.folder_rules(value, str(path))  # a bad rule is said at once, by any command
            continue
        if key not in CONFIG_KEYS:
            raise PhotosenseError(f"{path}: unknown setting {key!r} (known: "
                                  f"{', '.join(sorted([*CONFIG_KEYS, 'folders']))})")
        if not isinstance(value, CONFIG_TYPES[key]) or isinstance(value, bool):
            raise PhotosenseError(f"{path}: {key} must be a "
                                  f"{CONFIG_TYPES[key].__name__}, not {value!r}")
        for where, option in CONFIG_KEYS[key].items():
            for command in commands if where == "*" else [where]:
                node = out
                for part in command.split("."):
                    node = node.setdefault(part, {})
                node[option] = value
    return out


def region_from_env(region: str | None) -> str | None:
    """--region, else AWS_REGION (which the AWS CLI honours before AWS_DEFAULT_REGION)."""
    return region or os.environ.get("AWS_REGION") or None
