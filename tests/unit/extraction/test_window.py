"""An interval's window: half-open, whole seconds, neighbours that share a boundary and never a row."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_sfcrm.extraction.window import ExtractWindow, ceil_second, soql_datetime

UTC = dt.timezone.utc
H10, H11, H12 = (dt.datetime(2024, 1, 31, h, tzinfo=UTC) for h in (10, 11, 12))


def test_the_window_is_half_open_and_rendered_as_utc_soql():
    window = ExtractWindow.of_interval(H10, H11)
    assert window.soql_condition() == (
        "SystemModstamp >= 2024-01-31T10:00:00Z AND SystemModstamp < 2024-01-31T11:00:00Z"
    )
    assert window.owns(H10) and not window.owns(H11)
    assert window.owns(H11 - dt.timedelta(seconds=1))


def test_neighbours_share_the_boundary_and_never_a_stamp():
    first, second = ExtractWindow.of_interval(H10, H11), ExtractWindow.of_interval(H11, H12)
    stamps = [H10 + dt.timedelta(seconds=s) for s in range(0, 7201, 1)]
    assert all(first.owns(s) + second.owns(s) == 1 for s in stamps[:-1])
    assert not first.owns(H12) and not second.owns(H12)


def test_sub_second_boundaries_round_up_so_whole_second_stamps_compare_exactly():
    start = H10 + dt.timedelta(milliseconds=400)
    end = H11 + dt.timedelta(microseconds=1)
    window = ExtractWindow.of_interval(start, end)
    assert (window.start, window.end) == (H10 + dt.timedelta(seconds=1), H11 + dt.timedelta(seconds=1))
    # A stamp (whole seconds) is >= start exactly when it is >= ceil(start).
    assert not window.owns(H10) and window.owns(H10 + dt.timedelta(seconds=1))
    assert ceil_second(H10) == H10


def test_other_time_zones_become_utc():
    paris = dt.timezone(dt.timedelta(hours=1))
    window = ExtractWindow.of_interval(H10.astimezone(paris), H11.astimezone(paris))
    assert window.soql_condition().startswith("SystemModstamp >= 2024-01-31T10:00:00Z")
    assert soql_datetime(dt.datetime(2024, 1, 31, 11, 30, tzinfo=paris)) == "2024-01-31T10:30:00Z"


def test_a_full_refresh_reads_everything_before_the_end():
    window = ExtractWindow.of_interval(H10, H11, full_refresh=True)
    assert window.full_refresh and window.start is None
    assert window.soql_condition() == "SystemModstamp < 2024-01-31T11:00:00Z"
    assert window.owns(dt.datetime(2001, 1, 1, tzinfo=UTC))
    assert window.describe() == {"start": None, "end": "2024-01-31T11:00:00+00:00"}


def test_reading_waits_for_the_settle_time():
    assert ExtractWindow.of_interval(H10, H11).ready_at(dt.timedelta(minutes=10)) == H11 + dt.timedelta(
        minutes=10
    )


@pytest.mark.parametrize(
    ("start", "end", "complaint"),
    [
        (H10, None, "no data interval"),
        (None, H11, "no data_interval_start"),
        (H11, H10, "is empty"),
        (H10, H10, "is empty"),
        (H10.replace(tzinfo=None), H11, "must carry a time zone"),
        ("2024-01-31", H11, "must be a datetime"),
    ],
)
def test_unusable_intervals_are_refused(start, end, complaint):
    with pytest.raises(ValueError, match=complaint):
        ExtractWindow.of_interval(start, end)


@pytest.mark.parametrize(
    "window", [ExtractWindow.of_interval(H10, H11), ExtractWindow.of_interval(None, H12, full_refresh=True)]
)
def test_a_window_comes_back_from_its_description(window):
    # What crosses a deferral is the description: the resumed task must find the same window.
    assert ExtractWindow.from_description(window.describe()) == window
    with pytest.raises(ValueError, match="not the description of an extract window"):
        ExtractWindow.from_description({"start": None})
