"""The org's settable clock: runs, stands still, moves both ways, refuses settings it cannot take."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from sfcrm_sandbox.models.clock import Clock, ClockError, parse_moment

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 1, 31, 10, 0, 0, tzinfo=UTC)


def test_a_set_clock_runs_on_from_the_instant_it_was_given():
    clock = Clock(T0)
    first = clock.now()
    time.sleep(0.02)
    assert T0 <= first < clock.now() < T0 + dt.timedelta(seconds=5)
    assert not clock.frozen


def test_a_frozen_clock_stands_still_and_moves_only_when_told():
    clock = Clock(T0, frozen=True)
    time.sleep(0.01)
    assert clock.now() == T0 and clock.frozen
    clock.advance(3600)
    assert clock.now() == T0 + dt.timedelta(hours=1)
    clock.advance(-7200)  # backwards too: a late-committing transaction stamped in the past
    assert clock.now() == T0 - dt.timedelta(hours=1)


def test_stamps_are_whole_seconds_in_salesforces_form():
    clock = Clock(T0 + dt.timedelta(milliseconds=999), frozen=True)
    assert clock.stamp() == "2024-01-31T10:00:00.000+0000"
    assert clock.today() == dt.date(2024, 1, 31)


def test_configure_sets_advances_and_switches_freezing():
    clock = Clock()
    clock.configure({"now": "2024-01-31T10:00:00Z", "frozen": True})
    assert clock.state() == {"now": "2024-01-31T10:00:00.000Z", "frozen": True}
    clock.configure({"advance_s": 90})
    assert clock.now() == T0 + dt.timedelta(seconds=90) and clock.frozen
    clock.configure({"now": "2024-01-31T12:00:00+02:00", "advance_s": -1})
    assert clock.now() == T0 - dt.timedelta(seconds=1)
    clock.configure({"frozen": False})
    assert not clock.frozen and clock.now() >= T0 - dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"now": "yesterday"}, "ISO 8601"),
        ({"now": 5}, "ISO 8601"),
        ({"advance_s": "10"}, "number of seconds"),
        ({"advance_s": True}, "number of seconds"),
        ({"frozen": "yes"}, "true or false"),
        ({"speed": 2}, "JSON object with"),
        ([], "JSON object with"),
    ],
)
def test_configure_refuses_what_it_cannot_take(settings, message):
    clock = Clock(T0, frozen=True)
    with pytest.raises(ClockError, match=message):
        clock.configure(settings)
    assert clock.now() == T0  # nothing half-applied


def test_reset_returns_to_the_wall_clock():
    clock = Clock(T0, frozen=True)
    clock.configure({"reset": True})
    assert not clock.frozen
    assert abs((clock.now() - dt.datetime.now(UTC)).total_seconds()) < 5


def test_naive_instants_are_utc():
    assert parse_moment("2024-01-31T10:00:00") == T0
