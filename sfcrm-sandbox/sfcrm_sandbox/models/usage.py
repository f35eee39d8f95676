"""The org's API usage: the daily allocation Salesforce counts REST requests against, and the
sandbox's own counters of what it served (for ``/__sandbox/stats``)."""

from __future__ import annotations

from collections import Counter


class ApiUsage:
    """Requests counted against the daily allocation, plus what the sandbox served.

    :param daily_limit: REST requests allowed before 403 ``REQUEST_LIMIT_EXCEEDED``.
    """

    def __init__(self, daily_limit: int) -> None:
        self.daily_limit = daily_limit
        self.used = 0
        self.calls = 0
        self.by_route: Counter[str] = Counter()
        self.records_written = 0
        # Requests being served right now and the most seen at once: shows that latency overlaps.
        self.in_flight = 0
        self.max_in_flight = 0

    @property
    def exhausted(self) -> bool:
        return self.used >= self.daily_limit

    @property
    def remaining(self) -> int:
        return max(0, self.daily_limit - self.used)

    def count_call(self, route_key: str) -> None:
        """An authenticated REST request reached ``route_key`` (``"PATCH /composite/sobjects"``)."""
        self.calls += 1
        self.by_route[route_key] += 1

    def started(self) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def finished(self) -> None:
        self.in_flight -= 1

    def limit_info(self) -> str:
        """The ``Sforce-Limit-Info`` header value every REST response carries."""
        return f"api-usage={self.used}/{self.daily_limit}"
