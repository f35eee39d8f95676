"""A Celery worker dies (SIGKILL, with everything it forked) while syncing a shard: Airflow retries the
shard on the other worker and the org ends exact — nothing lost, nothing duplicated.

The shard's first try stops mid-write; its heartbeats stop with it, the scheduler declares the task
lost (``task_instance_heartbeat_timeout``, 30 s here) and the retry runs on the surviving worker.
The sync state kept every write the dead try saw confirmed, so the retry sends only the rest: what
the dead try had written and recorded is ``unchanged``, and only the requests in flight at the kill
(written by the org, never recorded) are sent again — by Id, so written again, not twice. The kill
takes every shard the worker was running, not only the one watched: each dead try may have left its
own in-flight requests unrecorded.
"""

from __future__ import annotations

import signal
from datetime import datetime, timezone

import pytest

from e2e import processes
from e2e.assertions import assert_counts_add_up, assert_final_state
from e2e.deployment import WORKERS
from e2e.org import scenario, sharded_example_limits

SHARDED = "example_sfcrm_activate_sharded"
# One run per DAG and logical date: the sharded-pool scenario takes the 15th.
AS_OF = datetime(2026, 1, 14, tzinfo=timezone.utc)
PARTS = 4
SHARD_TASK = "sync_shard"
# At most this many records in flight per shard: max_workers requests of a full batch each.
BATCH_SIZE = 200
SLOW_ORG = {"latency_ms": 300, "per_record_latency_ms": 40}


@pytest.fixture(scope="module")
def org(deployment, api):
    with scenario("killed", deployment, api, dags=[SHARDED], profiles=12_000) as org:
        org.sandbox.start(**SLOW_ORG)  # counters start afresh: every write counted is the DAG's
        yield org
    for worker in WORKERS:  # bring the killed worker back for the scenarios that follow
        if worker not in deployment.components:
            deployment.start_component(worker)


def _shards(api, run_id: str) -> list[dict]:
    return [ti for ti in api.task_instances(SHARDED, run_id) if ti["task_id"] == SHARD_TASK]


def test_a_shard_lost_with_its_worker_is_retried_elsewhere_and_the_org_is_exact(deployment, api, org):
    expected = org.expected_after_syncs("Contact", [AS_OF])
    run_id = api.trigger(SHARDED, logical_date=AS_OF.isoformat(), conf={"shards": PARTS})

    def writing_shard() -> dict | None:
        """A running shard that has written, and recorded in the sync state, a few batches already."""
        confirmed = org.confirmed_by_shard(PARTS)  # the example maps shard i to map index i
        running = [
            ti
            for ti in _shards(api, run_id)
            if ti["state"] == "running"
            and ti["hostname"] in WORKERS
            and confirmed.get(ti["map_index"], 0) >= 400
        ]
        return running[0] if running else None

    victim = processes.wait_until(writing_shard, timeout=300, interval=1, what="a shard to be writing")
    worker = victim["hostname"]
    written_before_kill = org.stats()["records_written"]
    deployment.components[worker].kill_group(signal.SIGKILL)
    deployment.stop_component(worker)
    survivor = next(w for w in WORKERS if w != worker)

    api.wait_for_run(SHARDED, run_id, timeout=420)

    shard_tries = {
        ti["map_index"]: api.tries(SHARDED, run_id, SHARD_TASK, ti["map_index"])
        for ti in _shards(api, run_id)
    }
    tries = shard_tries[victim["map_index"]]
    assert [t["hostname"] for t in tries][:1] == [worker] and tries[0]["state"] != "success", (
        f"the shard's first try should have died on {worker}: {[(t['hostname'], t['state']) for t in tries]}"
    )
    final = max(tries, key=lambda t: t["try_number"])
    assert final["try_number"] >= 2 and final["state"] == "success" and final["hostname"] == survivor, (
        f"the shard should have been retried on {survivor}: "
        f"{[(t['try_number'], t['hostname'], t['state']) for t in tries]}"
    )

    # Every try that died: the kill takes every shard the worker ran, not only the watched one (and a
    # try the scheduler gave up on for a missed heartbeat counts too). Each can have left its writes in
    # flight unrecorded: at most max_workers requests (the hook's window), which its retry sends again.
    dead = [
        (i, t["try_number"], t["hostname"])
        for i, ts in shard_tries.items()
        for t in ts
        if t["state"] != "success"
    ]
    assert victim["map_index"] in {i for i, _, _ in dead}, f"the watched shard's try should have died: {dead}"

    merged = api.xcom(SHARDED, run_id, "merge")
    assert_counts_add_up(merged, org.segment_rows("Contact"))
    written_in_all = org.stats()["records_written"]
    # Every record the org wrote is in a summary as written (the tries that finished) or as unchanged
    # (the dead try's confirmed writes, which the retry skipped), except those in flight at the kill.
    resent = written_in_all - merged["written"] - merged["unchanged"]
    in_flight_bound = len(dead) * sharded_example_limits()[1] * BATCH_SIZE
    assert 0 < written_before_kill <= written_in_all and merged["unchanged"] > 0, (
        f"the kill should have interrupted the writes, and the retry skipped what the dead try had "
        f"recorded: {written_before_kill} records written before it, {written_in_all} in all, "
        f"{merged['written']} written and {merged['unchanged']} unchanged in the final summaries"
    )
    assert 0 <= resent <= in_flight_bound, (
        f"{resent} records were written twice: more than the {in_flight_bound} the {len(dead)} dead "
        f"tries {dead} can have had in flight (a retry resent what its dead try had already recorded), "
        f"or fewer than none"
    )
    assert_final_state(org, "Contact", expected)
