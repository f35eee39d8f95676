"""Dates and date-times as Salesforce reads them from text, and the UTC form the export sends.

Salesforce reads ISO 8601 (README, "Any object"): a day ``YYYY-MM-DD``, optionally ``T`` and a
time ``HH:MM`` with optional seconds and fraction, and optionally ``Z`` or an offset ``+hh:mm`` /
``+hhmm``. A space instead of the ``T``, a month 13 or an hour 25 make the value unreadable. A time
without an offset, and a day alone, are UTC. The export sends every date-time in UTC with a ``Z``
(``2024-01-31T09:00:00.000Z``, milliseconds kept, finer fractions dropped as Salesforce drops them).
Pure Python: no Airflow, no HTTP.
"""

from __future__ import annotations

import datetime as dt
import re

#: What Salesforce strips from both ends of a value (Java's ``String.trim``: code points up to U+0020).
SALESFORCE_TRIMMED = "".join(chr(code) for code in range(0x21))

# [0-9], not \d: Python's \d also matches other scripts' digits, which Salesforce does not read.
_ISO_PARTS = (
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
_ISO = re.compile(_ISO_PARTS)
#: The form of a date or date-time Salesforce reads, whole (for pyarrow's RE2 as for Python's re).
ISO_8601 = f"^{_ISO_PARTS}$"


def _parts(text: str) -> tuple[dt.date, re.Match[str]] | None:
    match = _ISO.fullmatch(text.strip(SALESFORCE_TRIMMED))
    if match is None:
        return None
    try:
        return dt.date(int(match[1]), int(match[2]), int(match[3])), match
    except ValueError:
        return None


def parse_datetime(text: str) -> dt.datetime | None:
    """The moment a DateTime field's text value stands for (time-zone aware, UTC when no offset is
    given), or None when Salesforce cannot read it."""
    parts = _parts(text)
    if parts is None:
        return None
    day, match = parts
    hour, minute, second, fraction, offset = match.group(4, 5, 6, 7, 8)
    zone = dt.timezone.utc
    try:
        if offset and offset != "Z":
            sign = -1 if offset[0] == "-" else 1
            zone = dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[-2:])))
        moment = dt.datetime(
            day.year,
            day.month,
            day.day,
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:3].ljust(3, "0")) * 1000,
            tzinfo=zone,
        )
        return moment.astimezone(dt.timezone.utc)
    except (ValueError, OverflowError):
        return None


def utc_text(moment: dt.datetime | dt.date) -> str:
    """``moment`` as sent: UTC, milliseconds, ``Z``. A naive datetime is taken as UTC; a date is
    midnight UTC."""
    if not isinstance(moment, dt.datetime):
        moment = dt.datetime(moment.year, moment.month, moment.day)
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def datetime_text(text: str) -> str | None:
    """A DateTime field's text value in the form sent (:func:`utc_text`), or None when unreadable."""
    moment = parse_datetime(text)
    return utc_text(moment) if moment is not None else None
