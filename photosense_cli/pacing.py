"""Engine calls at the rate the service allows, found as the import runs.

A cloud engine caps calls per second per operation (Rekognition: 50/s for
IndexFaces, SearchFaces and DetectText each in large regions, 5/s in small
ones) and answers calls beyond the cap with a throttling error. A fixed worker
count is either too few for a 50/s account (16 workers reached half the cap) or
too many for a 5/s one. So each operation gets a Pacer: calls start unpaced;
the first throttle sets the pace from what got through, later throttles cut it
a little, successes grow it back (an AIMD on the rate, not on a count of
threads, since at 5/s even one thread is too many), and a throttled call
waits its turn and is sent again. `--workers` bounds the photos in flight; the
Pacers decide how many of them the account can keep busy.

Figures from benchmarks/import_bench.py (fake engine, 150 ms a call, token
bucket per operation): see docs/design.md.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from typing import Callable, Iterator, TypeVar

from photosense_cli.errors import ItemFailed, Stopped, Throttled

T = TypeVar("T")

# The pace after a throttle: this share of the pace that was throttled (or of the rate
# that got through, when that is lower), like TCP's multiplicative decrease. 0.9 gave
# 0.885 of the bound at a 5/s cap, 0.95 gave 0.928 (import_bench, 300 photos).
BACKOFF = 0.95
# Growth per second: fast (10 %) back to just under the pace that was last throttled,
# then slow (0.5 %: 1 % had one call in 10 refused at a 5/s cap, 0.5 % one in 17) up to
# 5 % past it, probing whether the quota has room, then fast again: past that, the pace
# last throttled was measured too low (the start is noisy).
FAST, SLOW, NEAR, PAST, PROBE = 0.10, 0.005, 0.97, 1.05, 3.0
# What got through is counted over at least a second and at least MEASURED calls at the
# pace: at 2 calls/s a one-second count of 1 or 3 is too coarse to cut the pace by.
WINDOW, MEASURED, HORIZON = 1.0, 10, 30.0
MIN_RATE = 0.2  # calls/s: even a throttled operation keeps probing, one call every 5 s
QUEUED = 4  # photos waiting per operation (Pacers.admission): at 50/s one goes in 20 ms
# A passing fault of the service (a 5xx, a timeout) is sent again after these waits, as
# botocore's standard retries would; still failing, the photo fails for this run only.
FAULT_WAITS = (0.5, 1.0)
MAX_ATTEMPTS = 30  # a call throttled this many times fails its photo (retried next run)


class Pacer:
    """The pace of one operation: unlimited until the service first says no."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] = time.sleep,
                 stop: threading.Event | None = None):
        self.clock = clock
        self.sleep = sleep
        self.stop = stop  # set: a call waiting its turn gives up (Stopped)
        self.rate = math.inf  # calls a second allowed to start
        self.ceiling = math.inf  # the pace last throttled
        self.throttles = 0
        self.waiting = 0  # calls waiting for their turn
        self._last_start = -math.inf
        self._successes: deque[float] = deque()  # when calls succeeded, over HORIZON
        self._starts: deque[float] = deque()  # when calls started, over HORIZON
        self._first_at: float | None = None
        self._latency = 0.0  # seconds a successful call takes, averaged
        self._last_cut = -math.inf
        self._lock = threading.Lock()

    def wait_turn(self) -> float:
        """Block until this call may start; returns when it started.

        Starts are spaced by at least 1/rate from the previous actual start (not from a
        slot booked in advance): a thread that wakes late never makes the next call
        follow it closely, which a quota's token bucket would refuse.
        """
        queued = False
        while True:
            if self.stop is not None and self.stop.is_set():
                if queued:
                    with self._lock:
                        self.waiting -= 1
                raise Stopped()
            with self._lock:
                now = self.clock()
                wait = self._last_start + 1.0 / self.rate - now
                if wait <= 0:
                    self._last_start = now
                    self._note(self._starts, now)
                    if self._first_at is None:
                        self._first_at = now
                    if queued:
                        self.waiting -= 1
                    return now
                if not queued:
                    queued = True
                    self.waiting += 1
            self.sleep(wait)

    def succeeded(self, started: float | None = None) -> None:
        """A call (that started at `started`, when known) went through."""
        with self._lock:
            now = self.clock()
            if started is not None:  # the round trip, for measuring what gets through
                self._latency = 0.8 * self._latency + 0.2 * (now - started)
            self._note(self._successes, now)
            if math.isinf(self.rate):
                return
            # Slow only near the pace last throttled, and only for PROBE seconds after the
            # cut: well past it, or long after it, without a throttle, that pace was
            # measured too low (the start is noisy), so fast again. Without the time bound
            # a SearchFaces pace measured at 3.8/s under a 5/s cap crept up for 15 s.
            near = (NEAR * self.ceiling <= self.rate <= PAST * self.ceiling
                    and now - self._last_cut < PROBE)
            self.rate += SLOW if near else FAST  # per call at `rate` a second: x rate a second

    def throttled(self, started: float) -> None:
        """A call that started at `started` (wait_turn's answer) was refused for rate."""
        with self._lock:
            self.throttles += 1
            now = self.clock()
            # Calls that started before the last cut say nothing about the new pace.
            if started <= self._last_cut:
                return
            self._last_cut = now
            assert self._first_at is not None
            window = WINDOW if math.isinf(self.rate) else min(
                HORIZON, max(WINDOW, 2 * MEASURED / self.rate))
            # Successes are counted as they come back, one round trip after they start: in
            # the first second, none can have come back before first_at + latency, and
            # counting from first_at measured the cap 20 % low (41 instead of 50 a second).
            span = max(min(window, now - self._first_at - self._latency), 0.01)
            achieved = _since(self._successes, now - span) / span  # what got through
            if math.isinf(self.rate):
                # The first throttle, maybe before anything got through (a burst at the
                # start): what got through, or half of what was offered.
                base = max(achieved, _since(self._starts, now - span) / span / 2)
            elif achieved * span >= MEASURED:
                base = min(self.rate, achieved)  # enough calls to measure the cap by
            elif self.rate > 1.5 * achieved:
                # Far above what got through, on few calls (the start, or calls whose
                # success is still on its way): halve, at most; the next cut measures.
                base = max(achieved, self.rate / 2)
            else:
                base = self.rate  # a few calls a second count too coarsely: cut the pace
            self.ceiling = base
            self.rate = max(MIN_RATE, base * BACKOFF)

    @classmethod
    def _note(cls, times: deque[float], now: float) -> None:
        times.append(now)
        cls._trim(times, now)

    @staticmethod
    def _trim(times: deque[float], now: float) -> None:
        while times and times[0] < now - HORIZON:
            times.popleft()


class Pacers:
    """One Pacer per operation, and the retry loop every engine call goes through."""

    def __init__(self, stop: threading.Event | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] | None = None):
        self.stop = stop or threading.Event()
        # Waiting on the stop event, not sleeping: Ctrl-C wakes a call waiting its turn at
        # once (at the slowest pace, 0.2 calls/s, a turn is up to 5 s away).
        self.clock = clock
        self.sleep = sleep or self.stop.wait
        self.by_operation: dict[str, Pacer] = {}
        self._lock = threading.Lock()
        self._waiting = 0  # photos held with none of their calls at the service now

    def pacer(self, operation: str) -> Pacer:
        with self._lock:
            if operation not in self.by_operation:
                self.by_operation[operation] = Pacer(self.clock, self.sleep, self.stop)
            return self.by_operation[operation]

    @contextlib.contextmanager
    def admission(self) -> Iterator[Ticket]:
        """Hold a photo back, before it is read, while enough photos already wait.

        A photo holds its bytes from its read until its last call returns. It waits
        while none of its calls is with the service: for an operation's turn, or
        between its calls. A new photo is read only while fewer than QUEUED photos per
        operation wait so (each operation keeps a few ready, so that no turn of its pace
        goes unused). However far the service's pace lags, the photos in memory are
        those with a call out (the pace times the round trip) and those few.

        Only counting the calls waiting for IndexFaces' turn let photos read ahead queue
        on DetectText and SearchFaces, and every worker waiting here go at once when
        that queue was short: 30 of 32 photos were held at a 5/s cap.
        """
        ticket = Ticket(self)
        while not self.stop.is_set():
            with self._lock:
                if self._waiting < QUEUED * max(1, len(self.by_operation)):
                    ticket.admitted()
                    break
            self.sleep(0.01)
        try:
            yield ticket
        finally:
            ticket.close()

    def call(self, operation: str, method: Callable[..., T], *args,
             ticket: Ticket | None = None) -> T:
        """Call the engine at the operation's pace, sending a throttled call again.

        No call starts once the run is stopping (Ctrl-C, a fatal error elsewhere).
        ticket: the photo's (admission()), told while the call is with the service.
        """
        pacer = self.pacer(operation)
        faults = 0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if self.stop.is_set():
                raise Stopped()
            started = pacer.wait_turn()
            if self.stop.is_set():
                raise Stopped()
            try:
                with ticket.out() if ticket is not None else contextlib.nullcontext():
                    result = method(*args)
            except Throttled:
                pacer.throttled(started)
                if attempt == MAX_ATTEMPTS:
                    raise
                continue
            except ItemFailed as e:
                if e.permanent or faults == len(FAULT_WAITS):
                    raise
                self.sleep(FAULT_WAITS[faults])
                faults += 1
                continue
            pacer.succeeded(started)
            return result
        raise AssertionError("unreachable")


class Ticket:
    """A photo's place among those held in memory (Pacers.admission)."""

    def __init__(self, pacers: Pacers):
        self.pacers = pacers
        self.held = False
        self.calls_out = 0  # its calls with the service now

    def admitted(self) -> None:  # under the pacers' lock
        self.held = True
        self.pacers._waiting += 1

    @contextlib.contextmanager
    def out(self) -> Iterator[None]:
        """One of the photo's calls is with the service: the photo is not waiting."""
        self._step(+1)
        try:
            yield
        finally:
            self._step(-1)

    def _step(self, step: int) -> None:
        with self.pacers._lock:
            if self.held:
                waiting = self.calls_out == 0
                self.calls_out += step
                self.pacers._waiting += (self.calls_out == 0) - waiting

    def close(self) -> None:
        with self.pacers._lock:
            if self.held:
                self.held = False
                self.pacers._waiting -= self.calls_out == 0


def retrying(operation: str, call: Callable[[], T], pacers: Pacers) -> T:
    """call() at the operation's pace, sent again while it is throttled (MAX_ATTEMPTS) or
    fails for a passing reason (FAULT_WAITS): the same rules as a photo's calls.

    For an engine's housekeeping (creating, describing and listing a collection, deleting
    faces). It was sent again twice, 1.5 s in all: a throttled CreateCollection ended a new
    library's first import, five runs in five at a 70 % throttle rate.
    """
    return pacers.call(operation, call)


def _since(times: deque[float], start: float) -> int:
    """How many of the times (oldest first) are at or after start."""
    n = 0
    for t in reversed(times):
        if t < start:
            break
        n += 1
    return n
