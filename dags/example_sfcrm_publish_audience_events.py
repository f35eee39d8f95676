"""Publish a **Platform Event** (``Notification__e``) for each audience change the Contacts activation made.

changes → publish → summary

1. ``changes``: reads, from the **sync state** (connection ``sfcrm_sync_state``), the audience
   statuses ``example_sfcrm_activate_contacts`` confirmed written for the same data interval (its
   status history as of the interval's end), and writes them to Parquet, one row per change:
   the Contact's Id, the audience's field, the new status, a message and a severity.
2. ``publish``: ``SalesforceSegmentExportOperator`` with ``operation="publish"``: one
   ``Notification__e`` per row, through sObject Collections, 200 per request, in the rows' order.
   ``row_filter`` keeps the changes worth announcing — a person entering (``realized``) or leaving
   (``exited``) an audience; a status that only became ``existing`` is counted ``filtered``.
   Rows Salesforce refuses land in the rejected-rows file with their codes.
3. ``summary``: logs the counts and keeps them next to the changes (``summary.json``).

Subscribers (a Flow, an Apex trigger, a Pub/Sub API client) act on the events: alert the account
owner, start a journey. Platform Events are messages, not records: re-running a day publishes its
events again, which subscribers should tolerate (the message names the record and the status).

Prerequisites:

- Connection ``sfcrm_default`` (type *Salesforce CRM*), as for ``example_sfcrm_activate_contacts``.
- The Platform Event ``Notification__e`` with Text fields ``Message__c`` and ``Severity__c``
  (Setup → Platform Events), which the connection's user may create (publish).
- ``example_sfcrm_activate_contacts`` running daily with the sync state ``sfcrm_sync_state``: this
  DAG has the same daily schedule and reads what that DAG's run of the same interval recorded, so
  run it after that one (``max_active_runs=1`` keeps days in order; add an
  ``ExternalTaskSensor`` if both may run at once in your deployment).
"""

from __future__ import annotations

import logging

from airflow.sdk import dag, task
from sfcrm_examples.daily_activation import DAILY, SFCRM_POOL, START_DATE, SYNC_STATE_CONN_ID

from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator

log = logging.getLogger(__name__)

SFCRM_CONN_ID = "sfcrm_default"
#: The activation whose changes are announced: its object and identity field (its sync state's scope).
SOBJECT, IDENTITY_FIELD = "Contact", "Id"
EVENT = "Notification__e"
#: Which changes are announced: entering or leaving an audience.
ANNOUNCED = "status IN ('realized', 'exited')"


@dag(
    schedule=DAILY,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["sfcrm", "example"],
)
def example_sfcrm_publish_audience_events():
    @task(multiple_outputs=True)
    def changes(data_interval_start=None, data_interval_end=None, dag=None) -> dict:
        """Write the interval's confirmed audience changes to Parquet, one row per change."""
        from sfcrm_examples.audience_events import write_changes
        from sfcrm_examples.segments import interval_dir

        from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

        files = interval_dir(dag.dag_id, data_interval_start, data_interval_end)
        org_id = SalesforceCrmHook(sfcrm_conn_id=SFCRM_CONN_ID).org_id
        count = write_changes(
            SYNC_STATE_CONN_ID, org_id, SOBJECT, IDENTITY_FIELD, data_interval_end, files / "changes.parquet"
        )
        log.info("%d audience changes of %s as of %s", count, SOBJECT, data_interval_end)
        return {
            "segment_path": str(files / "changes.parquet"),
            "rejected_rows_path": str(files / "rejected.parquet"),
        }

    found = changes()

    publish = SalesforceSegmentExportOperator(
        task_id="publish",
        sfcrm_conn_id=SFCRM_CONN_ID,
        sobject=EVENT,
        operation="publish",
        segment_path=found["segment_path"],
        field_mapping={"message": "Message__c", "severity": "Severity__c"},
        row_filter=ANNOUNCED,
        rejected_rows_path=found["rejected_rows_path"],
        pool=SFCRM_POOL,
    )

    @task
    def summary(result: dict, data_interval_start=None, data_interval_end=None, dag=None) -> dict:
        """Log the counts and keep them with the interval's files."""
        import json

        from sfcrm_examples.segments import interval_dir

        log.info(
            "%s: %d events published of %d changes, %d not announced (filtered), %d rejected %s",
            result["sobject"],
            result["written"],
            result["total"],
            result["filtered"],
            result["rejected"],
            result["rejected_by_code"],
        )
        target = interval_dir(dag.dag_id, data_interval_start, data_interval_end) / "summary.json"
        target.write_text(json.dumps(result, indent=2, sort_keys=True))
        return result

    summary(publish.output)


example_sfcrm_publish_audience_events()
