"""The house's rules, checked on the code itself (issue 18): front ends go through the
application layer only."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "photosense_cli"
# What a front end may import of photosense: the one door, the records and errors that
# cross it, and its own helpers. The catalogue and the engines stay behind the door.
FRONT_END_MAY_IMPORT = {"photosense_cli.app", "photosense_cli.records", "photosense_cli.errors"}


def imports_of(path: Path) -> set[str]:
    """Every photosense module a file imports, at the top or inside a function."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "photosense_cli":
                out |= {f"photosense_cli.{a.name}" for a in node.names}
            elif node.module.startswith("photosense_cli."):
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("photosense_cli")}
    return out


def test_the_command_line_goes_through_the_application_layer_only():
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        outside = {m for m in imports_of(path) if not m.startswith("photosense_cli.cli")}
        outside.discard("photosense_cli.__version__")
        assert outside <= FRONT_END_MAY_IMPORT, (path.name, outside - FRONT_END_MAY_IMPORT)


def test_the_rule_is_checked_on_something():
    assert "photosense_cli.app" in imports_of(PACKAGE / "cli" / "common.py")
    assert imports_of(PACKAGE / "app.py") & {"photosense_cli.catalogue", "photosense_cli.people"}
