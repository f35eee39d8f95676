"""example_sfcrm_accounts_contacts, end to end against a sandbox with ``dag.test()``: Accounts upserted
by their external id, then their Contacts linked to them through ``Account.Ext_Id__c``."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pyarrow.parquet as pq
import pytest

from tests.conftest import set_connection_env
from tests.dags.conftest import fresh_dag

pytestmark = pytest.mark.integration

DAG_ID = "example_sfcrm_accounts_contacts"
LOGICAL_DATE = datetime(2026, 2, 2, tzinfo=timezone.utc)
ACCOUNTS, CONTACTS_EACH = 12, 4


@pytest.fixture
def run_example(dags_sandbox, airflow_db, monkeypatch, tmp_path):
    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

    dags_sandbox.reset()
    set_connection_env(monkeypatch, "sfcrm_default", dags_sandbox)
    monkeypatch.setenv("AIRFLOW_VAR_SFCRM_WORK_DIR", str(tmp_path / "work"))

    def run() -> dict:
        dag_run = fresh_dag(DAG_ID).test(
            logical_date=LOGICAL_DATE, run_conf={"accounts": ACCOUNTS, "contacts_per_account": CONTACTS_EACH}
        )
        start, end = dag_run.data_interval_start, dag_run.data_interval_end
        files = tmp_path / "work" / DAG_ID / f"{start:%Y%m%dT%H%M%S}--{end:%Y%m%dT%H%M%S}"
        summary = (
            json.loads((files / "summary.json").read_text()) if (files / "summary.json").exists() else {}
        )
        return {"state": str(dag_run.state), "summary": summary, "files": files}

    run.hook = SalesforceCrmHook(sfcrm_conn_id="sfcrm_default")
    return run


def test_accounts_then_their_contacts_linked_by_external_id(run_example):
    from sfcrm_examples.accounts_contacts import sample_rows

    first = run_example()

    assert first["state"] == "success"
    accounts_summary, contacts_summary = first["summary"]["accounts"], first["summary"]["contacts"]
    assert (accounts_summary["created"], accounts_summary["rejected"]) == (ACCOUNTS, 0)
    # Every contact but the one of an account that does not exist.
    assert (contacts_summary["created"], contacts_summary["rejected"]) == (ACCOUNTS * CONTACTS_EACH, 1)
    assert contacts_summary["rejected_by_code"] == {"INVALID_FIELD": 1}
    rejected = pq.read_table(first["files"] / "contacts_rejected.parquet").to_pylist()
    assert [(r["contact_key"], r["sfcrm_source"]) for r in rejected] == [("PROSPECT-1-01", "salesforce")]
    assert rejected[0]["sfcrm_error_messages"] == [
        "Foreign key external ID: PROSPECT-1 not found for field Ext_Id__c in entity Account"
    ]

    account_rows, contact_rows = sample_rows(ACCOUNTS, CONTACTS_EACH)
    hook = run_example.hook
    accounts = {
        a["Ext_Id__c"]: a
        for a in hook.query_all(
            "SELECT Ext_Id__c, Name, Industry, NumberOfEmployees, AnnualRevenue FROM Account"
        )
    }
    assert {
        key: (a["Name"], a["Industry"], a["NumberOfEmployees"], a["AnnualRevenue"])
        for key, a in accounts.items()
    } == {
        row["account_key"]: (row["name"], row["industry"], row["employees"], float(row["annual_revenue"]))
        for row in account_rows
    }
    contacts = hook.query_all(
        "SELECT Ext_Id__c, Account.Ext_Id__c, Email, MobilePhone, MailingStreet, MailingCity, "
        "MailingPostalCode, MailingCountry, Birthdate FROM Contact"
    )
    found = {
        c["Ext_Id__c"]: (
            c["Account"]["Ext_Id__c"],
            c["Email"],
            c["MobilePhone"],
            c["MailingStreet"],
            c["MailingCity"],
            c["MailingPostalCode"],
            c["MailingCountry"],
            c["Birthdate"],
        )
        for c in contacts
    }
    assert found == {
        row["contact_key"]: (
            row["account_key"],
            row["email"],
            row["mobile"],
            row["mailing_street"],
            row["mailing_city"],
            row["mailing_postal_code"],  # "02134" keeps its leading zero
            row["mailing_country"],
            row["birthdate"].isoformat(),
        )
        for row in contact_rows
        if row["account_key"] != "PROSPECT-1"
    }

    # Again: the upserts find every record by its external id; nothing is created twice.
    again = run_example()
    assert again["state"] == "success"
    assert again["summary"]["accounts"]["created"] == again["summary"]["contacts"]["created"] == 0
    assert again["summary"]["accounts"]["updated"] == ACCOUNTS
    assert hook.count_records("SELECT COUNT() FROM Contact") == ACCOUNTS * CONTACTS_EACH
    assert hook.count_records("SELECT COUNT() FROM Account") == ACCOUNTS
