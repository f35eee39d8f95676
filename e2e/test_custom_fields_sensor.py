"""The Contacts activation waits in the triggerer for its Mapping ID fields, and resumes once they exist.

The org starts without the audience fields. The activation's ``check_fields`` sensor defers: the
task leaves its worker and the triggerer polls. ``example_sfcrm_setup_fields`` then creates the
fields, and the activation resumes and writes the memberships as of the day's end.

The example polls every five minutes (``poke_interval=300``). Instead of waiting that long, the
scenario restarts the triggerer once the fields exist: a new triggerer picks the trigger up from the
metadata database and checks at once — which also proves that a deferred task survives a triggerer
restart, as it must during a deploy.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from e2e import processes
from e2e.assertions import assert_counts_add_up, assert_final_state
from e2e.org import SETUP_DAG as SETUP
from e2e.org import STATUS_FIELDS, scenario

CONTACTS = "example_sfcrm_activate_contacts"
DAY_END = datetime(2026, 1, 8, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def org(deployment, api):
    with scenario("fields", deployment, api, dags=[CONTACTS, SETUP], profiles=800, with_fields=False) as org:
        yield org


def _check_fields(api, run_id: str) -> dict:
    (ti,) = [ti for ti in api.task_instances(CONTACTS, run_id) if ti["task_id"] == "check_fields"]
    return ti


def test_sensor_defers_until_the_fields_exist_then_the_activation_resumes(deployment, api, org):
    run_id = api.trigger(CONTACTS, logical_date=DAY_END.isoformat())

    deferred = processes.wait_until(
        lambda: (ti := _check_fields(api, run_id))["state"] == "deferred" and ti,
        timeout=240,
        interval=2,
        what="check_fields to defer",
    )
    assert deferred["trigger"] and "SalesforceCustomFieldTrigger" in deferred["trigger"]["classpath"]
    missing = {f["name"] for f in org.hook().describe_object("Contact", refresh=True)["fields"]}
    assert not missing & set(STATUS_FIELDS), "the audience fields must not exist while the sensor waits"
    assert api.dag_run(CONTACTS, run_id)["state"] == "running"

    # The fields are created only once the trigger has checked and found them missing: a triggerer
    # that picks the trigger up after they exist would rightly fire at once.
    processes.wait_until(
        lambda: "Still waiting for" in api.task_log(CONTACTS, run_id, "check_fields"),
        timeout=120,
        interval=2,
        what="the trigger's first check of the fields",
    )
    setup_run = api.trigger(SETUP, logical_date=None)
    api.wait_for_run(SETUP, setup_run, timeout=240)
    # Still deferred: nothing but the trigger looks at the org while the task waits.
    state = _check_fields(api, run_id)["state"]
    if state != "deferred":  # say why the trigger fired: its event shows in the resumed task's log
        processes.wait_until(
            lambda: _check_fields(api, run_id)["state"] in ("success", "failed", "up_for_retry"),
            timeout=120,
            interval=2,
            what="check_fields to end after its early resumption",
        )
        log = api.task_log(CONTACTS, run_id, "check_fields")
        raise AssertionError(f"check_fields left the triggerer early ({state}):\n{log[-6000:]}")

    deployment.stop_component("triggerer")
    deployment.start_component("triggerer")
    api.wait_for_run(CONTACTS, run_id, timeout=300)

    check = _check_fields(api, run_id)
    assert check["state"] == "success"
    assert check["try_number"] == 1, "the sensor resumed from its trigger; it was not retried"
    summary = api.xcom(CONTACTS, run_id, "activate")
    assert_counts_add_up(summary, org.segment_rows("Contact"))
    assert summary["written"] > 0 and not summary["dry_run"]

    assert_final_state(org, "Contact", org.expected_after_syncs("Contact", [DAY_END]))
