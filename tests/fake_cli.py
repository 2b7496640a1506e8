"""photosense in a process of its own with the fake engine registered, for tests that need
real processes (locks, signals, overlapping commands).

    python -m tests.fake_cli import PICS --engine fake --library LIB

FAKE_LATENCY (seconds per call) slows the engine; FAKE_CALL_LOG names a file that gets
one line per engine call, "OPERATION START_TIME", written as the call starts.
"""

import os
import sys
import time

from photosense_cli import engines
from photosense_cli.cli import main
from photosense_cli.engines.fake import FakeEngine

LOG = os.environ.get("FAKE_CALL_LOG")


class LoggedFake(FakeEngine):
    def __init__(self):
        super().__init__(latency=float(os.environ.get("FAKE_LATENCY", "0")))
        if LOG:
            self.before_call = self._log

    @staticmethod
    def _log(operation: str) -> None:
        assert LOG is not None
        with open(LOG, "a") as f:
            f.write(f"{operation} {time.time():.6f}\n")


class Other(LoggedFake):
    name = "other"


engines.REGISTRY["fake"] = lambda: LoggedFake
engines.REGISTRY["other"] = lambda: Other

if __name__ == "__main__":
    sys.argv[0] = "photosense"
    main()
