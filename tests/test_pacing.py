"""The Pacers: engine calls at the rate a quota allows, found while the import runs.

Simulated on a fake clock against a token bucket like a service quota, so that what
is asserted is the controller's behaviour, never the machine's speed.
"""

import threading

import pytest

from photosense_cli import pacing
from photosense_cli.errors import ItemFailed, Stopped, Throttled
from photosense_cli.pacing import Pacer, Pacers
from tests.conftest import BOX, NONE, photo


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds


class Quota:
    """A token bucket per operation, as the service keeps it: `cap` calls a second."""

    def __init__(self, clock: Clock, cap: float, burst: float = 2.0):
        self.clock, self.cap, self.burst = clock, cap, burst
        self.tokens, self.at = burst, 0.0

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.cap)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def run(pacer: Pacer, quota: Quota, clock: Clock, seconds: float, call_time: float = 0.01):
    """One caller as fast as the pacer lets it for `seconds`: (successes, throttles)."""
    ok = refused = 0
    end = clock() + seconds
    while clock() < end:
        started = pacer.wait_turn()
        clock.sleep(call_time)
        if quota.take():
            ok += 1
            pacer.succeeded()
        else:
            refused += 1
            pacer.throttled(started)
    return ok, refused


def test_calls_are_unpaced_until_the_service_first_says_no():
    clock = Clock()
    pacer = Pacer(clock, clock.sleep)
    assert [pacer.wait_turn() for _ in range(50)] == [0.0] * 50  # no waiting at all
    pacer.succeeded()
    assert pacer.rate == float("inf")


def test_the_pace_finds_the_quota_backs_off_when_it_shrinks_and_recovers():
    clock = Clock()
    pacer = Pacer(clock, clock.sleep)
    quota = Quota(clock, cap=5.0)

    run(pacer, quota, clock, 30)  # find the 5/s quota
    ok, refused = run(pacer, quota, clock, 60)
    assert ok >= 0.9 * 5 * 60  # at >= 90 % of the quota
    assert refused <= 0.1 * ok  # and rarely refused (throttled calls are not billed)

    quota.cap = 2.0  # the account's quota is lowered under a running import
    run(pacer, quota, clock, 30)
    ok, refused = run(pacer, quota, clock, 60)
    assert pacer.rate < 2.5 and refused <= 0.1 * ok  # backed off
    assert ok >= 0.9 * 2 * 60

    quota.cap = 20.0  # and raised again
    run(pacer, quota, clock, 30)
    ok, refused = run(pacer, quota, clock, 60)
    assert ok >= 0.9 * 20 * 60  # recovered
    assert pacer.throttles > 0


def test_throttles_of_calls_started_before_a_cut_do_not_cut_again():
    clock = Clock()
    pacer = Pacer(clock, clock.sleep)
    early = [pacer.wait_turn() for _ in range(20)]
    clock.sleep(0.2)
    pacer.throttled(early[0])
    cut = pacer.rate
    assert cut < 20 / 0.2  # below what was offered
    for started in early[1:]:  # the rest of the burst comes back refused
        pacer.throttled(started)
    assert pacer.rate == cut


def test_a_throttled_call_is_sent_again_and_not_counted_as_a_failure():
    clock = Clock()
    pacers = Pacers(clock=clock, sleep=clock.sleep)
    answers = iter([Throttled("slow down"), Throttled("slow down"), "done"])

    def call():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert pacers.call("IndexFaces", call) == "done"
    assert pacers.pacer("IndexFaces").throttles == 2
    assert pacers.pacer("IndexFaces").rate < float("inf")  # paced from now on


def test_a_call_throttled_past_its_attempts_fails_for_this_run_only():
    clock = Clock()
    pacers = Pacers(clock=clock, sleep=clock.sleep)

    def call():
        raise Throttled("slow down")

    with pytest.raises(Throttled) as e:
        pacers.call("DetectText", call)
    assert not e.value.permanent
    assert pacers.pacer("DetectText").throttles == pacing.MAX_ATTEMPTS


def test_passing_faults_are_sent_again_twice_and_bad_images_never():
    clock = Clock()
    pacers = Pacers(clock=clock, sleep=clock.sleep)
    calls = []

    def flaky():
        calls.append(clock())
        if len(calls) < 3:
            raise ItemFailed("InternalServerError", permanent=False)
        return "ok"

    assert pacers.call("IndexFaces", flaky) == "ok"
    assert [round(t, 2) for t in calls] == [0.0, 0.5, 1.5]  # after 0.5 s, then 1 s

    def always():
        calls.append(clock())
        raise ItemFailed("InternalServerError", permanent=False)

    calls.clear()
    with pytest.raises(ItemFailed):
        pacers.call("IndexFaces", always)
    assert len(calls) == len(pacing.FAULT_WAITS) + 1

    def corrupt():
        calls.append(clock())
        raise ItemFailed("InvalidImageFormatException")

    calls.clear()
    with pytest.raises(ItemFailed):
        pacers.call("IndexFaces", corrupt)
    assert len(calls) == 1


def test_no_call_starts_once_the_run_is_stopping():
    stop = threading.Event()
    stop.set()
    made = []
    with pytest.raises(Stopped):
        Pacers(stop).call("IndexFaces", lambda: made.append(1))
    assert made == []


def test_photos_wait_before_they_are_read_while_enough_photos_already_wait():
    """A photo is read only while fewer than QUEUED photos a paced operation wait with
    no call at the service (for a turn, or between calls); photos with a call out do
    not count, and a photo done lets go."""
    clock = Clock()
    waiting: list = []

    def sleep(seconds):  # while the new photo waits, the oldest photo's call goes out
        clock.sleep(seconds)
        waiting.pop(0)._step(+1)

    pacers = Pacers(clock=clock, sleep=sleep)
    for operation in ("IndexFaces", "DetectText", "SearchFaces"):
        pacers.pacer(operation)
    limit = pacing.QUEUED * 3
    held = [pacers.admission() for _ in range(limit)]
    tickets = [h.__enter__() for h in held]
    waiting.extend(tickets)
    assert clock() == 0 and pacers._waiting == limit
    with pacers.admission() as ticket:
        assert ticket.held and clock() > 0 and len(waiting) == limit - 1
        assert pacers._waiting == limit  # the photo with a call out is not counted
    tickets[0]._step(-1)  # its call came back: waiting again, between calls
    assert pacers._waiting == limit
    seen = []
    pacers.call("IndexFaces", lambda: seen.append(pacers._waiting), ticket=tickets[1])
    assert seen == [limit - 1] and pacers._waiting == limit  # out while the call was out
    for h in held:  # photos that end (stored, failed, a copy) let go
        h.__exit__(None, None, None)
    assert pacers._waiting == 0


def test_an_import_against_a_quota_is_throttled_paced_and_complete(cli, fake, tmp_path):
    """Through the CLI: throttled calls are sent again, counted apart and never billed."""
    for i in range(8):
        photo(tmp_path / "pics" / f"{i}.jpg", faces=[(i % 12, BOX)], size=(640 + i, 480))
    fake.cap, fake.burst = 20.0, 2.0

    s = cli.json("import", tmp_path / "pics", "--engine", "fake", "--workers", "8")

    assert s["files"] == {**NONE, "new": 8} and s["errors"] == []
    assert sum(s["throttled"].values()) == sum(fake.throttled.values()) > 0
    assert s["calls"] == {"DetectText": 8, "IndexFaces": 8, "SearchFaces": 8}
    assert cli.json("status")["calls"] == s["calls"]  # throttles are not logged as calls


def test_the_summary_says_how_many_calls_were_throttled(cli, fake, tmp_path):
    for i in range(4):
        photo(tmp_path / "pics" / f"{i}.jpg", faces=[(i, BOX)], size=(640 + i, 480))
    fake.cap, fake.burst = 20.0, 1.0
    r = cli("import", tmp_path / "pics", "--engine", "fake", "--workers", "4")
    n = sum(fake.throttled.values())
    assert n > 0
    assert f"{n} call{'s' * (n != 1)} refused for rate and sent again, slower (not billed).\n" \
        in r.stderr


def test_stopping_wakes_a_call_waiting_its_turn():
    """Ctrl-C during a slow pace: the waiting call ends at once, without calling."""
    import time

    stop = threading.Event()
    pacers = Pacers(stop)
    pacer = pacers.pacer("IndexFaces")
    pacer.rate = pacing.MIN_RATE  # a turn every 5 s
    pacer._last_start = time.monotonic()
    made = []
    worker = threading.Thread(target=lambda: pytest.raises(
        Stopped, pacers.call, "IndexFaces", lambda: made.append(1)))
    worker.start()
    time.sleep(0.1)
    started = time.monotonic()
    stop.set()
    worker.join(timeout=2)
    assert not worker.is_alive() and time.monotonic() - started < 1 and made == []
