"""getUpdated / getDeleted windows and record selection."""

from __future__ import annotations

import datetime as dt

import pytest

from sfcrm_sandbox.models.replication import ReplicationError, deleted_records, updated_ids, window

NOW = dt.datetime(2024, 5, 20, 12, 30, 45, tzinfo=dt.timezone.utc)


def test_window_drops_seconds_and_covers_up_to_now():
    span = window("2024-05-19T10:15:59+00:00", "2024-05-21T00:00:00Z", NOW)
    assert span.start == dt.datetime(2024, 5, 19, 10, 15, tzinfo=dt.timezone.utc)
    assert span.latest_covered == dt.datetime(2024, 5, 20, 12, 30, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("start", "end", "code"),
    [
        (None, "2024-05-20T00:00:00Z", "MISSING_ARGUMENT"),
        ("2024-05-20T00:00:00Z", "2024-05-19T00:00:00Z", "INVALID_REPLICATION_DATE"),
        ("2024-04-19T00:00:00Z", "2024-05-19T00:00:00Z", "INVALID_REPLICATION_DATE"),  # > 30 days ago
        ("yesterday", "2024-05-19T00:00:00Z", "INVALID_REPLICATION_DATE"),
    ],
)
def test_window_errors(start, end, code):
    with pytest.raises(ReplicationError) as info:
        window(start, end, NOW)
    assert info.value.error_code == code


def test_records_in_the_window():
    span = window("2024-05-20T00:00:00Z", "2024-05-20T12:00:00Z", NOW)
    rows = [
        {"Id": "a", "SystemModstamp": "2024-05-20T01:00:00.000+0000"},
        {"Id": "b", "SystemModstamp": "2024-05-20T12:00:00.000+0000"},  # the end is excluded
        {"Id": "c", "LastModifiedDate": "2024-05-20T11:59:59.000+0000"},
        {"Id": "d", "SystemModstamp": "2024-05-20T02:00:00.000+0000", "IsDeleted": True},
    ]
    assert updated_ids(rows, span) == ["a", "c", "d"]
    assert deleted_records(rows, span) == [{"id": "d", "deletedDate": "2024-05-20T02:00:00.000+0000"}]
