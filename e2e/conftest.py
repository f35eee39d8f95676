"""Session fixtures of ``make e2e``: one deployment for all scenarios, torn down whatever happens.

The harness process itself only talks to the deployment (REST API, CLI) and to the scenarios' orgs
(SOQL); its own Airflow settings point at a throw-away home and never at the deployment's database.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import sys
import tempfile
from functools import partial
from pathlib import Path

_ROOT = Path(tempfile.mkdtemp(prefix="sfcrm-e2e-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = str(_ROOT / "harness-airflow")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
# The harness seeds orgs through the provider's hook: keep its info lines out of the test output.
os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")

import pytest  # noqa: E402

from e2e import processes  # noqa: E402
from e2e.airflow_api import AirflowApi  # noqa: E402
from e2e.deployment import Deployment  # noqa: E402
from e2e.org import state_prefix  # noqa: E402
from e2e.services import BrokerDatabase, PostgresDatabase, ServiceUnavailable  # noqa: E402

#: Scenarios that shift the deployment's clock run last (the shift stays until the end).
SHIFTED_CLOCK = "shifted_clock"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{SHIFTED_CLOCK}: restarts the deployment on a shifted clock")

    # `kill` or CI cancelling the run: unwind like Ctrl-C, so that every fixture's teardown runs.
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: item.get_closest_marker(SHIFTED_CLOCK) is not None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def deployment() -> Deployment:
    """PostgreSQL database + Redis database of this run, ``airflow db migrate``, every component."""
    try:
        metadata_db = PostgresDatabase.create()
    except ServiceUnavailable as exc:
        shutil.rmtree(_ROOT, ignore_errors=True)
        pytest.exit(str(exc), returncode=2)
    try:
        broker_db = BrokerDatabase.claim()
    except ServiceUnavailable as exc:
        metadata_db.drop()
        shutil.rmtree(_ROOT, ignore_errors=True)
        pytest.exit(str(exc), returncode=2)
    running = Deployment(_ROOT, metadata_db, broker_db)
    try:
        running.migrate()
        running.start()
        print(
            f"\ne2e deployment: api-server {running.base_url}, database {metadata_db.name}, "
            f"redis db {broker_db.number}, files {_ROOT}",
            file=sys.stderr,
        )
        yield running
    finally:
        _clean_up(running, metadata_db, broker_db)


def _clean_up(running: Deployment, metadata_db: PostgresDatabase, broker_db: BrokerDatabase) -> None:
    """Stop everything, drop the database, flush the Redis db, delete the files — each step whatever
    the others did, and deaf to a second Ctrl-C (a half-done clean-up would leave things behind)."""
    handlers = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        steps = (
            running.stop,
            processes.stop_all,
            partial(PostgresDatabase.drop_prefixed, state_prefix(metadata_db)),
            metadata_db.drop,
            broker_db.release,
        )
        for step in steps:
            try:
                step()
            except Exception as exc:  # report and go on: the remaining steps must still run
                print(f"e2e clean-up: {getattr(step, '__qualname__', step)} failed: {exc}", file=sys.stderr)
        shutil.rmtree(_ROOT, ignore_errors=True)
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


@pytest.fixture(scope="session")
def api(deployment: Deployment) -> AirflowApi:
    return AirflowApi(deployment.base_url)


@pytest.fixture(autouse=True)
def _component_logs_on_failure(request: pytest.FixtureRequest):
    """After a failed scenario, show the end of every component's log (the files go with the run)."""
    yield
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and "deployment" in request.fixturenames:
        deployment = request.getfixturevalue("deployment")
        print("\n" + deployment.log_tails(80), file=sys.stderr)
