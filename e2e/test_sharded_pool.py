"""The sharded DAG spreads its shards over both Celery workers, and the pool holds Salesforce's bound.

Salesforce allows 25 concurrent long-running requests per org. Each part sends ``MAX_WORKERS``
requests at once, and the ``sfcrm_api`` pool caps how many shards run at once, so the org never
sees more than ``pool slots × MAX_WORKERS`` requests in flight. The sandbox counts the most it ever
served at once (``max_in_flight``); its writes are slowed down so that parts overlap as they would
on a busy org. The two workers offer 8 task slots: without the pool's cap (25 slots) the shards would
put more than 24 requests in flight — ``SFCRM_E2E_SHARDED_POOL_SLOTS=25 make e2e`` shows this
assertion failing.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest

from e2e.assertions import assert_counts_add_up, assert_final_state
from e2e.deployment import WORKERS
from e2e.org import scenario, sharded_example_limits

SHARDED = "example_sfcrm_activate_sharded"
AS_OF = datetime(2026, 1, 15, tzinfo=timezone.utc)
PARTS = 8
SHARD_TASK = "sync_shard"
# Slow writes (per record) so that a shard writes for half a minute: shards started seconds apart overlap.
SLOW_ORG = {"latency_ms": 300, "per_record_latency_ms": 40}


@pytest.fixture(scope="module")
def org(deployment, api):
    pool_slots = int(os.environ.get("SFCRM_E2E_SHARDED_POOL_SLOTS", sharded_example_limits()[0]))
    with scenario("sharded", deployment, api, dags=[SHARDED], profiles=60_000, pool_slots=pool_slots) as org:
        org.sandbox.start(**SLOW_ORG)  # same port and org; the counters (max_in_flight) start afresh
        yield org


def test_parts_spread_over_both_workers_within_the_pool_bound(api, org):
    pool_slots, max_workers = sharded_example_limits()
    expected = org.expected_after_syncs("Contact", [AS_OF])

    run_id = api.trigger(SHARDED, logical_date=AS_OF.isoformat(), conf={"shards": PARTS})
    api.wait_for_run(SHARDED, run_id, timeout=600)

    parts = [ti for ti in api.task_instances(SHARDED, run_id) if ti["task_id"] == SHARD_TASK]
    assert len(parts) == PARTS, f"expected {PARTS} shards, got {len(parts)}"
    hosts = {ti["hostname"] for ti in parts}
    assert set(WORKERS) <= hosts, f"every worker should take shards; shards ran on {sorted(hosts)}"

    in_flight = org.stats()["max_in_flight"]
    bound = pool_slots * max_workers
    slots = api.call("GET", "/pools/sfcrm_api")["slots"]
    print(f"\nsharded: {PARTS} shards on {sorted(hosts)}, max_in_flight={in_flight}, pool slots={slots}")
    assert in_flight <= bound <= 25, (
        f"the org saw {in_flight} requests at once, more than the example's pool ({pool_slots} slots) x "
        f"max_workers ({max_workers}) = {bound} allows (Salesforce refuses more than 25); "
        f"the pool sfcrm_api has {slots} slots"
    )
    assert in_flight > max_workers, (
        f"at most {in_flight} requests were in flight: the shards never overlapped, "
        "so the bound proves nothing"
    )

    merged = api.xcom(SHARDED, run_id, "merge")
    assert merged["shards"] == PARTS
    assert_counts_add_up(merged, org.segment_rows("Contact"))
    assert_final_state(org, "Contact", expected)
