"""Progress lines for long exports: rows done of total, rows per second and time left. Counts only."""

from __future__ import annotations

import time
from collections.abc import Callable


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


class ProgressReporter:
    """Count finished rows and log at most every ``interval_s`` seconds.

    Not thread-safe, and need not be: the hook reports finished batches from the calling thread.

    :param total: rows in the segment.
    :param log: called as ``log(fmt, *args)`` (e.g. ``logger.info``).
    :param interval_s: minimum seconds between two lines.
    :param clock: monotonic clock (a parameter so tests can drive it).
    """

    def __init__(
        self,
        total: int,
        log: Callable[..., object],
        *,
        interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.total = total
        self.done = 0
        self._log = log
        self._interval = interval_s
        self._clock = clock
        self._start = clock()
        self._last = self._start

    def advance(self, rows: int) -> None:
        self.done += rows
        now = self._clock()
        if now - self._last < self._interval:
            return
        self._last = now
        self._emit(now)

    def finish(self) -> None:
        self._emit(self._clock())

    def _emit(self, now: float) -> None:
        elapsed = max(now - self._start, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("nan")
        eta = _duration(left) if left == left else "unknown"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        self._log(
            "Progress: %d of %d rows (%.1f%%), %.0f rows/s, ETA %s", self.done, self.total, pct, rate, eta
        )
