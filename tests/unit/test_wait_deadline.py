"""When a deferred Bulk API 2.0 wait ends: the try's execution_timeout from the try's start."""

from __future__ import annotations

import datetime as dt

from airflow_provider_sfcrm.operators._wait_deadline import timed_out_note, wait_deadline


def test_the_deadline_is_the_tries_start_plus_its_execution_timeout():
    assert wait_deadline(dt.timedelta(hours=2, seconds=1), 1_000.5) == 1_000.5 + 7_201
    assert wait_deadline(None, 1_000.5) is None  # no execution_timeout: the wait has no end


def test_the_note_names_the_setting_and_its_value():
    assert timed_out_note(dt.timedelta(minutes=90)) == "the task's execution_timeout (1:30:00) ran out"
    assert timed_out_note(None) == "the wait's deadline passed"
