"""Scale out: sync a segment of millions of people as parallel shards, within Salesforce's limits.

extract → split into shards → check fields → sync each shard (dynamic task mapping, under a pool)
→ merge the shards' summaries and rejected rows.

The segment here is every Contact's **current membership** as of the run's logical date — the
kind of segment that runs to millions of rows — synced against the sync state (connection
``sfcrm_sync_state``, PostgreSQL when the workers are distributed): only what changed since the last
confirmed write is sent. ``split_segment`` cuts it into ``shards`` shards by a stable hash of each
person's Salesforce Id (``airflow_provider_sfcrm.sync.sharding.shard_numbers``); ``sync_shard`` is
mapped over them with ``.partial(...).expand_kwargs(...)``, so the Celery or Kubernetes executor
spreads them over the workers, and a failed shard is retried on its own.

**Why shards by hash.** Each shard owns its people *and their sync state*: a person who vanished
from the whole segment is in no shard's file, yet exactly one shard owns their state and exits
them — exits are decided over the whole segment, never per part — and concurrent shards never
write the same state rows. A shard given a row of another shard refuses to start, naming the row.
Keep ``shards`` the same from run to run (changing it is safe, but only between runs).

**Why a pool.** Salesforce refuses more than 25 concurrent *long-running* requests (over 20
seconds) per org; sObject Collections writes of 200 records can take that long on a busy org.
Each shard runs ``MAX_WORKERS`` concurrent requests, and the pool caps how many shards run at once:

    pool slots × max_workers ≤ 25        here: 6 × 4 = 24

Give every task that writes to the same org this pool (the daily activation DAGs do), and size
it for the org, not for the number of workers: adding workers then adds throughput up to the cap
and never more concurrent requests than Salesforce allows.

Prerequisites:

- Everything ``example_sfcrm_activate_contacts`` needs (connections ``sfcrm_default`` and
  ``sfcrm_profile_store``, the Mapping ID fields, a triggerer, a ``sfcrm_work_dir`` every worker
  can read — object storage when workers run on several machines).
- The pool: ``airflow pools set sfcrm_api 6 "Salesforce: slots x max_workers <= 25"``.

Counts add up over the shards (``total == written + rejected + filtered + unchanged + stale``); the run fails
after merging when the rejected share of the whole segment exceeds ``MAX_REJECTED_RATIO``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from airflow.sdk import Param, dag, task
from sfcrm_examples.daily_activation import MAX_WORKERS, SFCRM_POOL, SYNC_STATE_CONN_ID
from sfcrm_examples.queries import CONTACT_MEMBERSHIP_SQL

from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator
from airflow_provider_sfcrm.sensors.custom_fields import SalesforceCustomFieldSensor

log = logging.getLogger(__name__)

SFCRM_CONN_ID = "sfcrm_default"
PROFILE_STORE_CONN_ID = "sfcrm_profile_store"

# Salesforce allows 25 concurrent long-running requests per org: POOL_SLOTS * MAX_WORKERS <= 25
# (the pool and MAX_WORKERS are the daily activation DAGs' own: every write to the org shares them).
POOL_SLOTS = 6
assert POOL_SLOTS * MAX_WORKERS <= 25, "the pool would let the shards exceed Salesforce's 25 requests"

MAX_REJECTED_RATIO = 0.05

# Everyone's current membership as of the run's logical date (:as_of): one row per Contact, the
# example store's query (see example_sfcrm_activate_contacts for writing your own).
MEMBERSHIP_SQL = CONTACT_MEMBERSHIP_SQL

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
        "shards": Param(
            4,
            type="integer",
            minimum=1,
            title="Shards",
            description="Mapped tasks the segment is split into; more spread wider, each costs a task start.",
        ),
        "dry_run": Param(False, type="boolean", title="Dry run", description="Validate and plan only."),
    },
    doc_md=__doc__,
    tags=["sfcrm", "example"],
)
def example_sfcrm_activate_sharded():
    @task
    def split_segment(logical_date=None, params=None, dag=None) -> list[dict]:
        """Extract the memberships to Parquet, then cut them into ``shards`` shards by identity."""
        from airflow.sdk import Connection
        from sfcrm_examples.profile_store import format_timestamp
        from sfcrm_examples.segments import extract_membership, interval_dir, split_by_shard

        files = interval_dir(dag.dag_id, logical_date, logical_date)
        counts = extract_membership(
            Connection.get(PROFILE_STORE_CONN_ID).get_hook(),
            MEMBERSHIP_SQL,
            {"as_of": format_timestamp(logical_date)},
            files / "segment.parquet",
            audiences=list(AUDIENCES),
        )
        shards = split_by_shard(
            files / "segment.parquet", files / "parts", int(params["shards"]), "salesforce_id"
        )
        log.info("%d people in %d shard(s)", counts["people"], len(shards))
        return shards

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

    sync_shard = SalesforceSegmentExportOperator.partial(
        task_id="sync_shard",
        sfcrm_conn_id=SFCRM_CONN_ID,
        sobject="Contact",
        field_mapping=FIELD_MAPPING,
        audiences=STATUS_COLUMNS,
        operation="update",
        max_workers=MAX_WORKERS,
        pool=SFCRM_POOL,
        pool_slots=1,
        # <files>/parts/shard-003-of-004.parquet -> <files>/rejected/..., on the shared work dir.
        rejected_rows_path="{{ task.segment_path | replace('/parts/', '/rejected/') }}",
        stale_rows_path="{{ task.segment_path | replace('/parts/', '/stale/') }}",
        # A shard never fails on its rejected rows: the merge judges the whole segment.
        max_rejected_ratio=1.0,
        dry_run="{{ params.dry_run }}",
        # As of the run's logical date, the moment the memberships were read at.
        sync_state=SYNC_STATE_CONN_ID,
        as_of="{{ logical_date }}",
        # A shard records every confirmed write, so a retry (a crashed worker, an outage that
        # outlasted the hook's retries) sends only what is still to send.
        retries=2,
    ).expand_kwargs(split)

    @task
    def merge(summaries: list[dict], logical_date=None, dag=None) -> dict:
        """Add up the shards' summaries, gather their rejected rows into one file, judge the ratio."""
        import json
        from collections import Counter

        from sfcrm_examples.segments import interval_dir, open_for_write, read_parquet_files

        summaries = list(summaries)
        files = interval_dir(dag.dag_id, logical_date, logical_date)
        merged: dict = {
            key: sum(s[key] for s in summaries)
            for key in (
                "total",
                "written",
                "created",
                "updated",
                "filtered",
                "unchanged",
                "stale",
                "vanished",
            )
        }
        merged["rejected"] = sum(s["rejected"] for s in summaries)
        merged["api_calls"] = sum(s["api_calls"] for s in summaries)
        merged["rejected_by_code"] = dict(sum((Counter(s["rejected_by_code"]) for s in summaries), Counter()))
        merged["shards"] = len(summaries)
        merged["dry_run"] = any(s["dry_run"] for s in summaries)
        merged["slowest_shard_s"] = max((s["duration_s"] for s in summaries), default=0.0)
        rejected = read_parquet_files(s["rejected_rows_path"] for s in summaries if s["rejected"])
        merged["rejected_rows_path"] = None
        if rejected is not None:
            target = files / "rejected.parquet"
            with open_for_write(target) as sink:
                rejected.to_parquet(sink, index=False)
            merged["rejected_rows_path"] = str(target)
        (files / "summary.json").write_text(json.dumps(merged, indent=2, sort_keys=True))
        log.info("Merged %d shard(s): %s", len(summaries), merged)
        if merged["total"] and merged["rejected"] / merged["total"] > MAX_REJECTED_RATIO:
            raise RuntimeError(
                f"{merged['rejected']} of {merged['total']} rows rejected, more than "
                f"{MAX_REJECTED_RATIO:.0%}; see {merged['rejected_rows_path']}"
            )
        return merged

    split >> check_fields >> sync_shard
    merge(sync_shard.output)


example_sfcrm_activate_sharded()
