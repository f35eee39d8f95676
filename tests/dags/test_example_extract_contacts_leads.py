"""example_sfcrm_extract_contacts_leads, end to end against a sandbox with ``dag.test()``: the hour's
Contacts and Leads in Parquet, the Asset events, and the identity loop closed by sfcrm_examples.identity."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import set_connection_env
from tests.dags.conftest import fresh_dag

pytestmark = pytest.mark.integration

DAG_ID = "example_sfcrm_extract_contacts_leads"
UTC = dt.timezone.utc
HOUR = dt.datetime(2026, 2, 3, 14, tzinfo=UTC)  # the run at 15:00 covers 14:00-15:00


@pytest.fixture
def org(dags_sandbox, airflow_db, monkeypatch, tmp_path):
    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

    dags_sandbox.reset()
    set_connection_env(monkeypatch, "sfcrm_default", dags_sandbox)
    monkeypatch.setenv("AIRFLOW_VAR_SFCRM_LAKE", str(tmp_path / "lake"))
    hook = SalesforceCrmHook("sfcrm_default")
    dags_sandbox.set_clock(HOUR - dt.timedelta(minutes=30), frozen=True)
    hook.upsert_records(
        "Contact", [{"LastName": "Before", "Email": "before@example.com"}], external_id_field=None
    )
    dags_sandbox.set_clock(HOUR + dt.timedelta(minutes=10))
    contacts = hook.upsert_records(
        "Contact",
        [{"LastName": f"C{n}", "Email": f"c{n}@example.com", "MailingCity": "Lyon"} for n in range(3)],
        external_id_field=None,
    )
    leads = hook.upsert_records(
        "Lead", [{"LastName": "L", "Company": "Acme", "Email": "lead@example.com"}], external_id_field=None
    )
    dags_sandbox.set_clock(HOUR + dt.timedelta(minutes=50))
    hook._json("DELETE", "composite/sobjects", params={"ids": contacts[2].id})
    dags_sandbox.set_clock(HOUR + dt.timedelta(hours=2))
    yield {"hook": hook, "contacts": [r.id for r in contacts], "lead": leads[0].id, "lake": tmp_path / "lake"}
    dags_sandbox.reset_clock()


def test_an_hourly_run_extracts_its_hour_and_announces_it(org, tmp_path):
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session

    run = fresh_dag(DAG_ID).test(logical_date=HOUR + dt.timedelta(hours=1))
    assert str(run.state) == "success"
    assert (run.data_interval_start, run.data_interval_end) == (HOUR, HOUR + dt.timedelta(hours=1))

    contact_dir = org["lake"] / "salesforce" / "Contact" / f"{HOUR:%Y%m%dT%H%M%S}"
    contacts = pq.read_table(contact_dir).to_pylist()
    assert sorted(r["Id"] for r in contacts) == sorted(org["contacts"])  # not "Before": another hour
    assert [r["IsDeleted"] for r in sorted(contacts, key=lambda r: r["Id"])] == [False, False, True]
    assert {r["MailingCity"] for r in contacts} == {"Lyon"} and "MailingAddress" not in contacts[0]
    manifest = json.loads((contact_dir / "_manifest.json").read_text())
    assert manifest["rows"] == 3 and manifest["deleted"] == 1
    leads = pq.read_table(org["lake"] / "salesforce" / "Lead" / f"{HOUR:%Y%m%dT%H%M%S}")
    assert leads.column("Id").to_pylist() == [org["lead"]]

    org_id = org["hook"].org_id
    with create_session() as session:
        events = {
            event.asset.uri: event.extra
            for event in session.query(AssetEvent).filter(AssetEvent.source_run_id == run.run_id)
        }
    assert set(events) == {f"salesforce://{org_id}/Contact", f"salesforce://{org_id}/Lead"}
    assert events[f"salesforce://{org_id}/Contact"]["output_path"] == str(contact_dir)
    assert events[f"salesforce://{org_id}/Contact"]["rows"] == 3

    # The identity loop: profiles find their Salesforce Ids in the extracts, deleted records excepted.
    from sfcrm_examples.identity import resolve_salesforce_ids

    profiles = tmp_path / "profiles.parquet"
    pq.write_table(
        pa.table(
            {
                "profile_id": ["p0", "p2", "p9"],
                "email": ["C0@example.com", "c2@example.com", "lead@example.com"],
            }
        ),
        profiles,
    )
    counts = resolve_salesforce_ids(
        profiles,
        {"Contact": org["lake"] / "salesforce" / "Contact", "Lead": org["lake"] / "salesforce" / "Lead"},
        tmp_path / "resolved.parquet",
    )
    resolved = {
        r["profile_id"]: r["salesforce_id"] for r in pq.read_table(tmp_path / "resolved.parquet").to_pylist()
    }
    assert resolved == {"p0": org["contacts"][0], "p2": None, "p9": org["lead"]}
    assert (counts.contact, counts.lead, counts.unmatched) == (1, 1, 1)
