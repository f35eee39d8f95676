"""Waits, deferred, until the audience fields crm_1_seg and crm_2_seg on Contact are usable.

Used by ``tests/dags/test_custom_field_sensor_dag.py`` through the real ``airflow dags test`` CLI.

Prerequisites: a Salesforce CRM connection ``sfcrm_default`` (e.g. ``AIRFLOW_CONN_SFCRM_DEFAULT``
pointing at an ``sfcrm-sandbox``). ``SFCRM_TEST_MAPPING_IDS`` (comma-separated) and
``SFCRM_TEST_POKE_INTERVAL`` (seconds) override the Mapping IDs and the poke interval.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import dag, task

from airflow_provider_sfcrm.sensors.custom_fields import SalesforceCustomFieldSensor


@dag(
    dag_id="sfcrm_custom_field_sensor_acceptance",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["sfcrm", "test"],
)
def sfcrm_custom_field_sensor_acceptance():
    wait = SalesforceCustomFieldSensor(
        task_id="wait_for_audience_fields",
        sobject="Contact",
        mapping_ids=os.environ.get("SFCRM_TEST_MAPPING_IDS", "crm_1_seg,crm_2_seg"),
        deferrable=True,
        poke_interval=float(os.environ.get("SFCRM_TEST_POKE_INTERVAL", "2")),
        timeout=300,
    )

    @task
    def summarise(verdicts: dict) -> int:
        # Field names and statuses only: no record data passes through this DAG.
        for mapping_id, verdict in verdicts.items():
            print(f"audience field {mapping_id}: {verdict['status']} ({verdict['actual_type']})")
        return len(verdicts)

    summarise(wait.output)


sfcrm_custom_field_sensor_acceptance()
