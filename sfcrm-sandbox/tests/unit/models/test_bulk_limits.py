"""Rolling 24-hour allocations: spending, refusing, expiring, and what ``limits`` reports."""

from __future__ import annotations

from sfcrm_sandbox.models.bulk_limits import DAY_S, BulkAllocations, BulkLimits, RollingAllocation
from tests.unit.models._bulk import FakeClock


def test_take_refuses_beyond_the_maximum_and_spends_nothing_then():
    clock = FakeClock()
    batches = RollingAllocation(3, clock)
    assert batches.take() and batches.take(2)
    assert not batches.take()
    assert batches.used == 3 and batches.remaining == 0


def test_spending_expires_after_24_hours_one_entry_at_a_time():
    clock = FakeClock()
    records = RollingAllocation(100, clock)
    records.take(60)
    clock.advance(3600)
    records.take(40)
    assert not records.take(1)
    clock.advance(DAY_S - 3600)  # the first 60 are 24 h old
    assert records.remaining == 60
    clock.advance(3600)
    assert records.remaining == 100


def test_spend_goes_past_the_maximum_for_work_already_done():
    storage = RollingAllocation(1, FakeClock())
    storage.spend(2.5)
    assert storage.remaining == 0 and storage.used == 2.5


def test_limits_entries_report_max_and_remaining():
    allocations = BulkAllocations(BulkLimits(daily_batches=10, daily_query_jobs=5), FakeClock())
    allocations.batches.take(4)
    allocations.query_jobs.take()
    entries = allocations.limits_entries()
    assert entries["DailyBulkApiBatches"] == {"Max": 10, "Remaining": 6}
    assert entries["DailyBulkV2QueryJobs"] == {"Max": 5, "Remaining": 4}
    assert entries["DailyBulkV2QueryFileStorageMB"] == {"Max": 976_562, "Remaining": 976_562}
