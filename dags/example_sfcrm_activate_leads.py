"""Activate audiences into Salesforce **Leads**, daily: the day's status changes, nothing more.

The Lead twin of ``example_sfcrm_activate_contacts`` — read its documentation for the steps
(extract → map → check fields → activate → summary), how runs and backfills follow the data
interval, and how to point it at your warehouse. What differs: the people are Leads, whose
``Company`` is required and mapped here, and Lead assignment rules are left alone
(``auto_assign=False``), so activating statuses never reassigns a Lead's owner. And the segment
is the other kind a warehouse may hold: not current membership but a log of status changes — the
day's latest status per person and audience, given as text (``realized`` / ``existing`` /
``exited``). The sync state (connection ``sfcrm_sync_state``) diffs it just the same: a re-run of
a day sends nothing, and a backfill of an older day overwrites nothing newer.

The five tasks are defined once, in ``sfcrm_examples/daily_activation.py``; this file holds what
you adapt: the connections, the query and the mappings.

Prerequisites:

- Connection ``sfcrm_default`` (type *Salesforce CRM*) — see the README, "Connecting a real org".
- Connection ``sfcrm_profile_store``: any SQL connection (the example's is a SQLite file generated
  by ``python dags/sfcrm_examples/profile_store.py PATH``).
- Text Area (Long) fields ``crm_1_seg``, ``crm_2_seg``, ``crm_3_seg`` on **Lead**, editable by the
  connection's user: run ``example_sfcrm_setup_fields`` once, or ask your admin.
- A running triggerer, the pool ``sfcrm_api``, the connection ``sfcrm_sync_state`` and optionally
  the Variable ``sfcrm_work_dir``, as for the Contacts example.
"""

from __future__ import annotations

from airflow.sdk import dag
from sfcrm_examples.daily_activation import CHANGES, DAILY, START_DATE, activate_daily, activation_params

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
SELECT p.profile_id, p.salesforce_id, p.first_name, p.last_name, p.email, p.company,
       c.audience_id, c.status
FROM changes AS c
JOIN profiles AS p ON p.profile_id = c.profile_id
WHERE c.newest_first = 1 AND p.crm_object = 'Lead'
ORDER BY p.profile_id
"""

# Segment column -> Lead field. ``salesforce_id`` -> ``Id``: update the person's Lead by Id.
FIELD_MAPPING = {
    "salesforce_id": "Id",
    "first_name": "FirstName",
    "last_name": "LastName",
    "email": "Email",
    "company": "Company",
}

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
def example_sfcrm_activate_leads():
    activate_daily(
        sobject="Lead",
        segment_sql=SEGMENT_SQL,
        segment=CHANGES,
        field_mapping=FIELD_MAPPING,
        audiences=AUDIENCES,
        profile_store_conn_id=PROFILE_STORE_CONN_ID,
        sfcrm_conn_id=SFCRM_CONN_ID,
    )


example_sfcrm_activate_leads()
