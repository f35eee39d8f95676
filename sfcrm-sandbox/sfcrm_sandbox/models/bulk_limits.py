"""The org's Bulk API allocations over a rolling 24 hours (``docs/salesforce-facts.md``, "Bulk APIs").

- 15,000 batches, shared by Bulk API 1.0 and 2.0: every 1.0 batch counts when it is added; a 2.0
  ingest job counts one per 10,000-record internal batch it processes (not its empty first batch);
  2.0 query jobs count none.
- 150,000,000 ingested records (both APIs).
- 10,000 Bulk API 2.0 query jobs, and 1 TB (976,562 MB in ``limits``) of query results.

``limits`` reports the first and the last two as ``DailyBulkApiBatches``, ``DailyBulkV2QueryJobs``
and ``DailyBulkV2QueryFileStorageMB``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

DAY_S = 24 * 3600.0


class RollingAllocation:
    """An amount of something the org may use per rolling 24 hours.

    :param maximum: what 24 hours allow.
    :param clock: seconds, monotonic (injectable for tests).
    """

    def __init__(self, maximum: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.maximum = maximum
        self._clock = clock
        self._spent: deque[tuple[float, float]] = deque()
        self._total = 0.0

    def _expire(self) -> None:
        horizon = self._clock() - DAY_S
        while self._spent and self._spent[0][0] <= horizon:
            self._total -= self._spent.popleft()[1]

    @property
    def used(self) -> float:
        self._expire()
        return self._total

    @property
    def remaining(self) -> int:
        return max(0, int(self.maximum - self.used))

    def take(self, amount: float = 1) -> bool:
        """Spend ``amount`` if the allocation still has it; False (nothing spent) otherwise."""
        if amount and self.used + amount > self.maximum:
            return False
        self.spend(amount)
        return True

    def spend(self, amount: float) -> None:
        """Spend ``amount`` whatever is left (for results already produced)."""
        if amount:
            self._spent.append((self._clock(), amount))
            self._total += amount

    def report(self) -> dict[str, int]:
        """``{"Max", "Remaining"}`` as ``limits`` reports it."""
        return {"Max": self.maximum, "Remaining": self.remaining}


@dataclass(frozen=True)
class BulkLimits:
    """The allocations, as ``sfcrm-sandbox serve`` sets them (defaults: Salesforce's)."""

    daily_batches: int = 15_000
    daily_records: int = 150_000_000
    daily_query_jobs: int = 10_000
    daily_query_storage_mb: int = 976_562


class BulkAllocations:
    """What the org's Bulk work has spent of each allocation."""

    def __init__(self, limits: BulkLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.batches = RollingAllocation(limits.daily_batches, clock)
        self.records = RollingAllocation(limits.daily_records, clock)
        self.query_jobs = RollingAllocation(limits.daily_query_jobs, clock)
        self.query_storage_mb = RollingAllocation(limits.daily_query_storage_mb, clock)

    def limits_entries(self) -> dict[str, dict[str, int]]:
        return {
            "DailyBulkApiBatches": self.batches.report(),
            "DailyBulkV2QueryFileStorageMB": self.query_storage_mb.report(),
            "DailyBulkV2QueryJobs": self.query_jobs.report(),
        }

    def stats(self) -> dict[str, Any]:
        return {
            "batches_24h": int(self.batches.used),
            "records_24h": int(self.records.used),
            "query_jobs_24h": int(self.query_jobs.used),
            "query_storage_mb_24h": round(self.query_storage_mb.used, 3),
        }
