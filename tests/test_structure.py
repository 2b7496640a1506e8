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


# The front ends: the command line, and the terminal review app it starts. Each may use
# the other's own modules (the CLI starts the app; the app shows names as the CLI does).
FRONT_ENDS = ("photosense_cli.cli", "photosense_cli.tui")


def test_the_front_ends_go_through_the_application_layer_only():
    for package in FRONT_ENDS:
        for path in sorted((PACKAGE / package.split(".")[1]).glob("*.py")):
            outside = {m for m in imports_of(path) if not m.startswith(FRONT_ENDS)}
            outside.discard("photosense_cli.__version__")
            assert outside <= FRONT_END_MAY_IMPORT, (path.name, outside - FRONT_END_MAY_IMPORT)


def test_the_rule_is_checked_on_something():
    assert "photosense_cli.app" in imports_of(PACKAGE / "cli" / "common.py")
    assert "photosense_cli.app" in imports_of(PACKAGE / "tui" / "review_app.py")
    assert imports_of(PACKAGE / "app.py") & {"photosense_cli.catalogue", "photosense_cli.people"}


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def test_no_import_cycle_even_through_imports_inside_functions():
    mods = modules()
    graph = {}
    for name, path in mods.items():
        targets = set()
        for m in imports_of(path):
            while m and m not in mods:  # `from photosense_cli.x import name`: the module x
                m = m.rpartition(".")[0]
            if m and m != name and not name.startswith(m + "."):  # a package's own face
                targets.add(m)
        graph[name] = targets
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = trail[trail.index(nxt):] + [nxt]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_modules_classes_and_functions_stay_small():
    """No module over 700 lines, no class over 400, no function body over 80: each
    concept has a home a reader can take in."""
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        assert text.count("\n") <= 700, (path.name, text.count("\n"))
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                assert node.end_lineno - node.lineno < 400, (path.name, node.name)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body
                doc = (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                       and isinstance(body[0].value.value, str) and len(body) > 1)
                start = body[1].lineno if doc else body[0].lineno
                assert node.end_lineno - start < 80, (path.name, node.name)
