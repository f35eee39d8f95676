"""DAG runs in which a deferrable SalesforceCustomFieldSensor waits while another thread creates fields."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
from tests.conftest import create_audience_field, set_connection_env, unique_mapping_id

DAG_FOLDER = Path(__file__).resolve().parent / "custom_field_dag_folder"
ACCEPTANCE_DAG_ID = "sfcrm_custom_field_sensor_acceptance"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"


class FieldCreator(threading.Thread):
    """Creates the fields (Tooling API, then an Edit grant) ``delay`` s after the sensor's first poke.

    The clock starts at the first describe the sandbox sees, not when the run is launched: Airflow's
    start-up (CLI imports, in-process execution API) takes 15-40 s on a busy 2-core machine, so a clock
    started with the process would create the fields before the sensor ever looked, and test nothing.
    """

    def __init__(self, org, delay: float, sobject: str, mapping_ids: list[str]) -> None:
        super().__init__(name="create-audience-fields", daemon=True)
        self.org, self.delay, self.sobject, self.mapping_ids = org, delay, sobject, mapping_ids
        self.describes_before = org.calls_to("describe")
        self.first_poke_at: float | None = None
        self.created_at: float | None = None
        self.stop_waiting = threading.Event()

    def run(self) -> None:
        while self.org.calls_to("describe") == self.describes_before:
            if self.stop_waiting.wait(0.2):
                return
        self.first_poke_at = time.time()
        time.sleep(self.delay)
        hook = SalesforceCrmHook()
        for mapping_id in self.mapping_ids:
            create_audience_field(hook, self.sobject, mapping_id, "long", access="edit")
        self.created_at = time.time()

    def finish(self) -> None:
        self.stop_waiting.set()
        self.join(timeout=60)


@pytest.fixture
def acceptance_dag(airflow_db, monkeypatch):
    """Load the acceptance DAG for ``dag.test()``, with its own bundle so that it can be serialised."""

    def load(mapping_ids: list[str]):
        monkeypatch.setenv("SFCRM_TEST_MAPPING_IDS", ",".join(mapping_ids))
        monkeypatch.setenv("SFCRM_TEST_POKE_INTERVAL", "1")
        # Ours first, so that dag.test() finds the DAG without parsing the example DAGs; the default
        # bundle stays configured so that nothing else loses its bundle while this test runs.
        bundles = [
            {
                "name": "sfcrm-custom-field-tests",
                "classpath": LOCAL_BUNDLE,
                "kwargs": {"path": str(DAG_FOLDER)},
            },
            {"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {}},
        ]
        monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
        from airflow.dag_processing.dagbag import DagBag

        dagbag = DagBag(dag_folder=str(DAG_FOLDER))
        assert not dagbag.import_errors, dagbag.import_errors
        return dagbag.dags[ACCEPTANCE_DAG_ID]

    return load


@pytest.mark.timeout(300)
def test_dag_test_runs_the_trigger_inline_until_fields_exist(
    acceptance_dag, sandbox, sfcrm_conn, caplog, capfd
):
    mapping_ids = [unique_mapping_id("dag"), unique_mapping_id("dag")]
    dag = acceptance_dag(mapping_ids)
    creator = FieldCreator(sandbox, 2, "Contact", mapping_ids)
    creator.start()
    try:
        dag_run = dag.test()
    finally:
        creator.finish()
    finished = time.time()

    assert dag_run.state == "success"
    assert {ti.task_id: ti.state for ti in dag_run.get_task_instances()} == {
        "wait_for_audience_fields": "success",
        "summarise": "success",
    }
    assert creator.created_at is not None and creator.created_at - creator.first_poke_at >= 2
    assert finished > creator.created_at
    output = caplog.text + capfd.readouterr().out  # Airflow logs to either, depending on its setup
    assert "running trigger in line" in output  # it deferred, and the trigger did the waiting
    assert sandbox.calls_to("describe") >= creator.describes_before + 2


@pytest.mark.timeout(180)
def test_dag_test_fails_when_a_field_has_the_wrong_type(acceptance_dag, sfcrm_conn):
    mapping_id = unique_mapping_id("dag_bad")
    create_audience_field(SalesforceCrmHook(), "Contact", mapping_id, "textarea")

    dag_run = acceptance_dag([mapping_id]).test()

    assert dag_run.state == "failed"
    assert dag_run.get_task_instance("wait_for_audience_fields").state == "failed"


@pytest.mark.timeout(480)
def test_acceptance_airflow_dags_test_cli_succeeds_after_fields_appear_10s_in(
    airflow_db, sandbox_factory, monkeypatch
):
    """Acceptance (a): ``airflow dags test`` with a deferrable sensor for crm_1_seg and crm_2_seg."""
    org = sandbox_factory()  # a fresh org: crm_1_seg / crm_2_seg must not exist yet
    set_connection_env(monkeypatch, "sfcrm_default", org)  # for the thread that creates the fields
    env = {
        **os.environ,
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAG_FOLDER),
        "AIRFLOW_CONN_SFCRM_DEFAULT": json.dumps(org.connection_dict()),
        "SFCRM_TEST_MAPPING_IDS": "crm_1_seg,crm_2_seg",
        "SFCRM_TEST_POKE_INTERVAL": "1",
    }
    airflow = Path(sys.executable).with_name("airflow")
    creator = FieldCreator(org, 10, "Contact", ["crm_1_seg", "crm_2_seg"])
    creator.start()
    try:
        result = subprocess.run(
            [str(airflow), "dags", "test", ACCEPTANCE_DAG_ID],
            env=env,
            capture_output=True,
            text=True,
            timeout=400,
        )
    finally:
        creator.finish()
    finished = time.time()
    output = result.stdout + result.stderr

    assert result.returncode == 0, output[-4000:]
    assert creator.created_at is not None, "the sensor never poked"
    assert creator.created_at - creator.first_poke_at >= 10
    assert finished > creator.created_at  # the run ended only after the fields appeared
    assert "running trigger in line" in output  # it deferred, and the trigger did the waiting
    assert "Still waiting for 2 audience fields on Contact" in output
    assert "audience field crm_1_seg: ok (Text Area (Long))" in output
    assert "audience field crm_2_seg: ok (Text Area (Long))" in output
    for secret in (org.password, org.security_token, org.client_secret):
        assert secret not in output
