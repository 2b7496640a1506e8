"""The offline engine's analysis on a Dask cluster: import and reindex --cluster tcp://HOST:8786.

What runs where. The user's machine scans, reads each new photo's bytes, and keeps the
one writer: the catalogue, clustering, people and every file photosense writes stay
there. Each photo's analysis (decode, faces, descriptors, text: engines/local.py's
per-photo task) is one Dask task, and the photo's bytes travel with it, as read from
the disk (workers need no access to the user's files). What comes back is the boxes,
the 128 numbers of each face's descriptor and the lines of text. Nothing else is sent,
and nothing goes beyond the scheduler and workers the user named: no cloud service is
called. Dask's own links between them are plain TCP unless the user set up TLS in
Dask's configuration (tls://), which is theirs to choose.

Only this module imports distributed, and only a run given --cluster imports it.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import CancelledError
from typing import Any, Callable

from photosense_cli.errors import EngineError, ItemFailed, describe

# Seconds to reach the scheduler, and to wait for a first worker: a wrong address or a
# cluster with no workers is said in this time rather than hanging the import.
CONNECT_SECONDS = 20.0
# Photos in flight at once on the cluster when --workers is not given: two a worker
# thread (one computed, one on the way), and at most this many, so that the writer never
# holds more than the pipeline's window of 4 x this many results (256: a few hundred).
MAX_IN_FLIGHT = 64

INSTALL = "pip install 'photosense-cli[local]'"


class ClusterLost(EngineError):
    """The scheduler went away mid-run. The run stops as Ctrl-C stops it: what was
    stored stays, nothing is half-written, and the next run goes on."""


def models_ready(faces: bool, text: bool) -> str | None:
    """Run on each worker process at connect time, and before each task: load the models
    (once per process: engines/local.py keeps them in the process) and say what is
    missing, if anything."""
    try:
        from photosense_cli.engines import local

        with _MODELS:  # loaded once: two threads starting at once would load them twice
            local._init_worker(None, faces, text)
    except Exception as e:  # ImportError of dlib, EngineError of the model files
        return f"{type(e).__name__}: {describe(e)}"
    return None


def analyse_on_worker(func: Callable[[Any], Any], image: bytes, faces: bool, text: bool) -> Any:
    """One photo's task, on a worker: decoded there, then func (local.analyse_photo...).
    A worker that lost its models since connect time (or joined later without them) stops
    the run with its address, rather than failing every photo one by one."""
    from photosense_cli.engines import local

    missing = models_ready(faces, text)
    if missing:
        raise EngineError(f"the Dask worker {_here()} cannot run the offline engine "
                          f"({missing}): {INSTALL} there")
    # Decoded outside the lock: a worker started with two threads decodes the next photo
    # while the models work on this one (cluster_bench.py, one worker on 2 cores: 1.29
    # photos/s with one thread, 1.33 with two; the lock is for safety, not speed).
    pixels = local._rgb(image)
    with _MODELS:  # dlib's and onnxruntime's sessions are not safe across threads
        return func(pixels)


# One set of models per worker process, used by one task at a time, however many threads
# the worker was started with (dask worker --nthreads).
_MODELS = threading.Lock()


def _here() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"process {os.getpid()}"


def reachable(address: str) -> None:
    """The address is a scheduler's (tcp:// or tls://, a port), and something listens there.

    Checked before a Client is made: a Client that fails to connect is left half-made,
    and at exit it waited 40 s more and printed a traceback after the one line.
    """
    import socket

    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, where = parse_address(address)
        if scheme not in ("tcp", "tls"):
            raise ValueError(f"{scheme}:// is not a scheduler's")
        host, port = parse_host_port(where)
        if not 0 < port < 65536:
            raise ValueError(f"port {port} is not one")
    except ValueError as e:
        raise EngineError(f"--cluster {address}: {describe(e)} (a Dask scheduler's address "
                          "is tcp://HOST:PORT, 8786 by default)") from None
    try:
        socket.create_connection((host, port), timeout=CONNECT_SECONDS).close()
    except OSError as e:
        raise EngineError(f"cannot reach the Dask scheduler at {address}: "
                          f"{describe(e)}") from None


class DaskCluster:
    """A client of the user's scheduler, sending each photo's analysis to its workers."""

    def __init__(self, address: str, *, faces: bool, text: bool):
        try:
            import distributed
        except ImportError:
            raise EngineError("--cluster needs Dask's distributed: pip install "
                              "'photosense-cli[local,cluster]'") from None
        # distributed logs to stderr on its own (a lost scheduler is a dozen lines of
        # tracebacks): here the one line the run ends with says it.
        # Its configuration gives some loggers a level of their own (distributed.client):
        # each is set, and those made later inherit from "distributed".
        for name in ["distributed", *logging.Logger.manager.loggerDict]:
            if name == "distributed" or name.startswith("distributed."):
                logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        self.address = address
        self.faces, self.text = faces, text  # the models each task needs
        self._lost: ClusterLost | None = None
        reachable(address)
        try:
            self.client = distributed.Client(address, timeout=CONNECT_SECONDS,
                                             set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise EngineError(f"cannot reach the Dask scheduler at {address}: "
                              f"{describe(e)}") from None
        try:
            self.client.wait_for_workers(1, timeout=CONNECT_SECONDS)
            ready = self.client.run(models_ready, faces, text)
        except OSError as e:  # TimeoutError included
            self.close()
            if "workers" not in str(e):  # wait_for_workers' own: "Only 0/1 workers arrived"
                raise EngineError(f"the Dask scheduler at {address} went away: "
                                  f"{describe(e)}") from None
            raise EngineError(f"the Dask scheduler at {address} has no worker ready after "
                              f"{CONNECT_SECONDS:g} s: start one with 'dask worker {address} "
                              f"--nthreads 1' where {INSTALL} is done") from None
        except Exception as e:  # the worker cannot unpickle our function: no photosense there
            self.close()
            raise EngineError(f"the Dask workers of {address} cannot run photosense's "
                              f"analysis ({type(e).__name__}: {describe(e)}): {INSTALL} on "
                              "each worker machine") from None
        unfit = {worker: why for worker, why in ready.items() if why}
        if unfit:
            self.close()
            worker, why = sorted(unfit.items())[0]
            more = f" (and {len(unfit) - 1} more)" if len(unfit) > 1 else ""
            raise EngineError(f"the Dask worker {worker}{more} cannot run the offline "
                              f"engine ({why}): {INSTALL} there")

    def threads(self) -> int:
        """The cluster's worker threads now: photos it computes at once."""
        return max(1, sum(self.client.nthreads().values()))

    def run(self, func: Callable[[Any], Any], image: bytes) -> Any:
        """func on the photo, on a worker; its result, once. A worker that dies mid-photo
        has it computed again on another (Dask's scheduler does it; after 3 deaths it gives
        up with KilledWorker): the one future here still answers once, so the photo is
        stored once."""
        if self._lost is not None:
            raise self._lost
        from distributed import KilledWorker

        try:
            future = self.client.submit(analyse_on_worker, func, image, self.faces, self.text,
                                        pure=False)
        except (OSError, CancelledError, RuntimeError) as e:
            raise self._gone(e) from None
        try:
            return future.result()
        except CancelledError as e:  # the client cancels every future when the scheduler goes
            raise self._gone(e) from None
        except KilledWorker:
            raise ItemFailed("it stopped every Dask worker that analysed it (killed or out "
                             "of memory, 3 times)") from None
        except OSError as e:  # the connection itself
            raise self._gone(e) from None
        finally:
            future.release()

    def _gone(self, e: BaseException) -> ClusterLost:
        if self._lost is None:
            self._lost = ClusterLost(
                f"the Dask scheduler at {self.address} went away ({type(e).__name__}); "
                "the photos stored so far are kept: run the same command again to go on")
        return self._lost

    def close(self) -> None:
        try:
            self.client.close(timeout=5)
        except Exception:  # noqa: BLE001 - a scheduler already gone: nothing to close
            pass
