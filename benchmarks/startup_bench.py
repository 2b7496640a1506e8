"""Start-up of the commands scripts call in loops, beside sqlite-utils' own start-up.

Scripts run `photosense search WORD --json` once per line of a loop, so its
start-up is its speed. The target: search, people, status and show at or below
`sqlite-utils query LIB 'select 1'` on the same file (ratio <= 1.0), medians of
--runs wall-clock runs, interleaved so machine drift hits both alike.

    python benchmarks/startup_bench.py [--runs 7] [--library LIB]
"""

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from photosense_cli.catalogue import Catalogue
from photosense_cli.engines.fake import FakeEngine, draw_photo
from photosense_cli.pipeline.importjob import Importer


def build(folder: Path) -> Path:
    """A small library: 40 photos with faces and text, through the real importer."""
    for i in range(40):
        draw_photo(size=(640 + i, 480), faces=[(i % 5, (0.1, 0.1, 0.25, 0.3))],
                   texts=[(0, (0.3, 0.65, 0.4, 0.2))]).save(folder / f"{i:03}.jpg")
    lib = folder / "library.db"
    cat = Catalogue(lib)
    with cat.transaction():
        cat.set_meta("engine", "fake")
    Importer(cat, FakeEngine(texts={0: ["quarterly whiteboard review"]}), threads=4).run(
        [str(folder)])
    return lib


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--library", type=Path)
    args = ap.parse_args()
    bindir = Path(sys.executable).parent
    photosense = str(bindir / "photosense")
    sqlite_utils = shutil.which("sqlite-utils", path=str(bindir)) or shutil.which("sqlite-utils")
    if not sqlite_utils:
        sys.exit("sqlite-utils' command is not installed beside this Python")
    with tempfile.TemporaryDirectory() as tmp:
        lib = args.library or build(Path(tmp))
        commands = {
            "photosense search WORD --json": [photosense, "search", "whiteboard", "--json"],
            "photosense people --json": [photosense, "people", "--json"],
            "photosense status --json": [photosense, "status", "--json"],
            "photosense show 1 --json": [photosense, "show", "1", "--json"],
            "photosense search WORD (table)": [photosense, "search", "whiteboard"],
        }
        baseline_cmd = [sqlite_utils, "query", str(lib), "select 1"]
        times: dict[str, list[float]] = {name: [] for name in commands}
        baseline: list[float] = []
        for cmd in [*commands.values(), baseline_cmd]:  # warm the page cache and .pyc files
            timed(cmd if cmd is baseline_cmd else [*cmd, "--library", str(lib)])
        for _ in range(args.runs):
            for name, cmd in commands.items():
                times[name].append(timed([*cmd, "--library", str(lib)]))
                baseline.append(timed(baseline_cmd))
        base = statistics.median(baseline)
        print(f"sqlite-utils query LIB 'select 1'   median {base * 1000:6.0f} ms "
              f"(of {len(baseline)} runs)")
        for name, values in times.items():
            med = statistics.median(values)
            print(f"{name:34} median {med * 1000:6.0f} ms   ratio {med / base:4.2f}"
                  f"   (target <= 1.00)")


if __name__ == "__main__":
    main()
