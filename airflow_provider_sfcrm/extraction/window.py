"""The slice of time an extract reads, and how an interval's boundaries become SOQL.

An interval owns the row versions whose ``SystemModstamp`` lies in ``[start, end)``. Consecutive
intervals share a boundary and never a row: a record stamped exactly on a boundary belongs to the
interval that starts there. Salesforce keeps ``SystemModstamp`` to the whole second, so boundaries are
rounded up to the next whole second before they go into SOQL; that keeps the comparison exact (a
stamp ``s`` is ``>= start`` exactly when it is ``>= ceil(start)``) and lets neighbours agree.

A row is stamped when its transaction starts and becomes visible when it commits (Salesforce's
``getUpdated`` documents this as ``latestDateCovered``: changes that started before a time may appear
after it). An interval is therefore read only once ``end + settle`` has passed: :meth:`ready_at`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

UTC = dt.timezone.utc
#: The field that says when a record last changed, writes and deletions alike, and is indexed.
STAMP_FIELD = "SystemModstamp"


def ceil_second(moment: dt.datetime) -> dt.datetime:
    """``moment`` in UTC, rounded up to a whole second."""
    moment = moment.astimezone(UTC)
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + dt.timedelta(seconds=1)


def soql_datetime(moment: dt.datetime) -> str:
    """A SOQL dateTime literal in UTC: ``2024-01-31T10:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _aware(value: dt.datetime, name: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValueError(f"{name} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must carry a time zone (Airflow's data interval does), got {value!r}")
    return value


@dataclass(frozen=True)
class ExtractWindow:
    """The row versions one extract owns: ``SystemModstamp`` in ``[start, end)`` (whole seconds).

    :param start: None for a full refresh (every live record stamped before ``end``).
    :param end: exclusive.
    """

    start: dt.datetime | None
    end: dt.datetime

    @classmethod
    def of_interval(
        cls, start: dt.datetime | None, end: dt.datetime | None, *, full_refresh: bool = False
    ) -> ExtractWindow:
        """The window of a data interval; ValueError naming what is wrong with the boundaries."""
        if end is None:
            raise ValueError(
                "this run has no data interval: schedule the DAG (e.g. '@hourly'), or trigger it "
                "with a logical date"
            )
        end = ceil_second(_aware(end, "data_interval_end"))
        if full_refresh:
            return cls(None, end)
        if start is None:
            raise ValueError("this run has no data_interval_start; use full_refresh=True to read everything")
        start = ceil_second(_aware(start, "data_interval_start"))
        if start >= end:
            raise ValueError(
                f"the data interval [{start.isoformat()}, {end.isoformat()}) is empty: nothing to extract"
            )
        return cls(start, end)

    @classmethod
    def from_description(cls, described: dict[str, str | None]) -> ExtractWindow:
        """The window :meth:`describe` described (what crosses a deferral)."""
        start, end = described.get("start"), described.get("end")
        if not end:
            raise ValueError(f"not the description of an extract window: {described!r}")
        end_at = dt.datetime.fromisoformat(end)
        return cls(None if start is None else dt.datetime.fromisoformat(start), end_at)

    @property
    def full_refresh(self) -> bool:
        return self.start is None

    def soql_condition(self) -> str:
        """``SystemModstamp >= <start> AND SystemModstamp < <end>`` (no lower bound on a full refresh)."""
        upper = f"{STAMP_FIELD} < {soql_datetime(self.end)}"
        if self.start is None:
            return upper
        return f"{STAMP_FIELD} >= {soql_datetime(self.start)} AND {upper}"

    def owns(self, stamp: dt.datetime) -> bool:
        """True when a row stamped ``stamp`` belongs to this window."""
        stamp = stamp.astimezone(UTC)
        return (self.start is None or stamp >= self.start) and stamp < self.end

    def ready_at(self, settle: dt.timedelta) -> dt.datetime:
        """When the window may be read: once its end is ``settle`` in the past (transactions committed)."""
        return self.end + settle

    def describe(self) -> dict[str, str | None]:
        """``{"start": ISO or None, "end": ISO}`` for summaries and manifests."""
        return {
            "start": None if self.start is None else self.start.isoformat(),
            "end": self.end.isoformat(),
        }
