"""Data replication: which records changed or were deleted in a time window (getUpdated / getDeleted).

Salesforce's rules (``docs/salesforce-facts.md``, "Replication"): ``start`` and ``end`` are UTC
date-times whose seconds are dropped; ``start`` must come before ``end`` and lie no more than 30
days before the call; a record counts as updated when its ``SystemModstamp`` (else
``LastModifiedDate``) falls in the window, and more than 600,000 Ids is ``EXCEEDED_ID_LIMIT``.
``latestDateCovered`` is the window's end, or now when the end is in the future; deleted records
stay available as long as the org keeps them (the sandbox never purges its recycle bin), so
``earliestDateAvailable`` is when the org was created.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sfcrm_sandbox.models.soql_syntax import parse_instant
from sfcrm_sandbox.models.values import format_datetime

MAX_DAYS = 30
MAX_IDS = 600_000
INVALID_REPLICATION_DATE = "INVALID_REPLICATION_DATE"
EXCEEDED_ID_LIMIT = "EXCEEDED_ID_LIMIT"


class ReplicationError(Exception):
    """A window Salesforce refuses: 400 with ``error_code`` and ``message``."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime
    latest_covered: dt.datetime


def _minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def _instant(name: str, text: str | None) -> dt.datetime:
    if not text:
        # UNVERIFIED wording.
        raise ReplicationError("MISSING_ARGUMENT", f"'{name}' is a required parameter")
    try:
        return _minute(parse_instant(text.strip().replace(" ", "+")))
    except (ValueError, IndexError):
        # UNVERIFIED wording; an unparsable date-time is refused, not guessed.
        raise ReplicationError(
            INVALID_REPLICATION_DATE,
            f"'{name}' must be an ISO 8601 date-time such as 2024-05-01T00:00:00+00:00",
        ) from None


def window(start: str | None, end: str | None, now: dt.datetime | None = None) -> Window:
    """The window ``start``..``end`` (query parameters as sent), checked against Salesforce's rules."""
    now = now or dt.datetime.now(dt.timezone.utc)
    first, last = _instant("start", start), _instant("end", end)
    if first >= last:
        raise ReplicationError(INVALID_REPLICATION_DATE, "startDate must chronologically precede endDate")
    if first < _minute(now) - dt.timedelta(days=MAX_DAYS):
        # UNVERIFIED wording: results go back no more than 30 days before the call.
        raise ReplicationError(INVALID_REPLICATION_DATE, f"startDate cannot be more than {MAX_DAYS} days ago")
    return Window(first, last, min(last, _minute(now)))


def _moment(record: Mapping[str, Any], *names: str) -> dt.datetime | None:
    for name in names:
        if record.get(name):
            return parse_instant(record[name].replace("+0000", "Z"))
    return None


def updated_ids(records: Iterable[Mapping[str, Any]], span: Window) -> list[str]:
    """Ids of the live ``records`` created or changed in ``span`` (SystemModstamp, else LastModifiedDate)."""
    ids = []
    for record in records:
        moment = _moment(record, "SystemModstamp", "LastModifiedDate")
        if moment is not None and span.start <= moment < span.end:
            ids.append(record["Id"])
            _check_count(ids)
    return ids


def deleted_records(records: Iterable[Mapping[str, Any]], span: Window) -> list[dict[str, str]]:
    """``{"id", "deletedDate"}`` of the deleted ``records`` deleted in ``span``."""
    found = []
    for record in records:
        if not record.get("IsDeleted"):
            continue
        moment = _moment(record, "SystemModstamp", "LastModifiedDate")
        if moment is not None and span.start <= moment < span.end:
            found.append({"id": record["Id"], "deletedDate": format_datetime(moment)})
            _check_count(found)
    return found


def _check_count(found: list[Any]) -> None:
    if len(found) > MAX_IDS:
        raise ReplicationError(
            EXCEEDED_ID_LIMIT, f"More than {MAX_IDS} ids; choose start and end dates closer together"
        )
