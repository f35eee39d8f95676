"""The daily activation pipeline shared by the Contacts and Leads example DAGs.

extract → map_columns → check_fields → activate → summary, built inside the caller's ``@dag``
function so that each example file keeps only what differs between them (the object, the
extraction query and its kind, the field mapping) and what a user adapts to their own warehouse.

Both sync with a sync state (the SQL connection ``sfcrm_sync_state``): only what changed since the
last confirmed write is sent, a re-run of a day sends nothing, and a day older than what was
already synced (a backfill after newer days) overwrites nothing.

Light on purpose: DAG files import this module while being parsed, so pandas and pyarrow stay
inside the tasks (``sfcrm_examples.segments`` is imported when a task runs, never before).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.sdk import CronTriggerTimetable, Param, task

from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator
from airflow_provider_sfcrm.sensors.custom_fields import SalesforceCustomFieldSensor

log = logging.getLogger(__name__)

# Daily, each run covering the day before its logical date (the run of D processes D-1).
DAILY = CronTriggerTimetable("0 0 * * *", timezone="UTC", interval=timedelta(days=1))
START_DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)

# Shared by every task writing to the org: pool slots x max_workers <= Salesforce's 25 concurrent
# long-running requests (see example_sfcrm_activate_sharded).
SFCRM_POOL = "sfcrm_api"
MAX_WORKERS = 4
#: The Airflow SQL connection holding the sync state (SQLite on one machine, PostgreSQL when
#: workers are distributed).
SYNC_STATE_CONN_ID = "sfcrm_sync_state"
#: The two kinds of segments: everyone's current membership, or the interval's status changes.
MEMBERSHIP, CHANGES = "membership", "changes"


def activation_params(audiences: Mapping[str, str]) -> dict[str, Param]:
    """The trigger form: a dry run switch, the API to write with and the audiences to activate."""
    return {
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Validate every row and plan the writes, but write nothing to Salesforce.",
        ),
        "api": Param(
            "auto",
            type="string",
            enum=["auto", "rest", "bulk"],
            title="API",
            description=(
                "auto: Bulk API 2.0 when more than 10,000 rows are to be sent (with the sync state: "
                "the people whose values changed), else REST (sObject Collections); rest or bulk to "
                "choose."
            ),
        ),
        "audiences": Param(
            list(audiences),
            type="array",
            title="Audiences",
            description="The audiences to activate; the others' fields are left as they are.",
            examples=list(audiences),
            minItems=1,
        ),
    }


def activate_daily(
    *,
    sobject: str,
    segment_sql: str,
    field_mapping: Mapping[str, str],
    audiences: Mapping[str, str],
    profile_store_conn_id: str,
    sfcrm_conn_id: str,
    segment: str = MEMBERSHIP,
    max_rejected_ratio: float = 0.05,
) -> Any:
    """Add the five tasks to the DAG being defined; returns the summary task's output.

    :param sobject: ``Contact`` or ``Lead``.
    :param segment_sql: the extraction query. :data:`MEMBERSHIP`: everyone, one row per person with
        a 0/1 column ``aud_<audience>`` per audience, as of ``:as_of`` (the interval's end).
        :data:`CHANGES`: one row per person and audience whose status changed within
        ``[:interval_start, :interval_end)``, ordered by ``profile_id``.
    :param field_mapping: segment column → Salesforce field (the identity column → ``Id``).
    :param audiences: the store's audience → Mapping ID.
    :param segment: :data:`MEMBERSHIP` or :data:`CHANGES`.
    """
    if segment not in (MEMBERSHIP, CHANGES):
        raise ValueError(f"segment must be {MEMBERSHIP!r} or {CHANGES!r}, not {segment!r}")

    @task
    def extract(data_interval_start=None, data_interval_end=None, params=None, dag=None) -> dict:
        """Write the segment (memberships as of the interval's end, or its changes) to Parquet."""
        from airflow.sdk import Connection

        from sfcrm_examples.profile_store import format_timestamp
        from sfcrm_examples.segments import extract_membership, extract_segment, interval_dir

        chosen = list(params["audiences"])
        unknown = sorted(set(chosen) - set(audiences))
        if unknown:
            raise ValueError(f"unknown audiences {unknown}; choose among {list(audiences)}")
        files = interval_dir(dag.dag_id, data_interval_start, data_interval_end)
        store = Connection.get(profile_store_conn_id).get_hook()
        output = files / "segment.parquet"
        if segment == MEMBERSHIP:
            as_of = {"as_of": format_timestamp(data_interval_end)}
            counts = extract_membership(store, segment_sql, as_of, output, audiences=chosen)
            log.info("%d people, memberships as of %s", counts["people"], data_interval_end)
        else:
            interval = {
                "interval_start": format_timestamp(data_interval_start),
                "interval_end": format_timestamp(data_interval_end),
            }
            counts = extract_segment(store, segment_sql, interval, output, key="profile_id", audiences=chosen)
            log.info(
                "%d people changed from %s to %s", counts["people"], data_interval_start, data_interval_end
            )
        return {
            "segment_path": str(files / "segment.parquet"),
            "rejected_rows_path": str(files / "rejected.parquet"),
            "stale_rows_path": str(files / "stale.parquet"),
            "audiences": chosen,
            **counts,
        }

    @task(multiple_outputs=True)
    def map_columns(segment: dict) -> dict:
        """Say which column goes to which field, for the audiences chosen at trigger time."""
        from sfcrm_examples.segments import status_column

        status_columns = {status_column(a): audiences[a] for a in segment["audiences"]}
        return {
            "segment_path": segment["segment_path"],
            "rejected_rows_path": segment["rejected_rows_path"],
            "stale_rows_path": segment["stale_rows_path"],
            "field_mapping": dict(field_mapping),
            "audiences": status_columns,
            "mapping_ids": sorted(set(status_columns.values())),
        }

    mapped = map_columns(extract())

    check_fields = SalesforceCustomFieldSensor(
        task_id="check_fields",
        sfcrm_conn_id=sfcrm_conn_id,
        sobject=sobject,
        mapping_ids=mapped["mapping_ids"],
        deferrable=True,
        poke_interval=300,
        timeout=int(timedelta(hours=6).total_seconds()),
    )

    activate = SalesforceSegmentExportOperator(
        task_id="activate",
        sfcrm_conn_id=sfcrm_conn_id,
        sobject=sobject,
        segment_path=mapped["segment_path"],
        field_mapping=mapped["field_mapping"],
        audiences=mapped["audiences"],
        operation="update",
        pool=SFCRM_POOL,
        max_workers=MAX_WORKERS,
        # True would run the org's assignment rules on every Lead update and may reassign owners.
        auto_assign=False,
        rejected_rows_path=mapped["rejected_rows_path"],
        # People of the store that never reached Salesforce have no Id: a few are expected.
        max_rejected_ratio=max_rejected_ratio,
        dry_run="{{ params.dry_run }}",
        # While a Bulk job runs the task waits in the triggerer, holding no worker slot.
        api="{{ params.api }}",
        # Only what changed since the last confirmed write is sent; as of the interval's end.
        sync_state=SYNC_STATE_CONN_ID,
        stale_rows_path=mapped["stale_rows_path"],
    )

    @task
    def summary(result: dict, data_interval_start=None, data_interval_end=None, dag=None) -> dict:
        """Log the activation's counts and keep them with the interval's files."""
        import json

        from sfcrm_examples.segments import interval_dir

        log.info(
            "%s: %d of %d people written (%d created, %d updated), %d unchanged, %d stale, %d rejected %s, "
            "%d exited after vanishing from the segment, %d API calls, dry run: %s",
            result["sobject"],
            result["written"],
            result["total"],
            result["created"],
            result["updated"],
            result["unchanged"],
            result["stale"],
            result["rejected"],
            result["rejected_by_code"],
            result["vanished"],
            result["api_calls"],
            result["dry_run"],
        )
        if result["rejected"]:
            log.info("Rejected rows, with their reasons: %s", result["rejected_rows_path"])
        target = interval_dir(dag.dag_id, data_interval_start, data_interval_end) / "summary.json"
        target.write_text(json.dumps(result, indent=2, sort_keys=True))
        return result

    check_fields >> activate
    return summary(activate.output)
