"""The offline engine's speed and memory, side by side with the previous release.

Imports ../shared/data/faces and text, then a generated larger set (variants of
those photos: mirrored, rescaled, re-encoded, so each has new content), each in
a fresh process, with this tree and with the release given by --against (a git
revision, extracted to a temporary folder and imported from there), and prints
photos/s, peak RSS (the importing process, and the largest model worker), faces
and lines found, and the speed-up of the medians (--repeat runs of each version,
taken in turn: runs on a shared machine vary by 10 %). Target: >= 1.5x photos/s with all cores on
the shared photos, peak memory per worker no higher.

    python benchmarks/local_engine_bench.py [--variants 60] [--against c1e8a92] [--repeat 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageOps

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

RUNNER = r"""
import json, sys, time
from pathlib import Path
from photosense_cli.catalogue import Catalogue
from photosense_cli.engines.local import LocalEngine
try:
    from photosense_cli.pipeline.importjob import Importer
except ImportError:  # releases before the pipeline became a package
    from photosense_cli.importer import Importer
lib, workers, folders = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def peak_mb(pid="self"):
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork and exec from the parent
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
engine = LocalEngine(processes=workers)
import inspect
threads = "threads" if "threads" in inspect.signature(Importer).parameters else "workers"
s = Importer(Catalogue(Path(lib)), engine, **{threads: 2 * workers}).run(folders)
pool = engine._pool
workers_mb = max((peak_mb(p) for p in pool._processes), default=0) if pool else 0
engine.close()
print(json.dumps({"photos": s.new, "failed": s.failed, "seconds": s.seconds, "faces": s.faces,
    "lines": s.text_lines, "rss_main_mb": peak_mb(), "rss_worker_mb": workers_mb}))
"""


def variants(out: Path, n: int) -> None:
    out.mkdir(parents=True)
    sources = sorted((SHARED / "faces").glob("*.jp*g")) + sorted((SHARED / "faces").glob("*.png"))
    for i in range(n):
        img = ImageOps.exif_transpose(Image.open(sources[i % len(sources)])).convert("RGB")
        if i // len(sources) % 2 == 0:
            img = ImageOps.mirror(img)
        scale = 1.0 + 0.1 * (i // len(sources))
        img = img.resize((round(img.width * scale), round(img.height * scale)))
        img.save(out / f"v{i:04}.jpg", quality=85 + i % 10)


def run(folders: list[Path], workers: int, code: Path | None = None) -> dict:
    """One import in a fresh process; `code`: a folder holding another photosense_cli."""
    env = {**os.environ, "PYTHONPATH": str(code)} if code else None
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", RUNNER, f"{tmp}/lib.db", str(workers),
                              *map(str, folders)], capture_output=True, text=True, check=True,
                             env=env, cwd=code or None)
        if out.stderr.strip():
            print("stderr of the import:", out.stderr.strip()[:500])
    return json.loads(out.stdout.strip().splitlines()[-1])


def index_search_cost() -> None:
    """SearchFaces on the in-memory collection: one vectorised pass over every descriptor."""
    import time

    import numpy as np

    from photosense_cli.engines.base import KnownFace, Usage
    from photosense_cli.engines.local import LocalEngine

    rng = np.random.default_rng(0)
    for n in (10_000, 100_000, 300_000, 1_000_000):
        engine = LocalEngine(processes=1)
        vectors = rng.normal(0, 0.08, (n, 128)).astype(np.float32)
        engine.open_collection("bench", (KnownFace(f"f{i}", v.tobytes()) for i, v in enumerate(vectors)))
        times = []
        for i in range(50):
            start = time.perf_counter()
            engine.search_faces(f"f{i}", 90.0, Usage())
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        print(f"in-memory face search over {n:>7,} faces: p50 {times[25]:.1f} ms, "
              f"p95 {times[47]:.1f} ms, matrix {vectors.nbytes / 2**20:.0f} MB")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", type=int, default=60)
    ap.add_argument("--against", default="c1e8a92",
                    help="the previous release, a git revision (default: round one's)")
    ap.add_argument("--no-search", action="store_true", help="skip the face-search figures")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each version (this machine's runs vary by 10 %%)")
    ap.add_argument("--shared-only", action="store_true", help="skip the generated set")
    args = ap.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"no test photos at {SHARED}")
    if not args.no_search:
        index_search_cost()
    cores = os.cpu_count() or 1
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        previous = Path(tmp) / "previous"
        previous.mkdir()
        archive = subprocess.run(["git", "-C", str(root), "archive", args.against,
                                  "photosense_cli"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(previous)], input=archive, check=True)
        variants(Path(tmp) / "variants", args.variants)
        sets = {"shared faces + text (25 photos)": [SHARED / "faces", SHARED / "text"],
                f"generated set ({args.variants} photos)": [Path(tmp) / "variants"]}
        if args.shared_only:
            del sets[f"generated set ({args.variants} photos)"]
        print(f"{cores} cores; 'now' is this tree, 'before' is {args.against}; "
              f"{args.repeat} runs of each, taken in turn, and their median")
        for name, folders in sets.items():
            for workers in sorted({1, cores}):
                rates: dict[str, list[float]] = {"before": [], "now": []}
                worker_mb: dict[str, list[float]] = {"before": [], "now": []}
                for _ in range(args.repeat):  # in turn: a slow minute of the machine hits both
                    for label, code in (("before", previous), ("now", None)):
                        r = run(folders, workers, code)
                        rates[label].append(r["photos"] / r["seconds"])
                        worker_mb[label].append(r["rss_worker_mb"])
                        print(f"{name:32} {label:6} workers {workers}: {rates[label][-1]:5.2f} "
                              f"photos/s ({r['photos']} photos, {r['faces']} faces, {r['lines']} "
                              f"lines, {r['seconds']:.1f} s); peak RSS main {r['rss_main_mb']:.0f}"
                              f" MB, largest worker {r['rss_worker_mb']:.0f} MB", flush=True)
                before, now = statistics.median(rates["before"]), statistics.median(rates["now"])
                print(f"{name:32} workers {workers}: median {before:.2f} -> {now:.2f} photos/s, "
                      f"{now / before:.2f}x (target >= 1.5x with {cores} workers); largest "
                      f"worker {max(worker_mb['before']):.0f} -> {max(worker_mb['now']):.0f} MB",
                      flush=True)

if __name__ == "__main__":
    main()
