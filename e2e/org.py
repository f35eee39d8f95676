"""One scenario's world: a Salesforce org (its own sandbox), a profile store whose people exist in it,
and the Airflow connections, pool and work dir that point the example DAGs at them.

Each scenario gets a fresh one, so its assertions count only its own records and API calls, and
what it expects is computed from its own profile store: a person's status in an audience after
activating the intervals ``[start, end)`` is their latest change within them.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from e2e.airflow_api import AirflowApi
from e2e.deployment import DAGS, Deployment, clock_env
from e2e.sandbox import Sandbox

if str(DAGS) not in sys.path:
    sys.path.insert(0, str(DAGS))

from sfcrm_examples.profile_store import AUDIENCES, format_timestamp, generate_profile_store  # noqa: E402

SFCRM_CONN_ID = "sfcrm_default"
PROFILE_STORE_CONN_ID = "sfcrm_profile_store"
WORK_DIR_VARIABLE = "sfcrm_work_dir"
POOL = "sfcrm_api"
SETUP_DAG = "example_sfcrm_setup_fields"
STATUS_FIELDS = tuple(f"{a.mapping_id}__c" for a in AUDIENCES)
# The harness's own Airflow connection to the org (for seeding and SOQL), never seen by the deployment.
HARNESS_CONN_ID = "sfcrm_e2e_harness"


@dataclass
class ScenarioOrg:
    name: str
    root: Path
    sandbox: Sandbox
    store_path: Path
    work_dir: Path
    seeded: dict[str, int]

    # --- the org, read by SOQL --------------------------------------------------------------------

    def hook(self):
        from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

        os.environ[f"AIRFLOW_CONN_{HARNESS_CONN_ID.upper()}"] = json.dumps(
            {**self.sandbox.connection(), "extra": json.loads(self.sandbox.connection()["extra"])}
        )
        return SalesforceCrmHook(sfcrm_conn_id=HARNESS_CONN_ID)

    def records(self, sobject: str, fields: Iterable[str] = STATUS_FIELDS) -> list[dict[str, Any]]:
        """Every record of ``sobject`` with ``Id``, ``Email`` and ``fields``, by SOQL."""
        columns = ", ".join(["Id", "Email", *fields])
        rows = self.hook().query_all(f"SELECT {columns} FROM {sobject}")
        return [{k: v for k, v in row.items() if k != "attributes"} for row in rows]

    # --- what the profile store says the org should hold --------------------------------------------

    def people(self, sobject: str) -> dict[str, str]:
        """``{salesforce_id: profile_id}`` of the store's people who exist in the org as ``sobject``."""
        with sqlite3.connect(self.store_path) as db:
            rows = db.execute(
                "SELECT salesforce_id, profile_id FROM profiles"
                " WHERE crm_object = ? AND salesforce_id IS NOT NULL",
                (sobject,),
            ).fetchall()
        db.close()
        return dict(rows)

    def changed_people(self, sobject: str, start: datetime | None, end: datetime) -> int:
        """People of ``sobject`` (in the org or not) who changed in ``[start, end)``: the segment's rows."""
        query = """
            SELECT COUNT(DISTINCT p.profile_id)
            FROM audience_memberships AS m JOIN profiles AS p ON p.profile_id = m.profile_id
            WHERE p.crm_object = ? AND m.changed_at >= ? AND m.changed_at < ?
        """
        since = format_timestamp(start) if start is not None else ""
        with sqlite3.connect(self.store_path) as db:
            (count,) = db.execute(query, (sobject, since, format_timestamp(end))).fetchone()
        db.close()
        return count

    def expected_statuses(self, sobject: str, start: datetime | None, end: datetime) -> dict[str, dict]:
        """``{salesforce_id: {status field: status or None}}`` after activating ``[start, end)`` in order.

        ``start=None`` means since the beginning (a full re-sync as of ``end``).
        """
        audience_field = {a.audience_id: f"{a.mapping_id}__c" for a in AUDIENCES}
        expected = {sf_id: dict.fromkeys(STATUS_FIELDS) for sf_id in self.people(sobject)}
        query = """
            SELECT p.salesforce_id, m.audience_id, m.status
            FROM audience_memberships AS m JOIN profiles AS p ON p.profile_id = m.profile_id
            WHERE p.crm_object = ? AND p.salesforce_id IS NOT NULL AND m.changed_at >= ? AND m.changed_at < ?
            ORDER BY m.changed_at
        """
        since = format_timestamp(start) if start is not None else ""
        with sqlite3.connect(self.store_path) as db:
            for sf_id, audience_id, status in db.execute(query, (sobject, since, format_timestamp(end))):
                expected[sf_id][audience_field[audience_id]] = status  # later changes overwrite
        db.close()
        return expected

    def stats(self) -> dict[str, Any]:
        return self.sandbox.stats()


def create_org(
    name: str,
    deployment: Deployment,
    api: AirflowApi,
    *,
    profiles: int,
    window_start: datetime | None = None,
    window_days: int = 14,
    pool_slots: int = 6,
    clock_offset_s: int = 0,
    with_fields: bool = True,
) -> ScenarioOrg:
    """Start the scenario's sandbox, generate and seed its profile store, point Airflow at both.

    ``with_fields``: run ``example_sfcrm_setup_fields`` too, so that the audience fields exist.
    """
    root = deployment.root / "scenarios" / name
    root.mkdir(parents=True)
    env = dict(deployment.base_env())
    if clock_offset_s:
        # The sandbox signs its certificate "now": on a shifted clock it must share the shift.
        env.update(clock_env(clock_offset_s))
    sandbox = Sandbox(f"sandbox-{name}", root / "sandbox", deployment.log_dir, env).start()
    store = root / "profile_store.sqlite"
    options: dict[str, Any] = {"profiles": profiles}
    if window_start is not None:
        options.update(start=window_start, days=window_days)
    generate_profile_store(store, **options)
    org = ScenarioOrg(name, root, sandbox, store, root / "work", {})

    from sfcrm_examples.seed_org import seed_org

    org.seeded = seed_org(store, hook=org.hook())
    api.put_connection(SFCRM_CONN_ID, sandbox.connection())
    api.put_connection(PROFILE_STORE_CONN_ID, {"conn_type": "sqlite", "host": str(store)})
    api.put_variable(WORK_DIR_VARIABLE, str(org.work_dir))
    api.put_pool(POOL, pool_slots)
    if with_fields:
        run_setup_fields(api)
    return org


@contextlib.contextmanager
def scenario(
    name: str, deployment: Deployment, api: AirflowApi, *, dags: Sequence[str] = (), **options: Any
) -> Iterator[ScenarioOrg]:
    """:func:`create_org`, with ``dags`` unpaused for the scenario; afterwards they are paused again
    (a later scenario unpauses what it runs) and the org's sandbox stops."""
    org = create_org(name, deployment, api, **options)
    for dag_id in dags:
        api.wait_for_dag(dag_id)
        api.set_paused(dag_id, False)
    try:
        yield org
    finally:
        for dag_id in dags:
            api.set_paused(dag_id, True)
        org.sandbox.stop()


def run_setup_fields(api: AirflowApi) -> None:
    """Create the audience fields on Contact and Lead the way a user does: run the setup DAG."""
    api.wait_for_dag(SETUP_DAG)
    api.set_paused(SETUP_DAG, False)
    api.wait_for_run(SETUP_DAG, api.trigger(SETUP_DAG, logical_date=None), timeout=240)
