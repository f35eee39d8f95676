"""The Bulk processing model: queueing delay, turns, the parallel cap, serial work, the rate, crashes."""

from __future__ import annotations

import asyncio

import pytest

from sfcrm_sandbox.models import bulk_engine
from sfcrm_sandbox.models.bulk_engine import PARALLEL, BulkEngine, BulkSettings
from tests.unit.models._bulk import FakeClock


class FakeWork:
    """Work of ``chunks`` steps of ``size`` records each; records the order it is stepped in."""

    def __init__(self, name, log, chunks=1, size=200, paced=True, gate=lambda: True):
        self.name, self.log, self.left, self.size, self.paced, self.gate = (
            name,
            log,
            chunks,
            size,
            paced,
            gate,
        )
        self.crashed = None

    @property
    def done(self):
        return self.left == 0 or self.crashed is not None

    def ready(self):
        return self.gate()

    def step(self):
        self.log.append(self.name)
        self.left -= 1
        return self.size

    def crash(self, message):
        self.crashed = message


def test_work_waits_for_the_queueing_delay():
    clock, log = FakeClock(), []
    engine = BulkEngine(BulkSettings(records_per_s=0, job_latency_ms=2000), clock)
    engine.submit(FakeWork("a", log))
    assert not engine.step()
    clock.advance(1.999)
    assert not engine.step()
    clock.advance(0.001)
    assert engine.step() and log == ["a"]


def test_ready_work_takes_turns_chunk_by_chunk():
    log = []
    engine = BulkEngine(BulkSettings(records_per_s=0, job_latency_ms=0), FakeClock())
    engine.submit(FakeWork("a", log, chunks=3))
    engine.submit(FakeWork("b", log, chunks=2))
    while engine.step():
        pass
    assert log == ["a", "b", "a", "b", "a"]
    assert engine.queued == 0


def test_at_most_parallel_units_are_in_progress_the_rest_wait_in_order():
    log = []
    engine = BulkEngine(BulkSettings(records_per_s=0, job_latency_ms=0), FakeClock())
    for i in range(PARALLEL + 2):
        engine.submit(FakeWork(i, log, chunks=2))
    for _ in range(PARALLEL + 1):
        engine.step()
    # The first PARALLEL took a turn each and the first goes again: the last two have not started.
    assert log == [*range(PARALLEL), 0]
    while engine.step():
        pass
    assert sorted(log) == sorted(list(range(PARALLEL + 2)) * 2)


def test_work_that_is_not_ready_waits_without_blocking_others():
    log, gate = [], {"open": False}
    engine = BulkEngine(BulkSettings(records_per_s=0, job_latency_ms=0), FakeClock())
    engine.submit(FakeWork("serial", log, gate=lambda: gate["open"]))
    engine.submit(FakeWork("other", log))
    while engine.step():
        pass
    assert log == ["other"]
    gate["open"] = True
    assert engine.step() and log == ["other", "serial"]


def test_a_crashing_step_fails_its_work_and_the_queue_goes_on(caplog):
    log = []

    class Broken(FakeWork):
        def step(self):
            raise KeyError("boom")

    engine = BulkEngine(BulkSettings(records_per_s=0, job_latency_ms=0), FakeClock())
    broken = Broken("x", log)
    engine.submit(broken)
    engine.submit(FakeWork("y", log))
    while engine.step():
        pass
    assert broken.crashed.startswith("UnknownException : KeyError") and log == ["y"]


def test_settle_finishes_ready_work_only_in_the_as_fast_as_possible_model():
    log = []
    instant = BulkEngine(BulkSettings(records_per_s=0, job_latency_ms=0), FakeClock())
    instant.submit(FakeWork("a", log, chunks=3))
    instant.settle()
    assert log == ["a"] * 3
    paced = BulkEngine(BulkSettings(records_per_s=100, job_latency_ms=0), FakeClock())
    paced.submit(FakeWork("b", log))
    paced.settle()
    assert log == ["a"] * 3


def _run_in_background(monkeypatch, clock, log, works, *, steps, records_per_s=1000):
    """Run the engine's background task on ``clock`` until ``steps`` chunks are in ``log``; its pauses."""
    paused = []

    async def fake_sleep(seconds):
        paused.append(round(seconds, 6))
        clock.advance(seconds)
        if len(log) >= steps:
            raise asyncio.CancelledError

    monkeypatch.setattr(bulk_engine.asyncio, "sleep", fake_sleep)

    async def run():
        engine = BulkEngine(BulkSettings(records_per_s=records_per_s, job_latency_ms=0), clock)
        for work in works:
            engine.submit(work)
        with pytest.raises(asyncio.CancelledError):
            await engine._task

    asyncio.run(run())
    return paused


def test_the_background_task_holds_paced_work_to_the_org_rate(monkeypatch):
    clock, log = FakeClock(), []
    works = [
        FakeWork("write", log, chunks=3, size=200),
        FakeWork("query", log, chunks=1, size=0, paced=False),
    ]
    slept = _run_in_background(monkeypatch, clock, log, works, steps=4)
    # 200 records at 1,000/s take 0.2 s each; the unpaced query only yields.
    assert log == ["write", "query", "write", "write"]
    assert slept == [0.2, 0, 0.2, 0.2]


@pytest.mark.parametrize(("writing_s", "slept"), [(0.05, [0.15, 0.15, 0.15]), (0.3, [0.0, 0.0, 0.0])])
def test_writing_a_chunk_is_part_of_its_slot_not_added_to_it(monkeypatch, writing_s, slept):
    """At 1,000 records/s a 200-record chunk has 0.2 s: a chunk written in 0.05 s leaves 0.15 s to wait,
    so the org writes at its rate; one slower than its slot (0.3 s) starts the next at once."""
    clock, log = FakeClock(), []

    class SlowWork(FakeWork):
        def step(self):
            clock.advance(writing_s)  # the sandbox's own time to write the chunk
            return super().step()

    began = clock()
    pauses = _run_in_background(
        monkeypatch, clock, log, [SlowWork("write", log, chunks=3, size=200)], steps=3
    )
    assert log == ["write"] * 3
    assert pauses == slept
    # Three chunks of 200 at 1,000/s: 0.6 s in all when the writing fits in the slots.
    assert round(clock() - began, 6) == round(max(0.6, 3 * writing_s), 6)
