"""Extract Salesforce **Contacts and Leads** every hour into Parquet, and announce each extract as an Asset.

extract_contact, extract_lead (in parallel)

Each run reads the records of its hour: every Contact and Lead whose ``SystemModstamp`` falls in the
run's data interval ``[start, end)``, deleted ones included (``IsDeleted`` true), and writes them as one
Parquet file set per object and hour:
``<lake>/salesforce/<Contact|Lead>/<interval start>/part-00000.parquet`` + ``_manifest.json``. Keep the
latest version of each Id over all hours and drop the deleted ones, and you have the objects as the org
holds them (``sfcrm_examples/identity.py`` does exactly that to find each profile's Salesforce Id).

A run waits (in the triggerer) until its hour is ten minutes old: Salesforce shows a change when its
transaction commits, which can be after the hour it is stamped in. Backfills of past hours run at once,
in any order. Every run emits an event on ``salesforce://<org id>/Contact`` (and ``.../Lead``): schedule
a DAG on ``salesforce_asset("<org id>", "Contact")`` to run after each new extract; the event's
``extra`` holds the ``output_path`` of the file set it announces.

Prerequisites:

- Connection ``sfcrm_default`` (type *Salesforce CRM*); any auth type, e.g. ``jwt`` for a connected app
  with a certificate (see the README, "JWT bearer").
- A running triggerer (runs defer until their hour has settled, and an hour of 100,000 changes or more,
  read through a Bulk API 2.0 query job, while Salesforce runs the job).
- Optional Variable ``sfcrm_lake``: where the file sets go, a local path or ``s3://bucket/prefix`` and
  the like (default ``$AIRFLOW_HOME/sfcrm/lake``).
- The connection's user can read the columns below (field-level security): an unreadable column fails
  the task by name.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow.sdk import CronTriggerTimetable, dag
from sfcrm_examples.locations import DEFAULT_LAKE

from airflow_provider_sfcrm.operators.extract import SalesforceExtractOperator

SFCRM_CONN_ID = "sfcrm_default"
# Every hour, each run covering the hour before it.
HOURLY = CronTriggerTimetable("0 * * * *", timezone="UTC", interval=timedelta(hours=1))

# What each object's file sets hold (Id, SystemModstamp and IsDeleted always come too). MailingAddress is
# a compound field: it arrives as MailingStreet, MailingCity, ... columns.
COLUMNS = {
    "Contact": ["Email", "FirstName", "LastName", "AccountId", "MailingAddress", "HasOptedOutOfEmail"],
    "Lead": ["Email", "FirstName", "LastName", "Company", "Status", "IsConverted", "ConvertedContactId"],
}


@dag(
    schedule=HOURLY,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    doc_md=__doc__,
    tags=["sfcrm", "example"],
)
def example_sfcrm_extract_contacts_leads():
    for sobject, columns in COLUMNS.items():
        SalesforceExtractOperator(
            task_id=f"extract_{sobject.lower()}",
            sobject=sobject,
            columns=columns,
            output_path=(
                f"{{{{ var.value.get('sfcrm_lake', '{DEFAULT_LAKE}') }}}}/salesforce/{sobject}/"
                "{{ data_interval_start | ts_nodash }}"
            ),
            # Leave half of the org's daily API requests to everything else.
            max_api_share=0.5,
            sfcrm_conn_id=SFCRM_CONN_ID,
        )


example_sfcrm_extract_contacts_leads()
