"""Every file in dags/ parses: no import errors, the expected DAGs, and the properties they promise."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
EXPECTED_DAG_IDS = {
    "example_sfcrm_activate_contacts",
    "example_sfcrm_activate_leads",
    "example_sfcrm_setup_fields",
    "example_sfcrm_activate_sharded",
    "example_sfcrm_extract_contacts_leads",
    "example_sfcrm_activate_contacts_by_email",
    "example_sfcrm_publish_audience_events",
    "example_sfcrm_accounts_contacts",
}
DAILY_ACTIVATIONS = ("example_sfcrm_activate_contacts", "example_sfcrm_activate_leads")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER), known_pools={"default_pool", "sfcrm_api"})


def test_no_import_errors_or_warnings(dagbag):
    assert dagbag.import_errors == {}
    assert dagbag.captured_warnings == {}


def test_expected_dags(dagbag):
    assert set(dagbag.dag_ids) == EXPECTED_DAG_IDS


def test_every_example_file_holds_one_dag_and_a_docstring_with_prerequisites(dagbag):
    files = sorted(DAGS_FOLDER.glob("example_*.py"))
    assert {f.stem for f in files} == EXPECTED_DAG_IDS
    for dag_id in EXPECTED_DAG_IDS:
        dag = dagbag.dags[dag_id]
        assert Path(dag.fileloc).stem == dag_id
        assert "Prerequisites" in (dag.doc_md or ""), f"{dag_id} does not list its prerequisites"


@pytest.mark.parametrize("dag_id", DAILY_ACTIVATIONS)
def test_daily_activations_run_one_interval_at_a_time(dagbag, dag_id: str):
    dag = dagbag.dags[dag_id]
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert set(dag.params) >= {"dry_run", "audiences"}
    assert dag.params["dry_run"] is False
    assert [t.task_id for t in dag.topological_sort()] == [
        "extract",
        "map_columns",
        "check_fields",
        "activate",
        "summary",
    ]
    assert dag.get_task("check_fields").deferrable is True


def test_writes_share_one_pool_sized_for_salesforce(dagbag):
    constants = runpy.run_path(str(DAGS_FOLDER / "example_sfcrm_activate_sharded.py"))
    sharded = dagbag.dags["example_sfcrm_activate_sharded"].get_task("sync_shard")
    assert sharded.partial_kwargs["pool"] == constants["SFCRM_POOL"]
    # Salesforce: at most 25 concurrent long-running requests per org.
    assert constants["POOL_SLOTS"] * sharded.partial_kwargs["max_workers"] <= 25
    for dag_id in DAILY_ACTIVATIONS:
        activate = dagbag.dags[dag_id].get_task("activate")
        assert activate.pool == constants["SFCRM_POOL"]
        assert activate.max_workers <= sharded.partial_kwargs["max_workers"]


def test_dag_files_leave_their_heavy_helpers_to_the_tasks():
    """DAG parsing stays fast: pandas, pyarrow and the helpers that use them load inside tasks only."""
    code = (
        "import sys, runpy, glob\n"
        f"sys.path.insert(0, {str(DAGS_FOLDER)!r})\n"
        f"for path in sorted(glob.glob({str(DAGS_FOLDER / 'example_*.py')!r})):\n"
        "    runpy.run_path(path)\n"
        "heavy = {'pandas', 'pyarrow', 'duckdb', 'sfcrm_examples.segments', 'sfcrm_examples.profile_store',"
        " 'sfcrm_examples.identity', 'airflow_provider_sfcrm.extraction.output'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
