"""The daily Contacts activation, scheduled by the scheduler — not triggered — for two days running.

Waiting for two midnights is not an option, so the deployment is restarted with scheduling on and
every component's clock set one day back (libfaketime; the metadata database keeps the real time).
Unpaused, the DAG gets the run of the latest tick at once (``catchup=False``) — *yesterday*'s
midnight on the shifted clock, covering the day before. Its next tick, today's real midnight, has
already passed for the database, so the scheduler creates it as soon as the first run is done:
two consecutive data intervals, each activated by a scheduled run, in order.

Runs last (marker ``shifted_clock``): the shifted clock stays until the deployment stops.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from e2e import processes
from e2e.assertions import assert_counts_add_up, assert_final_state
from e2e.org import scenario

CONTACTS = "example_sfcrm_activate_contacts"
DAY = timedelta(days=1)
CLOCK_OFFSET_S = -int(DAY.total_seconds())


@pytest.fixture(scope="module")
def ticks() -> tuple[datetime, datetime]:
    """The two ticks the scheduler will run: yesterday's and today's midnight (UTC, real time)."""
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - DAY, today


@pytest.fixture(scope="module")
def org(deployment, api, ticks):
    deployment.restart(clock_offset_s=CLOCK_OFFSET_S, use_job_schedule=True)
    first, second = ticks
    # Two weeks of membership changes ending at the second tick: nothing happens after it.
    with scenario(
        "scheduled",
        deployment,
        api,
        profiles=800,
        window_start=second - 14 * DAY,
        window_days=14,
        clock_offset_s=CLOCK_OFFSET_S,
    ) as org:
        api.wait_for_dag(CONTACTS)
        yield org
        api.set_paused(CONTACTS, True)


@pytest.mark.shifted_clock
def test_two_scheduled_days_in_a_row(api, org, ticks):
    earlier = {run["dag_run_id"] for run in api.dag_runs(CONTACTS)}  # other scenarios' runs
    api.set_paused(CONTACTS, False)

    def new_runs() -> list[dict]:
        runs = [run for run in api.dag_runs(CONTACTS) if run["dag_run_id"] not in earlier]
        return sorted(runs, key=lambda run: run["data_interval_end"])

    def scheduled() -> list[dict]:
        return [run for run in new_runs() if run["run_type"] == "scheduled"]

    processes.wait_until(
        lambda: len(done := [r for r in scheduled() if r["state"] in ("success", "failed")]) >= 2 and done,
        timeout=420,
        interval=3,
        what="two scheduled runs to finish",
    )
    runs = scheduled()[:2]
    assert [run["state"] for run in runs] == ["success", "success"], {
        run["dag_run_id"]: api.task_states(CONTACTS, run["dag_run_id"]) for run in runs
    }
    intervals = [
        (datetime.fromisoformat(run["data_interval_start"]), datetime.fromisoformat(run["data_interval_end"]))
        for run in runs
    ]
    first, second = ticks
    assert intervals == [(first - DAY, first), (first, second)], f"scheduled intervals: {intervals}"
    assert all(run["run_type"] == "scheduled" for run in new_runs()), "the scheduler alone started runs"

    summaries = [api.xcom(CONTACTS, run["dag_run_id"], "activate") for run in runs]
    for summary in summaries:
        assert_counts_add_up(summary, org.segment_rows("Contact"))
    assert summaries[0]["written"] > 0 and summaries[1]["unchanged"] > 0

    assert_final_state(org, "Contact", org.expected_after_syncs("Contact", [first, second]))
