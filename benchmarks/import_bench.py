"""Import throughput against an engine with network-like latency, and the cost of a rerun.

Generates N photos (one or two faces each), imports them through the fake
engine with a fixed latency per call, and compares with a sequential loop
doing the original design's calls one photo at a time (read, IndexFaces,
DetectText, SearchFaces per face). Then times a rerun over an unchanged tree
of --tree files.

    python benchmarks/import_bench.py [--photos 200] [--latency 0.15] [--workers 16] [--tree 10000]
"""

import argparse
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from photosense_cli.catalogue import Catalogue
from photosense_cli.engines.base import FACE_MATCH_THRESHOLD, Usage
from photosense_cli.engines.fake import FakeEngine, draw_photo
from photosense_cli.importer import Importer


def make_photos(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        faces = [(i % 12, (0.1, 0.1, 0.25, 0.3))] + ([((i + 5) % 12, (0.6, 0.2, 0.25, 0.3))] if i % 2 else [])
        draw_photo(size=(800 + i % 200, 600), faces=faces).save(folder / f"{i:05}.jpg", quality=90)


def make_tree(folder: Path, n: int) -> None:
    """n distinct small photos with no faces, 500 a folder (light colours: no fake face)."""
    for i in range(n):
        sub = folder / f"{i // 500:03}"
        sub.mkdir(parents=True, exist_ok=True)
        colour = (200 + i % 50, 200 + (i // 50) % 50, 200 + i // 2500)
        Image.new("RGB", (96, 96), colour).save(sub / f"{i:05}.png")


def sequential(folder: Path, latency: float) -> float:
    """The original design: one photo at a time, every call waited for."""
    engine = FakeEngine(latency=latency)
    start = time.perf_counter()
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        usage = Usage()
        faces = engine.index_faces(data, sha, usage)
        engine.detect_text(data, usage)
        for face in faces:
            engine.search_faces(face.face_id, FACE_MATCH_THRESHOLD, usage)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=200)
    ap.add_argument("--latency", type=float, default=0.15)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--tree", type=int, default=10_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        make_photos(tmp / "photos", args.photos)

        seq = sequential(tmp / "photos", args.latency)
        cat = Catalogue(tmp / "lib.db")
        s = Importer(cat, FakeEngine(latency=args.latency), threads=args.workers).run([str(tmp / "photos")])
        assert s.new == args.photos and not s.errors, s.to_json()
        seq_rate, ps_rate = args.photos / seq, args.photos / s.seconds
        print(f"photos: {args.photos}, latency per call: {args.latency * 1000:.0f} ms, "
              f"workers: {args.workers}, calls: {dict(s.calls)}")
        print(f"sequential (original design): {seq_rate:8.2f} photos/s  ({seq:.1f} s)")
        print(f"photosense import:            {ps_rate:8.2f} photos/s  ({s.seconds:.1f} s)")
        print(f"ratio: {ps_rate / seq_rate:.1f}x  (target >= 10)")

        make_tree(tmp / "tree", args.tree)
        cat = Catalogue(tmp / "tree.db")
        first = Importer(cat, FakeEngine(), threads=8).run([str(tmp / "tree")])
        assert first.new == args.tree, first.to_json()
        os.sync()
        rerun = Importer(cat, FakeEngine(), threads=8).run([str(tmp / "tree")])
        assert rerun.skipped == args.tree and sum(rerun.calls.values()) == 0
        print(f"first import of {args.tree} files: {first.seconds:.1f} s; "
              f"rerun over the unchanged tree: {rerun.seconds:.3f} s = "
              f"{args.tree / rerun.seconds:,.0f} files/s  (target >= 5,000)")


if __name__ == "__main__":
    sys.exit(main())
