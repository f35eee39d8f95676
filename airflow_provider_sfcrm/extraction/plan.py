"""Planning an extract's API use: which API reads it, how many calls it should take, and the quota guard.

``api="auto"`` counts the rows first (``SELECT COUNT()``, one call) and reads through Bulk API 2.0 when
there are at least ``bulk_threshold`` of them: the REST query pages 2,000 rows per call, so a large
read costs hundreds of calls of the org's daily allocation where a Bulk query job costs a handful.

The quota guard keeps the org's daily API usage at or below ``max_api_share`` of its allocation: it
refuses to start an extract whose planned calls would cross that line, and stops one whose calls
(or anyone else's: the usage is the org's) reach it while reading.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

APIS = ("auto", "rest", "bulk")
#: Rows per REST query page (Salesforce's default and maximum batch size).
REST_PAGE_ROWS = 2000
#: Calls besides the pages: describe, limits, the COUNT().
OVERHEAD_CALLS = 3
#: Calls of one Bulk API 2.0 query job besides its result pages: create, a few polls, delete.
BULK_JOB_CALLS = 6
#: Rows per Bulk API 2.0 result page the reader asks for (its ``maxRecords``): a page is held in memory.
BULK_PAGE_ROWS = 50_000
DEFAULT_BULK_THRESHOLD = 100_000


class QuotaExceeded(RuntimeError):
    """Reading on would take the org's daily API usage past the share the task may use."""


def choose_api(api: str, rows: int | None, *, bulk_threshold: int) -> str:
    """``"rest"`` or ``"bulk"``: ``api`` itself, or for ``"auto"`` the one the row count calls for."""
    if api not in APIS:
        raise ValueError(f"api must be one of {', '.join(APIS)}, not {api!r}")
    if api != "auto":
        return api
    return "bulk" if rows is not None and rows >= bulk_threshold else "rest"


def planned_calls(rows: int, api: str) -> int:
    """Calls an extract of ``rows`` rows should take through ``api`` (pages plus overhead)."""
    if api == "bulk":
        return OVERHEAD_CALLS + BULK_JOB_CALLS + max(1, math.ceil(rows / BULK_PAGE_ROWS))
    return OVERHEAD_CALLS + max(1, math.ceil(rows / REST_PAGE_ROWS))


@dataclass(frozen=True)
class QuotaGuard:
    """The org's daily API usage may not pass ``max_share`` of its allocation because of this task.

    :param max_share: fraction of the daily allocation, in (0, 1]; None turns the guard off.
    """

    max_share: float | None

    def __post_init__(self) -> None:
        share = self.max_share
        if share is not None and (
            isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1
        ):
            raise ValueError(f"max_api_share must be a fraction in (0, 1], not {share!r}")

    def ceiling(self, allocation: int) -> int:
        assert self.max_share is not None
        return math.floor(allocation * self.max_share)

    def check_before(self, used: int, allocation: int, planned: int, what: str) -> None:
        """Refuse to start when ``used + planned`` would pass the ceiling."""
        if self.max_share is None:
            return
        ceiling = self.ceiling(allocation)
        if used + planned > ceiling:
            raise QuotaExceeded(
                f"not starting the {what}: it needs about {planned} API calls, and the org has used {used} "
                f"of its {allocation} daily API requests; max_api_share={self.max_share:g} allows "
                f"{ceiling}. Nothing was written."
            )

    def check_during(self, used: int, allocation: int, what: str, done: str) -> None:
        """Stop once the org's usage reaches the ceiling (the next call would pass it)."""
        if self.max_share is None:
            return
        ceiling = self.ceiling(allocation)
        if used >= ceiling:
            raise QuotaExceeded(
                f"stopped the {what} after {done}: the org has used {used} of its {allocation} daily API "
                f"requests, and max_api_share={self.max_share:g} allows {ceiling}. Nothing was written; "
                "the previous output of this interval, if any, is unchanged."
            )
