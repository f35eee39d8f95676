"""The sharded DAG spreads its parts over both Celery workers, and the pool holds Salesforce's bound.

Salesforce allows 25 concurrent long-running requests per org. Each part sends ``MAX_WORKERS``
requests at once, and the ``sfcrm_api`` pool caps how many parts run at once, so the org never
sees more than ``pool slots × MAX_WORKERS`` requests in flight. The sandbox counts the most it ever
served at once (``max_in_flight``); its writes are slowed down so that parts overlap as they would
on a busy org. The two workers offer 8 task slots: without the pool's cap (25 slots) the parts would
put more than 24 requests in flight — ``SFCRM_E2E_SHARDED_POOL_SLOTS=25 make e2e`` shows this
assertion failing.
"""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone

import pytest

from e2e.assertions import assert_final_state
from e2e.deployment import DAGS, WORKERS
from e2e.org import scenario

SHARDED = "example_sfcrm_activate_sharded"
AS_OF = datetime(2026, 1, 15, tzinfo=timezone.utc)
PARTS = 8
# Slow writes (per record) so that a part writes for half a minute: parts started seconds apart overlap.
SLOW_ORG = {"latency_ms": 300, "per_record_latency_ms": 40}


def _dag_constants() -> tuple[int, int]:
    """The pool size the sharded example documents, and the concurrent requests of each part."""
    sys.path.insert(0, str(DAGS))
    from example_sfcrm_activate_sharded import POOL_SLOTS
    from sfcrm_examples.daily_activation import MAX_WORKERS

    return POOL_SLOTS, MAX_WORKERS


@pytest.fixture(scope="module")
def org(deployment, api):
    pool_slots = int(os.environ.get("SFCRM_E2E_SHARDED_POOL_SLOTS", _dag_constants()[0]))
    with scenario("sharded", deployment, api, dags=[SHARDED], profiles=60_000, pool_slots=pool_slots) as org:
        org.sandbox.start(**SLOW_ORG)  # same port and org; the counters (max_in_flight) start afresh
        yield org


def test_parts_spread_over_both_workers_within_the_pool_bound(api, org):
    pool_slots, max_workers = _dag_constants()
    contacts = org.expected_statuses("Contact", None, AS_OF)
    rows_per_part = -(-org.changed_people("Contact", None, AS_OF) // PARTS)

    run_id = api.trigger(SHARDED, logical_date=AS_OF.isoformat(), conf={"rows_per_part": rows_per_part})
    api.wait_for_run(SHARDED, run_id, timeout=600)

    parts = [ti for ti in api.task_instances(SHARDED, run_id) if ti["task_id"] == "activate_part"]
    assert len(parts) == PARTS, f"expected {PARTS} parts of {rows_per_part} people, got {len(parts)}"
    hosts = {ti["hostname"] for ti in parts}
    assert set(WORKERS) <= hosts, f"every worker should take parts; parts ran on {sorted(hosts)}"

    in_flight = org.stats()["max_in_flight"]
    bound = pool_slots * max_workers
    slots = api.call("GET", "/pools/sfcrm_api")["slots"]
    print(f"\nsharded: {PARTS} parts on {sorted(hosts)}, max_in_flight={in_flight}, pool slots={slots}")
    assert in_flight <= bound <= 25, (
        f"the org saw {in_flight} requests at once, more than the example's pool ({pool_slots} slots) x "
        f"max_workers ({max_workers}) = {bound} allows (Salesforce refuses more than 25); "
        f"the pool sfcrm_api has {slots} slots"
    )
    assert in_flight > max_workers, (
        f"at most {in_flight} requests were in flight: the parts never overlapped, "
        "so the bound proves nothing"
    )

    merged = api.xcom(SHARDED, run_id, "merge")
    assert merged["parts"] == PARTS and merged["total"] == merged["written"] + merged["rejected"]
    assert_final_state(org, "Contact", contacts)
