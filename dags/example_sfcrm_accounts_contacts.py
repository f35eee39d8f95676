"""Accounts first, then their people: Accounts upserted by an external id, Contacts linked to them.

setup_external_ids → sample_data → upsert_accounts → upsert_contacts → summary

The older reference flow: a company's accounts are added (or updated) in Salesforce, then the
contacts of each are created with their mailing address, phone, mobile phone and e-mail — each
Contact's ``AccountId`` set **by the Account's external id** in the same request
(``"account_key": "Account.Ext_Id__c"`` in the mapping), so nobody has to look up Salesforce Ids.

1. ``setup_external_ids``: gives Account and Contact a unique External ID field ``Ext_Id__c`` (Tooling
   API) and lets the connection's user edit it — once; later runs find it and do nothing.
2. ``sample_data``: writes the rows a warehouse would hold (``accounts.parquet``,
   ``contacts.parquet``; replace it with your extract). One contact points to an account that does
   not exist, to show Salesforce's answer: it is rejected, ``INVALID_FIELD`` "Foreign key external
   ID: PROSPECT-1 not found …", and kept in the rejected rows.
3. ``upsert_accounts``: upsert on ``Account.Ext_Id__c``: new keys create Accounts, known keys
   update them; values are typed from the describe (``NumberOfEmployees`` a number,
   ``AnnualRevenue`` read from text, ``Industry`` a picklist).
4. ``upsert_contacts``: upsert on ``Contact.Ext_Id__c`` with the parent set through
   ``Account.Ext_Id__c``. Runs after the Accounts: a reference finds only saved parents.
5. ``summary``: logs both summaries and keeps them next to the files (``summary.json``).

Running it again changes nothing and creates no duplicates: both writes are upserts on external ids.

Prerequisites:

- Connection ``sfcrm_default`` (type *Salesforce CRM*) — see the README, "Connecting a real org" —
  whose user may create and edit Accounts and Contacts; for ``setup_external_ids`` also create
  fields and grant field permissions ("Customize Application", "Manage Profiles and Permission
  Sets"), or have an admin create ``Ext_Id__c`` (Text, External ID, Unique) on both objects.
- Optional Variable ``sfcrm_work_dir``: where the files go (default ``$AIRFLOW_HOME/sfcrm/work``).

No schedule: trigger it from the UI (params: how many accounts, contacts per account).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from airflow.sdk import Param, dag, task

from airflow_provider_sfcrm.operators.object_write import SalesforceObjectWriteOperator

log = logging.getLogger(__name__)

SFCRM_CONN_ID = "sfcrm_default"
EXTERNAL_ID_FIELD = "Ext_Id__c"

# Warehouse column -> Account field. ``account_key`` -> the external id: the upsert's key.
ACCOUNT_MAPPING = {
    "account_key": EXTERNAL_ID_FIELD,
    "name": "Name",
    "industry": "Industry",
    "phone": "Phone",
    "website": "Website",
    "employees": "NumberOfEmployees",
    "annual_revenue": "AnnualRevenue",
    "billing_city": "BillingCity",
    "billing_country": "BillingCountry",
}

# Warehouse column -> Contact field. ``account_key`` -> ``Account.Ext_Id__c``: the Contact's Account,
# found by its external id in the same request.
CONTACT_MAPPING = {
    "contact_key": EXTERNAL_ID_FIELD,
    "account_key": f"Account.{EXTERNAL_ID_FIELD}",
    "first_name": "FirstName",
    "last_name": "LastName",
    "email": "Email",
    "phone": "Phone",
    "mobile": "MobilePhone",
    "mailing_street": "MailingStreet",
    "mailing_city": "MailingCity",
    "mailing_postal_code": "MailingPostalCode",
    "mailing_country": "MailingCountry",
    "birthdate": "Birthdate",
}


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    params={
        "accounts": Param(20, type="integer", minimum=1, description="Accounts in the sample"),
        "contacts_per_account": Param(3, type="integer", minimum=1, description="Contacts of each"),
    },
    doc_md=__doc__,
    tags=["sfcrm", "example"],
)
def example_sfcrm_accounts_contacts():
    @task
    def setup_external_ids() -> list[str]:
        """Create (once) and grant ``Ext_Id__c`` on Account and Contact."""
        from sfcrm_examples.accounts_contacts import ensure_external_id

        from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

        hook = SalesforceCrmHook(sfcrm_conn_id=SFCRM_CONN_ID)
        created = [sobject for sobject in ("Account", "Contact") if ensure_external_id(hook, sobject)]
        log.info("External ID fields created: %s", created or "none (they were there)")
        return created

    @task(multiple_outputs=True)
    def sample_data(params=None, dag=None, data_interval_start=None, data_interval_end=None) -> dict:
        """Write the sample accounts and contacts (your warehouse extract goes here)."""
        from sfcrm_examples.accounts_contacts import write_sample
        from sfcrm_examples.segments import interval_dir

        files = interval_dir(dag.dag_id, data_interval_start, data_interval_end)
        return write_sample(files, params["accounts"], params["contacts_per_account"])

    data = sample_data()
    setup_external_ids() >> data

    # Both writes are upserts on the external id: a re-run finds every record and creates nobody twice.
    upsert = {"sfcrm_conn_id": SFCRM_CONN_ID, "operation": "upsert", "external_id_field": EXTERNAL_ID_FIELD}
    accounts = SalesforceObjectWriteOperator(
        task_id="upsert_accounts",
        sobject="Account",
        **upsert,
        segment_path=data["accounts_path"],
        field_mapping=ACCOUNT_MAPPING,
        rejected_rows_path=data["accounts_rejected_path"],
    )
    contacts = SalesforceObjectWriteOperator(
        task_id="upsert_contacts",
        sobject="Contact",
        **upsert,
        segment_path=data["contacts_path"],
        field_mapping=CONTACT_MAPPING,
        rejected_rows_path=data["contacts_rejected_path"],
        # The sample's one contact of an unknown account is refused by Salesforce: a few may be.
        max_rejected_ratio=0.05,
    )
    accounts >> contacts

    @task
    def summary(
        accounts_result: dict,
        contacts_result: dict,
        dag=None,
        data_interval_start=None,
        data_interval_end=None,
    ) -> dict:
        """Log what each write did, and keep both summaries with the run's files (``summary.json``)."""
        import json

        from sfcrm_examples.segments import interval_dir

        for result in (accounts_result, contacts_result):
            log.info(
                "%s: %d of %d rows written (%s created, %s updated), %d rejected %s, %d API calls",
                result["sobject"],
                result["written"],
                result["total"],
                result["created"],
                result["updated"],
                result["rejected"],
                result["rejected_by_code"],
                result["api_calls"],
            )
        both = {"accounts": accounts_result, "contacts": contacts_result}
        target = interval_dir(dag.dag_id, data_interval_start, data_interval_end) / "summary.json"
        target.write_text(json.dumps(both, indent=2, sort_keys=True))
        return both

    summary(accounts.output, contacts.output)


example_sfcrm_accounts_contacts()
