"""A Celery worker dies (SIGKILL, with everything it forked) while writing a part: Airflow retries the
part on the other worker and the org ends exact — nothing lost, nothing duplicated.

The part's first try stops mid-write; its heartbeats stop with it, the scheduler declares the task
lost (``task_instance_heartbeat_timeout``, 30 s here) and the retry runs on the surviving worker.
Writes update Contacts by Id, so the rows the dead try had already written are written again, not twice.
"""

from __future__ import annotations

import signal
from datetime import datetime, timezone

import pytest

from e2e import processes
from e2e.assertions import assert_final_state
from e2e.deployment import WORKERS
from e2e.org import scenario

SHARDED = "example_sfcrm_activate_sharded"
# One run per DAG and logical date: the sharded-pool scenario takes the 15th.
AS_OF = datetime(2026, 1, 14, tzinfo=timezone.utc)
PARTS = 4
SLOW_ORG = {"latency_ms": 300, "per_record_latency_ms": 40}


@pytest.fixture(scope="module")
def org(deployment, api):
    with scenario("killed", deployment, api, dags=[SHARDED], profiles=12_000) as org:
        org.sandbox.start(**SLOW_ORG)  # counters start afresh: every write counted is the DAG's
        yield org
    for worker in WORKERS:  # bring the killed worker back for the scenarios that follow
        if worker not in deployment.components:
            deployment.start_component(worker)


def _parts(api, run_id: str) -> list[dict]:
    return [ti for ti in api.task_instances(SHARDED, run_id) if ti["task_id"] == "activate_part"]


def test_a_part_lost_with_its_worker_is_retried_elsewhere_and_the_org_is_exact(deployment, api, org):
    segment_rows = org.changed_people("Contact", None, AS_OF)
    run_id = api.trigger(
        SHARDED, logical_date=AS_OF.isoformat(), conf={"rows_per_part": -(-segment_rows // PARTS)}
    )

    def writing_part() -> dict | None:
        """A part that is running while the org is receiving its writes."""
        if org.stats()["records_written"] < 400:
            return None
        running = [ti for ti in _parts(api, run_id) if ti["state"] == "running" and ti["hostname"] in WORKERS]
        return running[0] if running else None

    victim = processes.wait_until(writing_part, timeout=300, interval=1, what="a part to be writing")
    worker = victim["hostname"]
    written_before_kill = org.stats()["records_written"]
    deployment.components[worker].kill_group(signal.SIGKILL)
    deployment.stop_component(worker)
    survivor = next(w for w in WORKERS if w != worker)

    api.wait_for_run(SHARDED, run_id, timeout=420)

    tries = api.tries(SHARDED, run_id, "activate_part", victim["map_index"])
    assert [t["hostname"] for t in tries][:1] == [worker] and tries[0]["state"] != "success", (
        f"the part's first try should have died on {worker}: {[(t['hostname'], t['state']) for t in tries]}"
    )
    final = max(tries, key=lambda t: t["try_number"])
    assert final["try_number"] >= 2 and final["state"] == "success" and final["hostname"] == survivor, (
        f"the part should have been retried on {survivor}: "
        f"{[(t['try_number'], t['hostname'], t['state']) for t in tries]}"
    )

    merged = api.xcom(SHARDED, run_id, "merge")
    assert merged["total"] == segment_rows == merged["written"] + merged["rejected"]
    written_in_all = org.stats()["records_written"]
    assert 0 < written_before_kill < merged["written"] < written_in_all, (
        f"the kill should have interrupted the writes: {written_before_kill} records written before it, "
        f"{written_in_all} in all, {merged['written']} in the final summaries"
    )
    assert_final_state(org, "Contact", org.expected_statuses("Contact", None, AS_OF))
