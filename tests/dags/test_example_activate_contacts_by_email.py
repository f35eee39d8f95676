"""example_sfcrm_activate_contacts_by_email, end to end with ``dag.test()``: the hourly extract's Contacts
give each profile its Salesforce Id by e-mail, and the memberships are synced into those Contacts."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pyarrow.parquet as pq
import pytest

from tests.dags.conftest import AUDIENCE_FIELDS, fresh_dag
from tests.profile_store_oracle import expected_after_syncs

pytestmark = pytest.mark.integration

DAG_ID = "example_sfcrm_activate_contacts_by_email"
HOUR = datetime(2026, 1, 5, 10, tzinfo=timezone.utc)  # the extracted hour: 10:00-11:00


@pytest.fixture
def extracted(example_org, monkeypatch, tmp_path):
    """The org's Contacts, last modified within ``HOUR`` and extracted by the hourly DAG into the lake.

    Before that, one Contact's address is changed in Salesforce (its profile must now miss it) and
    one is deleted (its profile must not get the Id of a record in the recycle bin).
    """
    monkeypatch.setenv("AIRFLOW_VAR_SFCRM_LAKE", str(tmp_path / "lake"))
    hook, sandbox = example_org.hook, example_org.sandbox
    contacts = sorted(
        hook.query_all("SELECT Id, Email FROM Contact WHERE Email != null"), key=lambda r: r["Id"]
    )
    moved, deleted = contacts[0], contacts[1]
    sandbox.set_clock(HOUR + timedelta(minutes=20), frozen=True)
    # Touch every Contact so that the hour's extract holds them all, as a first full extract would.
    results = hook.upsert_records("Contact", [{"Id": r["Id"], "Title": "Customer"} for r in contacts])
    assert all(result.success for result in results)
    hook.upsert_records("Contact", [{"Id": moved["Id"], "Email": "someone.else@example.org"}])
    hook._json("DELETE", "composite/sobjects", params={"ids": deleted["Id"]})
    sandbox.set_clock(HOUR + timedelta(hours=3))
    run = fresh_dag("example_sfcrm_extract_contacts_leads").test(logical_date=HOUR + timedelta(hours=1))
    assert str(run.state) == "success"
    yield {"moved": moved, "deleted": deleted, "contacts": contacts}
    sandbox.reset_clock()


def profile_emails(store) -> dict[str, str | None]:
    with sqlite3.connect(store) as db:
        return dict(
            db.execute("SELECT profile_id, lower(trim(email)) FROM profiles WHERE crm_object = 'Contact'")
        )


def test_profiles_find_their_contacts_by_email_and_get_their_statuses(example_org, extracted):
    as_of = HOUR + timedelta(hours=1)
    run = example_org.run(DAG_ID, as_of)
    assert run["state"] == "success" and run["interval"] == (as_of, as_of)
    summary = run["summary"]

    emails = profile_emails(example_org.store)
    by_email = {
        r["Email"].strip().lower(): r["Id"]
        for r in extracted["contacts"]
        if r["Id"] not in (extracted["moved"]["Id"], extracted["deleted"]["Id"])
    }
    matched = {profile: by_email[email] for profile, email in emails.items() if email in by_email}
    assert summary["resolution"]["profiles"] == summary["total"] == len(emails)
    assert summary["resolution"]["contact"] == len(matched) > 0
    assert summary["rejected_by_code"] == {"MISSING_IDENTITY": len(emails) - len(matched)}
    assert summary["written"] == len(matched) and summary["as_of"] == as_of.isoformat()

    # Every matched Contact holds its profile's statuses as of the hour's end; the others none.
    expected = expected_after_syncs(example_org.store, [as_of])
    actual = example_org.statuses("Contact")
    assert {
        sf_id: {audience: expected.get((profile, audience)) for audience in AUDIENCE_FIELDS}
        for profile, sf_id in matched.items()
    } == {sf_id: actual[sf_id] for sf_id in matched.values()}
    assert all(status is None for status in actual[extracted["moved"]["Id"]].values())

    # The join's output names the Contact each profile got; the deleted Contact's Id is nobody's.
    segment = pq.read_table(run["files"] / "segment.parquet")
    ids = set(segment.column("salesforce_id").to_pylist())
    assert extracted["deleted"]["Id"] not in ids and set(matched.values()) <= ids

    # Triggered again for the same extract: nothing changed, nothing is sent.
    writes = example_org.sandbox.calls_to("composite/sobjects")
    again = example_org.run(DAG_ID, as_of)
    assert again["state"] == "success" and again["summary"]["unchanged"] == len(matched)
    assert example_org.sandbox.calls_to("composite/sobjects") == writes


def test_it_runs_after_each_contact_extract():
    from airflow.sdk import AssetAlias, AssetAll

    dag = fresh_dag(DAG_ID)
    assert dag.timetable.asset_condition == AssetAll(AssetAlias(name="sfcrm-extract:sfcrm_default:Contact"))
