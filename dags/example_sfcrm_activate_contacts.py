"""Activate audiences into Salesforce **Contacts**, daily: current membership in, only changes out.

extract → map → check fields → activate → summary

1. ``extract``: every Contact of the profile store with its *current membership* as of the end of
   the run's data interval — one row per person, one true/false column per audience — read through
   an Airflow SQL connection and written to Parquet; the file's path goes on, never the rows.
2. ``map_columns``: which segment column goes to which Contact field, and which Mapping ID field
   receives each chosen audience's status.
3. ``check_fields``: waits, in the triggerer, until the Mapping ID fields exist and are editable;
   fails at once on a field of the wrong type or length.
4. ``activate``: syncs against the **sync state** (connection ``sfcrm_sync_state``): statuses are
   derived from membership — entering ``realized``, still a member at a later day ``existing``,
   leaving (or vanishing from the store) ``exited`` — and only the people whose values changed
   since the last confirmed write are sent, 200 per request, each with only what changed; rows
   that cannot be written land in a rejected-rows Parquet file with their reason.
5. ``summary``: logs the counts and keeps them next to the segment (``summary.json``).

Prerequisites:

- Connection ``sfcrm_default`` (type *Salesforce CRM*) — see the README, "Connecting a real org".
- Connection ``sfcrm_profile_store``: any SQL connection. The example's store is a SQLite file
  (``python dags/sfcrm_examples/profile_store.py PATH`` generates one) with the SQLite provider.
- Text Area (Long) fields ``crm_1_seg``, ``crm_2_seg``, ``crm_3_seg`` on Contact, editable by the
  connection's user: run ``example_sfcrm_setup_fields`` once, or ask your admin.
- A running triggerer (the field check defers to it).
- The pool ``sfcrm_api`` (``airflow pools set sfcrm_api 6 "Salesforce"``): it keeps all writes to
  the org within Salesforce's 25 concurrent long-running requests (see the sharded example).
- Connection ``sfcrm_sync_state``: the SQL database keeping the sync state — a SQLite file on one
  machine (``{"conn_type": "sqlite", "host": "/path/sfcrm_sync_state.sqlite"}``), PostgreSQL when
  workers are distributed (``pip install "airflow-provider-sfcrm[postgres]"``). Its tables are
  created on first use.
- Optional Variable ``sfcrm_work_dir``: where tasks hand files to each other; every worker must
  see it (default ``$AIRFLOW_HOME/sfcrm/work``; use ``s3://...`` or similar with remote workers).

**Your warehouse instead of the example store**: point ``PROFILE_STORE_CONN_ID`` at its Airflow
connection and rewrite ``MEMBERSHIP_SQL`` in its dialect — most warehouses hold exactly this (a dbt
model, a table refreshed daily). Keep the contract: one row per person, as of ``:as_of``, with the
columns of ``FIELD_MAPPING`` and a true/false (or 1/0) column ``aud_<audience>`` per audience. The
parameter style (``:name`` here) is your driver's (``%(name)s`` for psycopg2, for example).

The five tasks are defined once, in ``sfcrm_examples/daily_activation.py`` (shared with the
Leads twin); this file holds what you adapt: the connections, the query and the mappings.

Each run syncs the memberships as of the end of its data interval (the day before its logical
date). Re-running a day sends nothing; a backfill of a day older than what was synced already
overwrites nothing (its rows are counted ``stale`` and listed next to the segment).
``max_active_runs=1`` keeps days in order.
"""

from __future__ import annotations

from airflow.sdk import dag
from sfcrm_examples.daily_activation import DAILY, MEMBERSHIP, START_DATE, activate_daily, activation_params
from sfcrm_examples.queries import CONTACT_MEMBERSHIP_SQL

SFCRM_CONN_ID = "sfcrm_default"
PROFILE_STORE_CONN_ID = "sfcrm_profile_store"

# Everyone's current membership as of :as_of: one row per Contact, 1/0 per audience. The example
# store's query (see CONTACT_MEMBERSHIP_SQL in sfcrm_examples/queries.py); write your own here.
MEMBERSHIP_SQL = CONTACT_MEMBERSHIP_SQL

# Segment column -> Contact field. ``salesforce_id`` -> ``Id``: update the person's Contact by Id.
FIELD_MAPPING = {"salesforce_id": "Id", "first_name": "FirstName", "last_name": "LastName", "email": "Email"}

# Audience of the store -> Mapping ID: its status goes into the Text Area (Long) field <Mapping ID>__c.
AUDIENCES = {"high_value": "crm_1_seg", "cart_abandoners": "crm_2_seg", "newsletter": "crm_3_seg"}


@dag(
    schedule=DAILY,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    params=activation_params(AUDIENCES),
    doc_md=__doc__,
    tags=["sfcrm", "example"],
)
def example_sfcrm_activate_contacts():
    activate_daily(
        sobject="Contact",
        segment_sql=MEMBERSHIP_SQL,
        segment=MEMBERSHIP,
        field_mapping=FIELD_MAPPING,
        audiences=AUDIENCES,
        profile_store_conn_id=PROFILE_STORE_CONN_ID,
        sfcrm_conn_id=SFCRM_CONN_ID,
    )


example_sfcrm_activate_contacts()
