"""Activate audiences into the Contacts **found by e-mail** in the hourly extract: the identity loop closed.

profiles → resolve_ids → activate → summary

``example_sfcrm_activate_contacts`` needs each profile's Salesforce Id in the profile store. Most teams
do not keep one: they know a person's e-mail address, and the Id lives in Salesforce. This DAG runs
after each extract of Contacts by ``example_sfcrm_extract_contacts_leads`` (it is scheduled on that
extract's Asset alias) and:

1. ``profiles``: writes everyone's current audience membership from the profile store — one row per
   person, keyed by e-mail, no Salesforce Id — as of the end of the extracted hour;
2. ``resolve_ids``: finds each profile's Contact in the extracts (every published hour: the latest
   version of each record, deleted ones dropped) by e-mail, trimmed and case-insensitive
   (``sfcrm_examples/identity.py``, DuckDB on the Parquet files);
3. ``activate``: syncs the memberships into those Contacts against the sync state, as the daily
   Contacts DAG does (statuses derived, only changes sent). A profile whose address no Contact has is
   rejected as ``MISSING_IDENTITY`` and kept in the rejected-rows file;
4. ``summary``: logs the counts, including how many profiles matched and how many matched several
   Contacts (duplicates worth cleaning up in Salesforce).

Prerequisites:

- Those of ``example_sfcrm_activate_contacts``: connections ``sfcrm_default``, ``sfcrm_profile_store``
  and ``sfcrm_sync_state``, the audience fields, the pool ``sfcrm_api``, the Variable ``sfcrm_work_dir``.
- ``example_sfcrm_extract_contacts_leads`` running, and its Variable ``sfcrm_lake`` (read here too).
  The e-mail join reads the lake and the work dir with DuckDB: both local paths (a shared volume with
  several workers).

Triggered by hand (no Asset event), a run syncs the memberships as of its logical date.
"""

from __future__ import annotations

import logging

from airflow.sdk import dag, task
from sfcrm_examples.daily_activation import MAX_WORKERS, SFCRM_POOL, START_DATE, SYNC_STATE_CONN_ID
from sfcrm_examples.locations import DEFAULT_LAKE
from sfcrm_examples.queries import CONTACT_MEMBERSHIP_BY_EMAIL_SQL

from airflow_provider_sfcrm.assets import extract_alias
from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator

log = logging.getLogger(__name__)

SFCRM_CONN_ID = "sfcrm_default"
PROFILE_STORE_CONN_ID = "sfcrm_profile_store"
# The store's audience → the Mapping ID of its status field on Contact.
AUDIENCES = {"high_value": "crm_1_seg", "cart_abandoners": "crm_2_seg", "newsletter": "crm_3_seg"}
FIELD_MAPPING = {"salesforce_id": "Id", "first_name": "FirstName", "last_name": "LastName"}
LAKE = f"{{{{ var.value.get('sfcrm_lake', '{DEFAULT_LAKE}') }}}}"


@dag(
    # After every extract of Contacts through sfcrm_default.
    schedule=[extract_alias(SFCRM_CONN_ID, "Contact")],
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["sfcrm", "example"],
)
def example_sfcrm_activate_contacts_by_email():
    @task
    def profiles(triggering_asset_events=None, logical_date=None, dag=None) -> dict:
        """Everyone's membership as of the extracted hour's end (or the logical date), to Parquet."""
        from datetime import datetime

        from airflow.sdk import Connection
        from sfcrm_examples.profile_store import format_timestamp
        from sfcrm_examples.segments import extract_membership, interval_dir

        ends = [
            datetime.fromisoformat(event.extra["interval_end"])
            for events in (triggering_asset_events or {}).values()
            for event in events
            if event.extra.get("interval_end")
        ]
        as_of = max(ends, default=logical_date)
        # Keyed by the as-of time: a rerun for the same extract rewrites its own files only.
        files = interval_dir(dag.dag_id, as_of, as_of)
        output = files / "profiles.parquet"
        store = Connection.get(PROFILE_STORE_CONN_ID).get_hook()
        counts = extract_membership(
            store,
            CONTACT_MEMBERSHIP_BY_EMAIL_SQL,
            {"as_of": format_timestamp(as_of)},
            output,
            audiences=AUDIENCES,
        )
        log.info("%d profiles, memberships as of %s", counts["people"], as_of)
        return {"files": str(files), "profiles_path": str(output), "as_of": as_of.isoformat()}

    @task
    def resolve_ids(profiles: dict, lake: str) -> dict:
        """Each profile's Contact Id, by e-mail, from the Contact extracts published so far."""
        from pathlib import Path

        from sfcrm_examples.identity import resolve_salesforce_ids

        # DuckDB reads the lake and the work dir directly: both are local paths here (see the README).
        segment = Path(profiles["files"], "segment.parquet")
        resolution = resolve_salesforce_ids(
            profiles["profiles_path"], {"Contact": Path(lake, "salesforce", "Contact")}, segment
        )
        log.info("Profiles matched by e-mail: %s", resolution.to_dict())
        return {
            **profiles,
            "segment_path": str(segment),
            "rejected_rows_path": str(Path(profiles["files"], "rejected.parquet")),
            "stale_rows_path": str(Path(profiles["files"], "stale.parquet")),
            "resolution": resolution.to_dict(),
        }

    resolved = resolve_ids(profiles(), LAKE)

    activate = SalesforceSegmentExportOperator(
        task_id="activate",
        sfcrm_conn_id=SFCRM_CONN_ID,
        sobject="Contact",
        segment_path="{{ ti.xcom_pull(task_ids='resolve_ids')['segment_path'] }}",
        rejected_rows_path="{{ ti.xcom_pull(task_ids='resolve_ids')['rejected_rows_path'] }}",
        stale_rows_path="{{ ti.xcom_pull(task_ids='resolve_ids')['stale_rows_path'] }}",
        as_of="{{ ti.xcom_pull(task_ids='resolve_ids')['as_of'] }}",
        field_mapping=FIELD_MAPPING,
        # The membership query names each audience's true/false column aud_<audience>.
        audiences={f"aud_{audience}": mapping_id for audience, mapping_id in AUDIENCES.items()},
        operation="update",
        sync_state=SYNC_STATE_CONN_ID,
        pool=SFCRM_POOL,
        max_workers=MAX_WORKERS,
        # Profiles no Contact has an address of are expected; more than half would mean a broken extract.
        max_rejected_ratio=0.5,
    )

    @task
    def summary(result: dict, resolved: dict) -> dict:
        """Log what the sync did and what the e-mail join found, and keep it with the run's files."""
        import json

        from airflow.sdk import ObjectStoragePath

        log.info(
            "Contacts by e-mail: %d of %d profiles matched (%d matched several Contacts); %d written, "
            "%d unchanged, %d stale, %d rejected %s, %d API calls",
            resolved["resolution"]["contact"],
            resolved["resolution"]["profiles"],
            resolved["resolution"]["ambiguous"],
            result["written"],
            result["unchanged"],
            result["stale"],
            result["rejected"],
            result["rejected_by_code"],
            result["api_calls"],
        )
        summary = {**result, "resolution": resolved["resolution"]}
        target = ObjectStoragePath(resolved["files"]) / "summary.json"
        target.write_text(json.dumps(summary, indent=2, sort_keys=True))
        return summary

    resolved >> activate
    summary(activate.output, resolved)


example_sfcrm_activate_contacts_by_email()
