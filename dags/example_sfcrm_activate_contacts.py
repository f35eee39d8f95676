"""Activate audiences into Salesforce **Contacts**, daily: the day's membership changes, nothing more.

extract → map → check fields → activate → summary

1. ``extract``: the people whose audience status changed in the run's data interval, read from the
   profile store through an Airflow SQL connection, pivoted to one row per person (one status
   column per audience) and written to Parquet; the file's path goes on, never the rows.
2. ``map_columns``: which segment column goes to which Contact field, and which Mapping ID field
   receives each chosen audience's status.
3. ``check_fields``: waits, in the triggerer, until the Mapping ID fields exist and are editable;
   fails at once on a field of the wrong type or length.
4. ``activate``: writes attributes and statuses, one write per person, 200 people per request;
   rows that cannot be written land in a rejected-rows Parquet file with their reason.
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
- Optional Variable ``sfcrm_work_dir``: where tasks hand files to each other; every worker must
  see it (default ``$AIRFLOW_HOME/sfcrm/work``; use ``s3://...`` or similar with remote workers).

**Your warehouse instead of the example store**: point ``PROFILE_STORE_CONN_ID`` at its Airflow
connection and rewrite ``SEGMENT_SQL`` in its dialect. Keep the contract: one row per person and
audience — the latest change within ``[:interval_start, :interval_end)`` — with the columns of
``FIELD_MAPPING``, ``audience_id`` and ``status``, ordered by ``profile_id``. The parameter style
(``:name`` here) is your driver's (``%(name)s`` for psycopg2, for example).

The five tasks are defined once, in ``sfcrm_examples/daily_activation.py`` (shared with the
Leads twin); this file holds what you adapt: the connections, the query and the mappings.

Each run covers the day before its logical date, so runs and backfills of past days write the
statuses of those days. ``max_active_runs=1`` keeps days in order: a later day never lands first.
"""

from __future__ import annotations

from airflow.sdk import dag
from sfcrm_examples.daily_activation import DAILY, START_DATE, activate_daily, activation_params

SFCRM_CONN_ID = "sfcrm_default"
PROFILE_STORE_CONN_ID = "sfcrm_profile_store"

# Who changed in the interval, and their status as of its end (their latest change in it).
SEGMENT_SQL = """
WITH changes AS (
    SELECT profile_id, audience_id, status,
           ROW_NUMBER() OVER (PARTITION BY profile_id, audience_id ORDER BY changed_at DESC) AS newest_first
    FROM audience_memberships
    WHERE changed_at >= :interval_start AND changed_at < :interval_end
)
SELECT p.profile_id, p.salesforce_id, p.first_name, p.last_name, p.email, c.audience_id, c.status
FROM changes AS c
JOIN profiles AS p ON p.profile_id = c.profile_id
WHERE c.newest_first = 1 AND p.crm_object = 'Contact'
ORDER BY p.profile_id
"""

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
        segment_sql=SEGMENT_SQL,
        field_mapping=FIELD_MAPPING,
        audiences=AUDIENCES,
        profile_store_conn_id=PROFILE_STORE_CONN_ID,
        sfcrm_conn_id=SFCRM_CONN_ID,
    )


example_sfcrm_activate_contacts()
