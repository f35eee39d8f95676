"""Scale out: activate a segment of millions of people as parallel parts, within Salesforce's limits.

extract → split into Parquet parts → check fields → activate each part (dynamic task mapping,
under a pool) → merge the parts' summaries and rejected rows.

The segment here is a **full re-sync** of Contacts: every person's latest status in each audience
as of the run's logical date (an initial load, or repairing an org that drifted) — the kind of
segment that runs to millions of rows. ``split_segment`` cuts it into parts of ``rows_per_part``
rows; ``activate_part`` is mapped over the parts with ``.partial(...).expand(...)``, so the Celery
or Kubernetes executor spreads them over the workers, and a failed part is retried on its own.

**Why a pool.** Salesforce refuses more than 25 concurrent *long-running* requests (over 20
seconds) per org; sObject Collections writes of 200 records can take that long on a busy org.
Each part runs ``MAX_WORKERS`` concurrent requests, and the pool caps how many parts run at once:

    pool slots × max_workers ≤ 25        here: 6 × 4 = 24

Give every task that writes to the same org this pool (the daily activation DAGs do), and size
it for the org, not for the number of workers: adding workers then adds throughput up to the cap
and never more concurrent requests than Salesforce allows.

Prerequisites:

- Everything ``example_sfcrm_activate_contacts`` needs (connections ``sfcrm_default`` and
  ``sfcrm_profile_store``, the Mapping ID fields, a triggerer, a ``sfcrm_work_dir`` every worker
  can read — object storage when workers run on several machines).
- The pool: ``airflow pools set sfcrm_api 6 "Salesforce: slots x max_workers <= 25"``.

Counts add up over the parts (``total == written + rejected``); the run fails after merging when
the rejected share of the whole segment exceeds ``MAX_REJECTED_RATIO``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from airflow.sdk import Param, dag, task
from sfcrm_examples.daily_activation import MAX_WORKERS, SFCRM_POOL

from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator
from airflow_provider_sfcrm.sensors.custom_fields import SalesforceCustomFieldSensor

log = logging.getLogger(__name__)

SFCRM_CONN_ID = "sfcrm_default"
PROFILE_STORE_CONN_ID = "sfcrm_profile_store"

# Salesforce allows 25 concurrent long-running requests per org: POOL_SLOTS * MAX_WORKERS <= 25
# (the pool and MAX_WORKERS are the daily activation DAGs' own: every write to the org shares them).
POOL_SLOTS = 6
assert POOL_SLOTS * MAX_WORKERS <= 25, "the pool would let the parts exceed Salesforce's 25 requests"

MAX_REJECTED_RATIO = 0.05

# Everyone's latest status in each audience as of the run's logical date (:as_of).
SNAPSHOT_SQL = """
WITH latest AS (
    SELECT profile_id, audience_id, status,
           ROW_NUMBER() OVER (PARTITION BY profile_id, audience_id ORDER BY changed_at DESC) AS newest_first
    FROM audience_memberships
    WHERE changed_at < :as_of
)
SELECT p.profile_id, p.salesforce_id, p.first_name, p.last_name, p.email, l.audience_id, l.status
FROM latest AS l
JOIN profiles AS p ON p.profile_id = l.profile_id
WHERE l.newest_first = 1 AND p.crm_object = 'Contact'
ORDER BY p.profile_id
"""

FIELD_MAPPING = {"salesforce_id": "Id", "first_name": "FirstName", "last_name": "LastName", "email": "Email"}
AUDIENCES = {"high_value": "crm_1_seg", "cart_abandoners": "crm_2_seg", "newsletter": "crm_3_seg"}
# sfcrm_examples.segments.status_column's names, spelled out: DAG parsing must not import pandas.
STATUS_COLUMNS = {f"aud_{audience}": mapping_id for audience, mapping_id in AUDIENCES.items()}


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    max_active_runs=1,
    params={
        "rows_per_part": Param(
            250_000,
            type="integer",
            minimum=1,
            title="Rows per part",
            description="People per mapped task; more parts spread wider but each costs a task start.",
        ),
        "dry_run": Param(False, type="boolean", title="Dry run", description="Validate and plan only."),
    },
    doc_md=__doc__,
    tags=["sfcrm", "example"],
)
def example_sfcrm_activate_sharded():
    @task
    def split_segment(logical_date=None, params=None, dag=None) -> list[str]:
        """Extract the snapshot to Parquet, then cut it into parts of ``rows_per_part`` people."""
        from airflow.sdk import Connection
        from sfcrm_examples.profile_store import format_timestamp
        from sfcrm_examples.segments import extract_segment, interval_dir, split_segment

        files = interval_dir(dag.dag_id, logical_date, logical_date)
        counts = extract_segment(
            Connection.get(PROFILE_STORE_CONN_ID).get_hook(),
            SNAPSHOT_SQL,
            {"as_of": format_timestamp(logical_date)},
            files / "segment.parquet",
            key="profile_id",
            audiences=list(AUDIENCES),
        )
        parts = split_segment(files / "segment.parquet", files / "parts", int(params["rows_per_part"]))
        log.info("%d people in %d part(s)", counts["people"], len(parts))
        return parts

    split = split_segment()

    check_fields = SalesforceCustomFieldSensor(
        task_id="check_fields",
        sfcrm_conn_id=SFCRM_CONN_ID,
        sobject="Contact",
        mapping_ids=sorted(set(AUDIENCES.values())),
        deferrable=True,
        poke_interval=300,
        timeout=6 * 3600,
    )

    activate_part = SalesforceSegmentExportOperator.partial(
        task_id="activate_part",
        sfcrm_conn_id=SFCRM_CONN_ID,
        sobject="Contact",
        field_mapping=FIELD_MAPPING,
        audiences=STATUS_COLUMNS,
        operation="update",
        max_workers=MAX_WORKERS,
        pool=SFCRM_POOL,
        pool_slots=1,
        # <files>/parts/part-00003.parquet -> <files>/rejected/part-00003.parquet, on the shared work dir.
        rejected_rows_path="{{ task.segment_path | replace('/parts/', '/rejected/') }}",
        # A part never fails on its rejected rows: the merge judges the whole segment.
        max_rejected_ratio=1.0,
        dry_run="{{ params.dry_run }}",
        # A part is idempotent (updates by Id) and never fails on its rejected rows, so a retry
        # only repeats a part lost to a crashed worker or an outage that outlasted the hook's retries.
        retries=2,
    ).expand(segment_path=split)

    @task
    def merge(summaries: list[dict], logical_date=None, dag=None) -> dict:
        """Add up the parts' summaries, gather their rejected rows into one file, judge the ratio."""
        import json
        from collections import Counter

        from sfcrm_examples.segments import interval_dir, open_for_write, read_parquet_files

        summaries = list(summaries)
        files = interval_dir(dag.dag_id, logical_date, logical_date)
        merged: dict = {
            key: sum(s[key] for s in summaries) for key in ("total", "written", "created", "updated")
        }
        merged["rejected"] = sum(s["rejected"] for s in summaries)
        merged["api_calls"] = sum(s["api_calls"] for s in summaries)
        merged["rejected_by_code"] = dict(sum((Counter(s["rejected_by_code"]) for s in summaries), Counter()))
        merged["parts"] = len(summaries)
        merged["dry_run"] = any(s["dry_run"] for s in summaries)
        merged["slowest_part_s"] = max((s["duration_s"] for s in summaries), default=0.0)
        rejected = read_parquet_files(s["rejected_rows_path"] for s in summaries if s["rejected"])
        merged["rejected_rows_path"] = None
        if rejected is not None:
            target = files / "rejected.parquet"
            with open_for_write(target) as sink:
                rejected.to_parquet(sink, index=False)
            merged["rejected_rows_path"] = str(target)
        (files / "summary.json").write_text(json.dumps(merged, indent=2, sort_keys=True))
        log.info("Merged %d part(s): %s", len(summaries), merged)
        if merged["total"] and merged["rejected"] / merged["total"] > MAX_REJECTED_RATIO:
            raise RuntimeError(
                f"{merged['rejected']} of {merged['total']} rows rejected, more than "
                f"{MAX_REJECTED_RATIO:.0%}; see {merged['rejected_rows_path']}"
            )
        return merged

    split >> check_fields >> activate_part
    merge(activate_part.output)


example_sfcrm_activate_sharded()
