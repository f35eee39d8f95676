"""Dates and date-times read as Salesforce reads them, and sent in UTC."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_sfcrm.activation.datetimes import datetime_text, utc_text


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ("2024-01-31T10:00:00Z", "2024-01-31T10:00:00.000Z"),
        ("2024-01-31T10:00:00+01:00", "2024-01-31T09:00:00.000Z"),
        ("2024-01-31T00:30:00+0100", "2024-01-30T23:30:00.000Z"),  # the day changes in UTC
        ("2024-12-31T23:30:00-01:30", "2025-01-01T01:00:00.000Z"),  # and the year
        ("2024-01-31T10:00", "2024-01-31T10:00:00.000Z"),  # no offset: UTC
        ("2024-01-31", "2024-01-31T00:00:00.000Z"),  # a day alone: midnight UTC
        ("2024-01-31T10:00:00.123456789Z", "2024-01-31T10:00:00.123Z"),  # milliseconds kept
        ("2024-01-31T10:00:00.5Z", "2024-01-31T10:00:00.500Z"),
        (" 2024-01-31T10:00:00Z\n", "2024-01-31T10:00:00.000Z"),  # trimmed as Salesforce trims
    ],
)
def test_date_times_are_sent_in_utc(text, sent):
    assert datetime_text(text) == sent


@pytest.mark.parametrize(
    "text",
    [
        "2024-01-31 10:00:00",  # a space instead of T: Salesforce cannot read it
        "2024-13-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-01-31T25:00:00Z",
        "2024-01-31T10:60:00Z",
        "2024-01-31T10:00:00+24:00",
        "2024-01-31Z",
        "2024/01/31T10:00:00Z",
        "yesterday",
        "２０２４-01-31",  # digits of another script
        "",
    ],
)
def test_unreadable_date_times(text):
    assert datetime_text(text) is None


@pytest.mark.parametrize(
    ("moment", "sent"),
    [
        (dt.datetime(2024, 1, 31, 10, 0, 0, 123999), "2024-01-31T10:00:00.123Z"),  # naive: UTC
        (
            dt.datetime(2024, 1, 31, 10, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
            "2024-01-31T15:00:00.000Z",
        ),
        (dt.date(2024, 1, 31), "2024-01-31T00:00:00.000Z"),
    ],
)
def test_python_moments_are_sent_in_utc(moment, sent):
    assert utc_text(moment) == sent
