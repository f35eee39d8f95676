"""example_sfcrm_activate_contacts, end to end against a sandbox with ``dag.test()``."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from tests.dags.conftest import AUDIENCE_FIELDS
from tests.profile_store_oracle import expected_after_syncs

pytestmark = pytest.mark.integration

DAG_ID = "example_sfcrm_activate_contacts"
DAY = timedelta(days=1)
FIRST = datetime(2026, 1, 3, tzinfo=timezone.utc)  # syncs the memberships as of 2026-01-03 00:00


def contacts(store) -> dict[str, bool]:
    """``{profile_id: has a Salesforce Id}`` of the store's Contacts."""
    with sqlite3.connect(store) as db:
        rows = db.execute(
            "SELECT profile_id, salesforce_id IS NOT NULL FROM profiles WHERE crm_object = 'Contact'"
        )
        return {profile_id: bool(has_id) for profile_id, has_id in rows}


def mismatches(example_org, expected) -> list:
    actual = example_org.statuses("Contact")
    return [
        (profile_id, audience, expected.get((profile_id, audience)), actual[sf_id][audience])
        for profile_id, sf_id in example_org.people("Contact").items()
        if sf_id is not None
        for audience in AUDIENCE_FIELDS
        if actual[sf_id][audience] != expected.get((profile_id, audience))
    ]


def test_daily_runs_derive_statuses_from_membership_and_send_only_changes(example_org):
    people = contacts(example_org.store)
    missing_id = sum(not has_id for has_id in people.values())
    runs = [example_org.run(DAG_ID, FIRST + n * DAY) for n in range(3)]

    for n, run in enumerate(runs):
        assert run["state"] == "success"
        assert run["interval"] == (FIRST + (n - 1) * DAY, FIRST + n * DAY), "a run covers the day before"
        summary = run["summary"]
        assert (
            summary["total"]
            == len(people)
            == sum(summary[k] for k in ("written", "rejected", "unchanged", "stale"))
        )
        assert summary["rejected_by_code"] == {"MISSING_IDENTITY": missing_id} and missing_id > 0
        assert summary["as_of"] == (FIRST + n * DAY).isoformat()
    first, second = runs[0]["summary"], runs[1]["summary"]
    assert first["written"] == len(people) - missing_id  # day 1: everyone with an Id
    assert 0 < second["written"] < first["written"] and second["unchanged"] > 0  # then only changes

    expected = expected_after_syncs(example_org.store, [FIRST + n * DAY for n in range(3)])
    assert any(status == "existing" for status in expected.values())
    assert any(status == "exited" for status in expected.values())
    assert mismatches(example_org, expected) == []

    # The last day again sends nothing; the first day again afterwards (a backfill) reverts nothing.
    writes = example_org.sandbox.calls_to("composite/sobjects")
    again = example_org.run(DAG_ID, FIRST + 2 * DAY)["summary"]
    backfill = example_org.run(DAG_ID, FIRST)["summary"]
    assert example_org.sandbox.calls_to("composite/sobjects") == writes
    assert (again["written"], again["unchanged"]) == (0, len(people) - missing_id)
    assert backfill["written"] == 0 and backfill["stale"] > 0
    assert len(pd.read_parquet(backfill["stale_rows_path"])) == backfill["stale"]
    assert mismatches(example_org, expected) == []


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
    assert example_org.run(DAG_ID, FIRST)["summary"]["written"] == summary["written"]  # nothing recorded


def test_only_the_audiences_chosen_at_trigger_time_are_written(example_org):
    run = example_org.run(DAG_ID, FIRST, audiences=["newsletter"])
    assert run["state"] == "success"
    expected = expected_after_syncs(example_org.store, [FIRST])
    people = example_org.people("Contact")
    statuses = example_org.statuses("Contact")
    for profile_id, sf_id in people.items():
        if sf_id is None:
            continue
        assert statuses[sf_id]["newsletter"] == expected.get((profile_id, "newsletter"))
        assert statuses[sf_id]["high_value"] is None
        assert statuses[sf_id]["cart_abandoners"] is None
    assert any(fields["newsletter"] for fields in statuses.values())
