"""How photosense holds up as a library grows: 10,000, 100,000 and 1,000,000 photos.

For each size it builds (once, cached in --dir) a catalogue with search_bench's
generator at that scale (5 text lines, 3 faces a photo, a person per 10 photos) and
prints:

- rescan: an import over the library's files, all unchanged (files/s). Every photo's
  path is an empty file on disk, made once, with the size and mtime the catalogue has;
- store: a new photo's cost to the writer (ms a photo, median and mean of 200 new photos
  through the real importer and the in-process fake engine, the best of 3 runs), and the
  median's ratio to the smallest size (the target: within 1.2 from 10,000 to 1,000,000);
- `status --json --offline`, `people --json --limit 50` (the first page), `people
  --json` (all of them) and the review queue's first screen
  (the queue and the first card, as `people review` opens), each a command in its own
  process: wall time and peak memory (max RSS);
- with --matrix, the matching face matrix (a descriptor for each face, near its person's
  centre) is written once, and the offline engine's collection is loaded from it as an
  import loads it, then searched for 50 faces: load seconds, p50 ms a face, peak MB.

    python benchmarks/scale_bench.py [--dir /tmp/photosense-scale] [--sizes 10000,100000]

The 1,000,000 size takes about 20 minutes to build the first time and 2 GB of disk for
the catalogue, plus 1,000,000 empty files.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import search_bench  # noqa: E402  (the generator, at any scale)

from photosense_cli.catalogue import Catalogue  # noqa: E402
from photosense_cli.engines.fake import FakeEngine, draw_photo  # noqa: E402
from photosense_cli.pipeline.importjob import Importer  # noqa: E402

NEW_PHOTOS = 200


def build(folder: Path, photos: int) -> Path:
    db = folder / f"library-{photos}.db"
    if db.exists():
        return db
    folder.mkdir(parents=True, exist_ok=True)
    search_bench.PHOTOS, search_bench.LINES = photos, 5 * photos
    search_bench.PEOPLE, search_bench.FACES = photos // 10, 3 * photos
    search_bench.build(db)
    return db


def files_for(cat: Catalogue, root: Path) -> Path:
    """An empty file at every catalogued path, moved under `root`; the catalogue learns
    their size and mtime, so an import finds them all unchanged."""
    marker = root / ".made"
    if not marker.exists():
        root.mkdir(parents=True, exist_ok=True)
        rows = cat.conn.execute("SELECT id, path FROM locations").fetchall()
        made = []
        for location_id, path in rows:
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
            made.append((str(target), 0, target.stat().st_mtime_ns, location_id))
        with cat.transaction():
            cat.conn.executemany("UPDATE locations SET path = ?, size = ?, mtime_ns = ? "
                                 "WHERE id = ?", made)
        marker.touch()
    return root


def rescan(cat: Catalogue, root: Path, photos: int) -> float:
    start = time.perf_counter()
    s = Importer(cat, FakeEngine(), threads=4).run([str(root)])
    took = time.perf_counter() - start
    assert s.skipped == photos and s.new == 0, (s.skipped, s.new)
    return photos / took


def store(db: Path, folder: Path) -> tuple[float, float]:
    """ms a new photo costs the writer, median and mean, on a copy of the catalogue (kept
    unchanged): the writer's own time, not the engine's."""
    new = folder / "new"
    if not new.exists():
        new.mkdir()
        for i in range(NEW_PHOTOS):
            draw_photo(size=(640 + i, 480), faces=[(i % 12, (0.1, 0.1, 0.25, 0.3))],
                       texts=[(0, (0.3, 0.65, 0.4, 0.2))]).save(new / f"{i:03}.jpg")
    copy = folder / "store-copy.db"
    shutil.copyfile(db, copy)
    cat = Catalogue(copy)
    importer = Importer(cat, FakeEngine(texts={0: ["a few words on a sign"]}), threads=4)
    writer = importer._write
    each: list[float] = []

    def timed_each(outcome) -> None:
        t = time.perf_counter()
        writer(outcome)
        each.append(time.perf_counter() - t)

    importer._write = timed_each  # type: ignore[method-assign]
    s = importer.run([str(new)])
    assert s.new == NEW_PHOTOS, s.new
    cat.close()
    os.unlink(copy)
    for suffix in ("-wal", "-shm"):
        Path(str(copy) + suffix).unlink(missing_ok=True)
    # the median photo: a WAL checkpoint or the OS flushing lands on one photo in a hundred
    # and moved the mean by up to 1.6x between two runs at the same size
    return 1000 * statistics.median(each), 1000 * sum(each) / len(each)


def command(db: Path, *args: str) -> tuple[float, int]:
    """(seconds, peak MB) of one photosense command in its own process."""
    start = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "photosense_cli",
                        *args, "--library", str(db)], capture_output=True, text=True)
    took = time.perf_counter() - start
    assert r.returncode in (0, 1), r.stderr
    return took, int(r.stderr.strip().splitlines()[-1]) // 1024


REVIEW = ("import sys, time; from pathlib import Path; from photosense_cli.app import "
          "open_library\nt = time.perf_counter()\nwith open_library(Path(sys.argv[1])) as lib:"
          "\n    q = lib.review.queue()\n    card = lib.review.card(q[0][0], ask=q[0][1])\n"
          "print(time.perf_counter() - t)")


def review(db: Path) -> tuple[float, int]:
    r = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-c", REVIEW, str(db)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return float(r.stdout), int(r.stderr.strip().splitlines()[-1]) // 1024


def add_matrix(db: Path) -> None:
    """The matching face matrix: a 128-d descriptor for every face, as the offline engine
    stores them (float32 BLOBs), near its person's own centre (each person's faces within
    the match distance of each other, different people far apart). Written once."""
    import sqlite3

    import numpy as np

    conn = sqlite3.connect(db)
    if conn.execute("SELECT 1 FROM faces WHERE descriptor IS NOT NULL LIMIT 1").fetchone():
        conn.close()
        return
    rng = np.random.default_rng(5)
    people = conn.execute("SELECT max(person_id) FROM faces").fetchone()[0] or 0
    centres = rng.normal(0, 0.08, (people + 1, 128)).astype(np.float32)
    ids = conn.execute("SELECT id, person_id FROM faces").fetchall()
    start = time.perf_counter()
    for at in range(0, len(ids), 200_000):
        part = ids[at:at + 200_000]
        noise = rng.normal(0, 0.012, (len(part), 128)).astype(np.float32)
        rows = ((memoryview((centres[p or 0] + noise[k]).tobytes()), i)
                for k, (i, p) in enumerate(part))
        conn.executemany("UPDATE faces SET descriptor = ? WHERE id = ?", rows)
        conn.commit()
    conn.close()
    print(f"  face matrix: {len(ids):,} descriptors written in {time.perf_counter() - start:.0f} s",
          flush=True)


MATRIX = ("import sys, time; from pathlib import Path\n"
          "from photosense_cli.catalogue import Catalogue\n"
          "from photosense_cli.engines.base import KnownFace, Usage\n"
          "from photosense_cli.engines.local import LocalEngine\n"
          "cat = Catalogue(Path(sys.argv[1])); engine = LocalEngine(processes=1)\n"
          "t = time.perf_counter()\n"
          "from photosense_cli.pipeline.runner import _Known  # as an import primes it\n"
          "engine.open_collection('c', _Known(cat, 'local'))\n"
          "prime = time.perf_counter() - t; times = []\n"
          "ids = [r[0] for r in cat.conn.execute('SELECT engine_face_id FROM faces "
          "ORDER BY id DESC LIMIT 50')]\n"
          "for f in ids:\n"
          "    t = time.perf_counter(); engine.search_faces(f, 90.0, Usage())\n"
          "    times.append(time.perf_counter() - t)\n"
          "times.sort(); print(prime, 1000 * times[25])")


def face_search(db: Path) -> tuple[float, float, int]:
    """(seconds to load the matrix as an import does, p50 ms of one face's search, peak MB)
    with the offline engine's in-memory collection, in its own process."""
    r = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-c", MATRIX, str(db)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    prime, search = map(float, r.stdout.split())
    return prime, search, int(r.stderr.strip().splitlines()[-1]) // 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", type=Path, default=Path("/tmp/photosense-scale"))
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--store-runs", type=int, default=3, help="the best of so many")
    ap.add_argument("--matrix", action="store_true", help="also the offline engine's face "
                    "matrix: written into the catalogue once (1.5 GB at 1,000,000 photos), "
                    "then loaded and searched as an import does")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{os.cpu_count()} cores")
    print(f"{'photos':>10} {'rescan files/s':>15} {'store ms (median / mean)':>25} {'ratio':>6} "
          f"{'status s / MB':>14} {'people 50 s / MB':>17} {'people all s / MB':>18} "
          f"{'review s / MB':>14}" + ("  matrix load s, search ms, MB" if args.matrix else ""))
    base = None
    for n in sizes:
        folder = args.dir / str(n)
        db = build(folder, n)
        cat = Catalogue(db)
        root = files_for(cat, folder / "files")
        rate = rescan(cat, root, n)
        cat.close()
        median, mean = min(store(db, folder) for _ in range(args.store_runs))
        base = base or median
        st = command(db, "status", "--json", "--offline")
        first = command(db, "people", "--json", "--limit", "50")
        pe = command(db, "people", "--json")
        rv = review(db)
        matrix = ""
        if args.matrix:
            add_matrix(db)
            prime, search, mb = face_search(db)
            matrix = f" {prime:>8.1f} {search:>8.1f} {mb:>6}"
        print(f"{n:>10,} {rate:>15,.0f} {median:>12.2f} / {mean:>10.2f} {median / base:>6.2f} "
              f"{st[0]:>8.2f} {st[1]:>5} {first[0]:>11.2f} {first[1]:>5} {pe[0]:>12.2f} "
              f"{pe[1]:>5} {rv[0]:>8.2f} {rv[1]:>5}{matrix}", flush=True)


if __name__ == "__main__":
    main()
