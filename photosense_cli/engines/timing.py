"""Time one engine call into a Usage record, success or not."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from photosense_cli.engines.base import Usage
from photosense_cli.errors import Throttled


@contextmanager
def timed(usage: Usage, operation: str) -> Iterator[None]:
    start = time.perf_counter()
    error = None
    try:
        yield
    except Throttled:
        # Refused before any work and not billed: counted apart, never as a call.
        usage.throttled[operation] += 1
        raise
    except Exception as e:
        error = f"{type(e).__name__}: {e}"[:300]
        usage.calls.append((operation, (time.perf_counter() - start) * 1000, error))
        raise
    usage.calls.append((operation, (time.perf_counter() - start) * 1000, error))
