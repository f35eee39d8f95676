"""Activate audiences into Salesforce **Leads**, daily: the day's membership changes, nothing more.

The Lead twin of ``example_sfcrm_activate_contacts``: the same steps, with the Lead's own fields
(``Company`` is required on Leads) and Lead assignment rules left alone (``auto_assign=False``).

extract → map → check fields → activate → summary

1. ``extract``: the people whose audience status changed in the run's data interval, read from the
   profile store through an Airflow SQL connection, pivoted to one row per person (one status
   column per audience) and written to Parquet; the file's path goes on, never the rows.
2. ``map_columns``: which segment column goes to which Lead field, and which Mapping ID field
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
- Text Area (Long) fields ``crm_1_seg``, ``crm_2_seg``, ``crm_3_seg`` on Lead, editable by the
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

Each run covers the day before its logical date, so runs and backfills of past days write the
statuses of those days. ``max_active_runs=1`` keeps days in order: a later day never lands first.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from airflow.sdk import CronTriggerTimetable, Param, dag, task

from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator
from airflow_provider_sfcrm.sensors.custom_fields import SalesforceCustomFieldSensor

log = logging.getLogger(__name__)

SFCRM_CONN_ID = "sfcrm_default"
PROFILE_STORE_CONN_ID = "sfcrm_profile_store"
SFCRM_POOL = "sfcrm_api"

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
    schedule=CronTriggerTimetable("0 0 * * *", timezone="UTC", interval=timedelta(days=1)),
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    params={
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Validate every row and plan the writes, but write nothing to Salesforce.",
        ),
        "audiences": Param(
            list(AUDIENCES),
            type="array",
            title="Audiences",
            description="The audiences to activate; the others' fields are left as they are.",
            examples=list(AUDIENCES),
            minItems=1,
        ),
    },
    doc_md=__doc__,
    tags=["sfcrm", "example"],
)
def example_sfcrm_activate_leads():
    @task
    def extract(data_interval_start=None, data_interval_end=None, params=None, dag=None) -> dict:
        """Write the interval's changed memberships to Parquet, one row per person."""
        from airflow.sdk import Connection
        from sfcrm_examples.profile_store import format_timestamp
        from sfcrm_examples.segments import extract_segment, interval_dir

        audiences = list(params["audiences"])
        unknown = sorted(set(audiences) - set(AUDIENCES))
        if unknown:
            raise ValueError(f"unknown audiences {unknown}; choose among {list(AUDIENCES)}")
        files = interval_dir(dag.dag_id, data_interval_start, data_interval_end)
        counts = extract_segment(
            Connection.get(PROFILE_STORE_CONN_ID).get_hook(),
            SEGMENT_SQL,
            {
                "interval_start": format_timestamp(data_interval_start),
                "interval_end": format_timestamp(data_interval_end),
            },
            files / "segment.parquet",
            key="profile_id",
            audiences=audiences,
        )
        log.info("%d people changed from %s to %s", counts["people"], data_interval_start, data_interval_end)
        return {
            "segment_path": str(files / "segment.parquet"),
            "rejected_rows_path": str(files / "rejected.parquet"),
            "audiences": audiences,
            **counts,
        }

    @task(multiple_outputs=True)
    def map_columns(segment: dict) -> dict:
        """Say which column goes to which Lead field, for the audiences chosen at trigger time."""
        from sfcrm_examples.segments import status_column

        audiences = {status_column(a): AUDIENCES[a] for a in segment["audiences"]}
        return {
            "segment_path": segment["segment_path"],
            "rejected_rows_path": segment["rejected_rows_path"],
            "field_mapping": FIELD_MAPPING,
            "audiences": audiences,
            "mapping_ids": sorted(set(audiences.values())),
        }

    mapped = map_columns(extract())

    check_fields = SalesforceCustomFieldSensor(
        task_id="check_fields",
        sfcrm_conn_id=SFCRM_CONN_ID,
        sobject="Lead",
        mapping_ids=mapped["mapping_ids"],
        deferrable=True,
        poke_interval=300,
        timeout=int(timedelta(hours=6).total_seconds()),
    )

    activate = SalesforceSegmentExportOperator(
        task_id="activate",
        sfcrm_conn_id=SFCRM_CONN_ID,
        sobject="Lead",
        segment_path=mapped["segment_path"],
        field_mapping=mapped["field_mapping"],
        audiences=mapped["audiences"],
        operation="update",
        # Shared by every task writing to this org: slots x max_workers <= 25 concurrent requests.
        pool=SFCRM_POOL,
        max_workers=4,
        # True would run the org's Lead assignment rules on every update and may reassign owners.
        auto_assign=False,
        rejected_rows_path=mapped["rejected_rows_path"],
        # People of the store that never reached Salesforce have no Id: a few are expected.
        max_rejected_ratio=0.05,
        dry_run="{{ params.dry_run }}",
    )

    @task
    def summary(result: dict, data_interval_start=None, data_interval_end=None, dag=None) -> dict:
        """Log the activation's counts and keep them with the interval's files."""
        import json

        from sfcrm_examples.segments import interval_dir

        log.info(
            "%s: %d of %d people written (%d created, %d updated), %d rejected %s, %d API calls, dry run: %s",
            result["sobject"],
            result["written"],
            result["total"],
            result["created"],
            result["updated"],
            result["rejected"],
            result["rejected_by_code"],
            result["api_calls"],
            result["dry_run"],
        )
        if result["rejected"]:
            log.info("Rejected rows, with their reasons: %s", result["rejected_rows_path"])
        target = interval_dir(dag.dag_id, data_interval_start, data_interval_end) / "summary.json"
        target.write_text(json.dumps(result, indent=2, sort_keys=True))
        return result

    check_fields >> activate
    summary(activate.output)


example_sfcrm_activate_leads()
