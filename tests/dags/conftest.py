"""Fixtures for running the example DAGs end to end (``dag.test()``) against a sandbox of their own.

The example DAGs get their own sandbox so that fields other tests create on the session sandbox
(wrong types on purpose, for instance) cannot get in their way.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sfcrm_sandbox.process import RunningSandbox, start_sandbox
from sfcrm_sandbox.testing import TEST_PLATFORM_EVENT

from tests.conftest import set_connection_env

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
if str(DAGS_FOLDER) not in sys.path:  # the DAGs import their helpers as ``sfcrm_examples``
    sys.path.insert(0, str(DAGS_FOLDER))

# Small enough to keep each DAG run to seconds, big enough to need several 200-record batches.
TEST_PROFILES = 600
AUDIENCE_FIELDS = {
    "high_value": "crm_1_seg__c",
    "cart_abandoners": "crm_2_seg__c",
    "newsletter": "crm_3_seg__c",
}


@pytest.fixture(scope="package")
def dags_sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    with start_sandbox(
        tmp_path_factory.mktemp("dags-sandbox"), platform_event=[TEST_PLATFORM_EVENT]
    ) as running:
        yield running


def fresh_dag(dag_id: str):
    """The DAG parsed anew: ``dag.test()`` runs tasks in this process, and a run's ``conf`` lands in
    the DAG object's params, so a reused object would carry one run's params into the next."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS_FOLDER / f"{dag_id}.py"), known_pools={"default_pool", "sfcrm_api"})
    assert bag.import_errors == {}
    return bag.dags[dag_id]


@pytest.fixture(scope="package")
def sfcrm_pool(airflow_db: Path) -> str:
    from airflow.models.pool import Pool

    Pool.create_or_update_pool(
        "sfcrm_api", 6, "Salesforce: slots x max_workers <= 25", include_deferred=False
    )
    return "sfcrm_api"


@dataclass
class ExampleOrg:
    """A freshly seeded org and profile store, with the connections the example DAGs use."""

    sandbox: RunningSandbox
    store: Path
    work_dir: Path
    hook: Any
    run: Callable[..., dict]

    def statuses(self, sobject: str) -> dict[str, dict[str, str | None]]:
        """``{Salesforce Id: {audience_id: status field value}}`` of every record, read by SOQL."""
        fields = ", ".join(AUDIENCE_FIELDS.values())
        records = self.hook.query_all(f"SELECT Id, {fields} FROM {sobject}")
        return {r["Id"]: {a: r.get(f) for a, f in AUDIENCE_FIELDS.items()} for r in records}

    def people(self, sobject: str) -> dict[str, str | None]:
        """``{profile_id: salesforce_id}`` of the store's people of ``sobject``."""
        with sqlite3.connect(self.store) as db:
            rows = db.execute(
                "SELECT profile_id, salesforce_id FROM profiles WHERE crm_object = ?", (sobject,)
            )
            return dict(rows.fetchall())


@pytest.fixture(scope="package")
def audience_fields(dags_sandbox: RunningSandbox, airflow_db: Path) -> dict:
    """Run ``example_sfcrm_setup_fields`` once on the package's sandbox; return the run's state."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        set_connection_env(monkeypatch, "sfcrm_default", dags_sandbox)
        run = fresh_dag("example_sfcrm_setup_fields").test(
            logical_date=datetime(2026, 1, 8, tzinfo=timezone.utc)
        )
    return {"state": str(run.state), "logical_date": run.logical_date}


@pytest.fixture
def example_org(
    dags_sandbox: RunningSandbox,
    audience_fields: dict,
    sfcrm_pool: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> ExampleOrg:
    """An emptied org, a new store (seeded into it) and the connections and Variable the DAGs read."""
    from sfcrm_examples.profile_store import generate_profile_store
    from sfcrm_examples.seed_org import seed_org

    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

    dags_sandbox.reset()
    store = tmp_path / "profile_store.sqlite"
    generate_profile_store(store, profiles=TEST_PROFILES)
    set_connection_env(monkeypatch, "sfcrm_default", dags_sandbox)
    monkeypatch.setenv(
        "AIRFLOW_CONN_SFCRM_PROFILE_STORE", json.dumps({"conn_type": "sqlite", "host": str(store)})
    )
    monkeypatch.setenv("AIRFLOW_VAR_SFCRM_WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setenv(
        "AIRFLOW_CONN_SFCRM_SYNC_STATE",
        json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "sync_state.sqlite")}),
    )
    hook = SalesforceCrmHook(sfcrm_conn_id="sfcrm_default")
    seed_org(store, hook=hook)

    def run(dag_id: str, logical_date: datetime, **conf: Any) -> dict:
        """``dag.test()`` one run; return the run state and the ``summary.json`` it left."""
        dag_run = fresh_dag(dag_id).test(logical_date=logical_date, run_conf=conf or None)
        start, end = dag_run.data_interval_start, dag_run.data_interval_end
        files = tmp_path / "work" / dag_id / f"{start:%Y%m%dT%H%M%S}--{end:%Y%m%dT%H%M%S}"
        summary = (
            json.loads((files / "summary.json").read_text()) if (files / "summary.json").exists() else None
        )
        return {"state": str(dag_run.state), "summary": summary, "files": files, "interval": (start, end)}

    return ExampleOrg(sandbox=dags_sandbox, store=store, work_dir=tmp_path / "work", hook=hook, run=run)
