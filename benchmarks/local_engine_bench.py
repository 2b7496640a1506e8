"""The offline engine's speed and memory: one worker against all cores.

Imports ../shared/data/faces and text, then a generated larger set (variants of
those photos: mirrored, rescaled, re-encoded, so each has new content), each in
a fresh process, and prints photos/s and peak RSS (the importing process, and
the largest model worker).

    python benchmarks/local_engine_bench.py [--variants 60]
"""

import argparse
import json
import os
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
from photosense_cli.importer import Importer
lib, workers, folders = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def peak_mb(pid="self"):
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork and exec from the parent
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
engine = LocalEngine(processes=workers)
s = Importer(Catalogue(Path(lib)), engine, threads=2 * workers).run(folders)
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


def run(folders: list[Path], workers: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", RUNNER, f"{tmp}/lib.db", str(workers),
                              *map(str, folders)], capture_output=True, text=True, check=True)
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
    args = ap.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"no test photos at {SHARED}")
    index_search_cost()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        variants(Path(tmp) / "variants", args.variants)
        sets = {"shared faces + text (25 photos)": [SHARED / "faces", SHARED / "text"],
                f"generated set ({args.variants} photos)": [Path(tmp) / "variants"]}
        for name, folders in sets.items():
            for workers in sorted({1, cores}):
                r = run(folders, workers)
                print(f"{name:32} workers {workers}: {r['photos'] / r['seconds']:5.2f} photos/s "
                      f"({r['photos']} photos, {r['faces']} faces, {r['lines']} lines, "
                      f"{r['seconds']:.1f} s); peak RSS main {r['rss_main_mb']:.0f} MB, "
                      f"largest worker {r['rss_worker_mb']:.0f} MB")


if __name__ == "__main__":
    main()
