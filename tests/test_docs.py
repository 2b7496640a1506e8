"""The docs stay true to the code, in the spirit of sqlite-utils' test_docs.py.

Every command and every option is documented in README.md or docs/, and every
`photosense ...` example in the README names commands and options that exist.
"""

import re
import shlex
from pathlib import Path

import pytest
import typer

from photosense_cli.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
DOCS = README + "".join(p.read_text() for p in sorted((ROOT / "docs").glob("*.md")))


def commands(group=None, path=()):
    """(path, command) for every command, groups included."""
    group = group or typer.main.get_command(app)
    for name, cmd in sorted(group.commands.items()):
        yield (*path, name), cmd
        if hasattr(cmd, "commands"):
            yield from commands(cmd, (*path, name))


COMMANDS = dict(commands())


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_command_and_option_is_documented(path):
    assert f"photosense {' '.join(path)}" in DOCS, f"photosense {' '.join(path)} is undocumented"
    for param in COMMANDS[path].params:
        for opt in param.opts:
            if opt.startswith("--"):
                assert re.search(re.escape(opt) + r"\b", DOCS), f"{opt} of {path} is undocumented"


def readme_examples():
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for line in block.splitlines():
            line = line.split(" #")[0].split("|")[0].split(">")[0].strip()
            if line.startswith("photosense "):
                yield line


@pytest.mark.parametrize("line", list(readme_examples()))
def test_every_readme_example_names_real_commands_and_options(line):
    words = shlex.split(line)[1:]
    path, i = (), 0
    while i < len(words) and (*path, words[i]) in COMMANDS:
        path = (*path, words[i])
        i += 1
    assert path, f"{line}: no such command"
    default = getattr(COMMANDS[path], "default_command", None)  # search TEXT: search find
    if default:
        path = (*path, default)
    known = {o for p in COMMANDS[path].params for o in p.opts}
    if len(path) > 1:  # options of the group (people --hidden) count too
        known |= {o for p in COMMANDS[path[:1]].params for o in p.opts}
    for word in words[i:]:
        if word.startswith("-") and not re.fullmatch(r"-?\d+", word):
            assert word.split("=")[0] in known, f"{line}: {word} is no option of {' '.join(path)}"


def test_the_readme_has_examples_to_check():
    assert len(list(readme_examples())) >= 15


def test_the_workers_help_states_what_the_engines_say():
    from photosense_cli.engines.local import LocalEngine
    from photosense_cli.engines.rekognition import RekognitionEngine

    help_text = {p.name: p.help for p in COMMANDS[("import",)].params}["workers"]
    assert f"{RekognitionEngine.default_workers} for Rekognition" in help_text
    assert LocalEngine.default_workers is None and "one per core for local" in help_text


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=" ".join)
def test_every_option_and_argument_says_what_it_is(path):
    command = COMMANDS[path]
    assert command.help and "Examples:" in command.help or hasattr(command, "commands"), path
    for param in command.params:
        assert getattr(param, "help", None), f"{param.name} of {' '.join(path)} has no help"
