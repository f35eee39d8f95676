"""Syncs a segment of current memberships into Contacts with a sync state, one run per day.

Used by ``tests/dags/test_sync_state_dag.py`` through ``dag.test()`` (what ``airflow dags test`` runs).
The run's conf names the segment (Parquet: ``sfid``, ``email`` and the boolean membership columns
``aud_1`` and ``aud_2``), the sync-state connection and where the rejected rows, the stale rows and
the summary go; the as-of time is the run's data-interval end, so a run of an older date is a
backfill.

Prerequisites: a Salesforce CRM connection ``sfcrm_default`` with the Text Area (Long) fields
``crm_1_seg`` and ``crm_2_seg`` on Contact, and the SQL connection named in the conf.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, dag, task

from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator


@dag(
    dag_id="sfcrm_sync_state_acceptance",
    schedule=CronTriggerTimetable("0 0 * * *", timezone="UTC", interval=timedelta(days=1)),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    params={
        "segment_path": "",
        "sync_state": "",
        "rejected_rows_path": "",
        "stale_rows_path": "",
        "summary_path": "",
    },
    tags=["sfcrm", "test"],
)
def sfcrm_sync_state_acceptance():
    sync = SalesforceSegmentExportOperator(
        task_id="sync",
        sobject="Contact",
        segment_path="{{ params.segment_path }}",
        field_mapping={"sfid": "Id", "email": "Email"},
        audiences={"aud_1": "crm_1_seg", "aud_2": "crm_2_seg"},
        sync_state="{{ params.sync_state }}",
        rejected_rows_path="{{ params.rejected_rows_path }}",
        stale_rows_path="{{ params.stale_rows_path }}",
    )

    @task
    def keep_summary(summary: dict, params=None) -> None:
        """Counts only (no record data): where the test reads them."""
        import json
        from pathlib import Path

        Path(params["summary_path"]).write_text(json.dumps(summary))

    keep_summary(sync.output)


sfcrm_sync_state_acceptance()
