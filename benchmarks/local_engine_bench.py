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
import json, resource, sys, time
from pathlib import Path
from photosense_cli.catalogue import Catalogue
from photosense_cli.engines.local import LocalEngine
from photosense_cli.importer import Importer
lib, workers, folders = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
engine = LocalEngine(processes=workers)
s = Importer(Catalogue(Path(lib)), engine, workers=workers).run(folders)
engine.close()
print(json.dumps({"photos": s.new, "failed": s.failed, "seconds": s.seconds, "faces": s.faces,
    "lines": s.text_lines,
    "rss_main_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "rss_worker_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
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
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--variants", type=int, default=60)
    args = ap.parse_args()
    if not SHARED.is_dir():
        sys.exit(f"no test photos at {SHARED}")
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
