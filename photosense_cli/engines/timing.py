"""Time one engine call into a Usage record, success or not."""

import contextlib
import time

from photosense_cli.engines.base import Usage


@contextlib.contextmanager
def timed(usage: Usage, operation: str):
    start = time.perf_counter()
    error = None
    try:
        yield
    except Exception as e:
        error = f"{type(e).__name__}: {e}"[:300]
        raise
    finally:
        usage.calls.append((operation, (time.perf_counter() - start) * 1000, error))
