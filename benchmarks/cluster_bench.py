"""The cost of the Dask path on one machine: photos/s of the shared photos imported by the
plain offline engine and through a Dask LocalCluster, with the same cores, side by side.

Each row is a fresh library and a full import of ../shared/data (faces and text) with
the offline engine, timed around the whole import (`app.import_photos`) as a user waits
for it: for the plain engine that includes starting its model processes and loading the
models; for the cluster, connecting and having the running workers load the models
(their processes are started before the clock, as a user's cluster is). The ratio is
cluster / plain photos/s on the same cores (the process is pinned to 1, then 2 cores, and
the plain engine runs 1, then 2 model processes; the cluster 1, then 2 workers of one
thread): the target is 0.85 or more.

    python benchmarks/cluster_bench.py [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared/data"


def cpu_here() -> float:
    """CPU seconds of this process and of its children that ended (the plain engine's
    model processes, reaped when the engine closes)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _cpu_of_process() -> float:  # run on each Dask worker
    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def one(paths: list[str], workers: int, cluster=None) -> tuple[int, float, float]:
    """(photos, wall seconds, CPU seconds of every process that took part)."""
    from photosense_cli import app
    from photosense_cli.requests import ImportRequest

    client = cluster.get_client() if cluster else None
    before = sum(client.run(_cpu_of_process).values()) if client else 0.0
    with tempfile.TemporaryDirectory() as tmp:
        req = ImportRequest(paths=paths, engine="local", workers=None if cluster else workers,
                            cluster=cluster.scheduler_address if cluster else None)
        cpu, start = cpu_here(), time.perf_counter()
        s = app.import_photos(Path(tmp) / "library.db", req)
        took, cpu = time.perf_counter() - start, cpu_here() - cpu
    if client:
        cpu += sum(client.run(_cpu_of_process).values()) - before
    assert s.failed == 0, s.errors
    return s.new, took, cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED} is absent")
    from distributed import LocalCluster

    paths = [str(SHARED / "faces"), str(SHARED / "text")]
    print(f"cores: {os.cpu_count()}; photos: ../shared/data (faces, text); best of {args.repeat}")
    print(f"{'cores':>5}  {'plain photos/s':>14}  {'dask photos/s':>13}  {'ratio':>5}  "
          f"{'plain CPU s/photo':>17}  {'dask CPU s/photo':>16}")
    for n in (1, 2):
        # the same cores for both: this process, its model processes and the cluster's
        # worker processes all inherit the affinity. onnxruntime places its own threads
        # and may reach past it (the plain engine's single process runs its OCR on
        # every core it finds): the CPU seconds a photo say what each path spent.
        os.sched_setaffinity(0, set(range(n)))
        plain = min((one(paths, n) for _ in range(args.repeat)), key=lambda r: r[1])
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=":0", silence_logs=40) as c:
            dask = min((one(paths, n, c) for _ in range(args.repeat)), key=lambda r: r[1])
        assert dask[0] == plain[0], "the cluster imported other photos"
        count = plain[0]
        print(f"{n:>5}  {count / plain[1]:>14.2f}  {count / dask[1]:>13.2f}  "
              f"{plain[1] / dask[1]:>5.2f}  {plain[2] / count:>17.2f}  {dask[2] / count:>16.2f}",
              flush=True)


if __name__ == "__main__":
    main()
