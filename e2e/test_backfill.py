"""``airflow backfill create`` over three days of the Contacts activation: the last day's statuses win.

The command is the README's: ``--max-active-runs 1`` keeps the days in order (the backfill does not
take the DAG's own ``max_active_runs``: without the option the three days run at once). Each run
syncs the memberships as of its interval's end against the sync state, so a person who stayed in an
audience over the days ends ``existing``, one who left ``exited`` — what three syncs in order give.
Had the days landed newest first, the older ones would have been stale and the newest one alone
would show (members ``realized``): the scenario checks that it can tell the two apart.

For this timetable a backfill run's logical date is the *start* of its interval, while its run id
carries the end (``backfill__2026-01-05`` covers 4 → 5 January): ``--from-date 2026-01-05 --to-date
2026-01-07`` selects the runs by that end, three days covering 4 → 7 January.
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from e2e import processes
from e2e.assertions import assert_counts_add_up, assert_final_state
from e2e.org import scenario

CONTACTS = "example_sfcrm_activate_contacts"
FROM_DATE, TO_DATE = "2026-01-05", "2026-01-07"
FIRST_DAY = datetime(2026, 1, 4, tzinfo=timezone.utc)  # the first interval's start
DAYS = 3


@pytest.fixture(scope="module")
def org(deployment, api):
    with scenario("backfill", deployment, api, dags=[CONTACTS], profiles=1500) as org:
        yield org


def test_backfill_over_three_days_leaves_the_last_days_statuses(deployment, api, org):
    processes.run(
        "backfill-create",
        [
            str(Path(sys.executable).with_name("airflow")),
            *("backfill", "create", "--dag-id", CONTACTS),
            *("--from-date", FROM_DATE, "--to-date", TO_DATE, "--max-active-runs", "1"),
        ],
        env=deployment.component_env(),
        log_dir=deployment.log_dir,
        timeout=180,
    )

    def backfill_runs() -> list[dict]:
        return [run for run in api.dag_runs(CONTACTS) if run["run_type"] == "backfill"]

    processes.wait_until(
        lambda: (
            len(backfill_runs()) == DAYS and all(r["state"] in ("success", "failed") for r in backfill_runs())
        ),
        timeout=420,
        interval=3,
        what=f"{DAYS} backfill runs of {CONTACTS} to finish",
    )
    runs = sorted(backfill_runs(), key=lambda run: run["data_interval_start"])
    assert [run["state"] for run in runs] == ["success"] * DAYS, {
        run["dag_run_id"]: api.task_states(CONTACTS, run["dag_run_id"]) for run in runs
    }
    ends = [datetime.fromisoformat(run["data_interval_end"]) for run in runs]
    assert ends == [FIRST_DAY + timedelta(days=n + 1) for n in range(DAYS)], (
        f"expected {DAYS} consecutive days from {FIRST_DAY:%Y-%m-%d}; runs: "
        f"{[(r['data_interval_start'], r['data_interval_end']) for r in runs]}"
    )
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert earlier["end_date"] <= later["start_date"], "max_active_runs=1 must keep the days in order"

    summaries = [api.xcom(CONTACTS, run["dag_run_id"], "activate") for run in runs]
    for summary in summaries:
        assert_counts_add_up(summary, org.segment_rows("Contact"))
    assert summaries[0]["written"] > 0
    assert all(s["unchanged"] > 0 and s["written"] < summaries[0]["written"] for s in summaries[1:]), (
        "after the first day only what changed is sent: "
        f"{[(s['written'], s['unchanged']) for s in summaries]} (written, unchanged) per day"
    )

    expected = org.expected_after_syncs("Contact", ends)
    newest_first = org.expected_after_syncs("Contact", ends[-1:])
    differing = sum(1 for sf_id in expected if expected[sf_id] != newest_first[sf_id])
    assert differing, "no one stayed in an audience over the days: the order would not show"
    assert_final_state(org, "Contact", expected)
