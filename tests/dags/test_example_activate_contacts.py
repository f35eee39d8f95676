"""example_sfcrm_activate_contacts, end to end against a sandbox with ``dag.test()``."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from tests.dags.conftest import AUDIENCE_FIELDS, expected_statuses

pytestmark = pytest.mark.integration

DAG_ID = "example_sfcrm_activate_contacts"
DAY = timedelta(days=1)
FIRST = datetime(2026, 1, 3, tzinfo=timezone.utc)  # covers 2026-01-02


def changed_people(store, sobject: str, start: datetime, end: datetime) -> dict[str, bool]:
    """``{profile_id: has a Salesforce Id}`` of the people of ``sobject`` with a change in [start, end)."""
    fmt = "%Y-%m-%d %H:%M:%S"
    with sqlite3.connect(store) as db:
        rows = db.execute(
            "SELECT DISTINCT p.profile_id, p.salesforce_id IS NOT NULL FROM audience_memberships m"
            " JOIN profiles p ON p.profile_id = m.profile_id"
            " WHERE p.crm_object = ? AND m.changed_at >= ? AND m.changed_at < ?",
            (sobject, start.strftime(fmt), end.strftime(fmt)),
        )
        return {profile_id: bool(has_id) for profile_id, has_id in rows}


def test_three_daily_runs_leave_each_persons_statuses_as_of_the_last_day(example_org):
    runs = [example_org.run(DAG_ID, FIRST + n * DAY) for n in range(3)]

    for n, run in enumerate(runs):
        assert run["state"] == "success"
        start, end = FIRST + (n - 1) * DAY, FIRST + n * DAY
        assert run["interval"] == (start, end), "a run must cover the day before its logical date"
        people = changed_people(example_org.store, "Contact", start, end)
        summary = run["summary"]
        assert summary["total"] == len(people) > 0
        assert summary["total"] == summary["written"] + summary["rejected"]
        missing_id = sum(not has_id for has_id in people.values())
        assert summary["rejected"] == missing_id
        assert summary["rejected_by_code"] == ({"MISSING_IDENTITY": missing_id} if missing_id else {})
        assert summary["dry_run"] is False

    expected = expected_statuses(example_org.store, FIRST - DAY, FIRST + 2 * DAY)
    first_day = expected_statuses(example_org.store, FIRST - DAY, FIRST)
    overwritten = [key for key, status in first_day.items() if expected[key] != status]
    assert overwritten, "the data must hold statuses that change between day 1 and day 3"

    actual = example_org.statuses("Contact")
    mismatches = [
        (profile_id, audience, expected.get((profile_id, audience)), actual[sf_id][audience])
        for profile_id, sf_id in example_org.people("Contact").items()
        if sf_id is not None
        for audience in AUDIENCE_FIELDS
        if actual[sf_id][audience] != expected.get((profile_id, audience))
    ]
    assert mismatches == []


def test_rejected_rows_are_kept_with_their_reason(example_org):
    run = example_org.run(DAG_ID, FIRST)
    assert run["state"] == "success"
    summary = run["summary"]
    assert summary["rejected"] > 0, "the store holds people who never reached Salesforce"
    rejected = pd.read_parquet(summary["rejected_rows_path"])
    assert len(rejected) == summary["rejected"]
    assert rejected["profile_id"].notna().all()
    assert rejected["salesforce_id"].isna().all()


def test_dry_run_from_the_trigger_form_writes_nothing(example_org):
    run = example_org.run(DAG_ID, FIRST, dry_run=True)
    assert run["state"] == "success"
    summary = run["summary"]
    assert summary["dry_run"] is True
    assert summary["total"] == summary["written"] + summary["rejected"] > 0
    statuses = example_org.statuses("Contact")
    assert statuses and all(value is None for fields in statuses.values() for value in fields.values())


def test_only_the_audiences_chosen_at_trigger_time_are_written(example_org):
    run = example_org.run(DAG_ID, FIRST, audiences=["newsletter"])
    assert run["state"] == "success"
    expected = expected_statuses(example_org.store, FIRST - DAY, FIRST)
    people = example_org.people("Contact")
    statuses = example_org.statuses("Contact")
    for profile_id, sf_id in people.items():
        if sf_id is None:
            continue
        assert statuses[sf_id]["newsletter"] == expected.get((profile_id, "newsletter"))
        assert statuses[sf_id]["high_value"] is None
        assert statuses[sf_id]["cart_abandoners"] is None
    assert any(fields["newsletter"] for fields in statuses.values())
