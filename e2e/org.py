"""One scenario's world: a Salesforce org (its own sandbox), a profile store whose people exist in it,
a sync state (a PostgreSQL database of its own: the workers are distributed), and the Airflow
connections, pool and work dir that point the example DAGs at them.

Each scenario gets a fresh one, so its assertions count only its own records and API calls, and
what it expects is computed from its own profile store by ``tests.profile_store_oracle``: the
examples sync each person's *membership* as of a moment, so a person's status in an audience after
syncs as of ``t1, t2, …`` follows the reference semantics (``realized`` on entering, ``existing``
while staying, ``exited`` on leaving).
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
from e2e.services import PostgresDatabase
from tests.profile_store_oracle import expected_after_syncs

if str(DAGS) not in sys.path:
    sys.path.insert(0, str(DAGS))

from sfcrm_examples.profile_store import AUDIENCES, generate_profile_store  # noqa: E402

SFCRM_CONN_ID = "sfcrm_default"
PROFILE_STORE_CONN_ID = "sfcrm_profile_store"
SYNC_STATE_CONN_ID = "sfcrm_sync_state"
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
    sync_state: PostgresDatabase
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

    def segment_rows(self, sobject: str) -> int:
        """The rows of a membership segment of ``sobject``: every person of the store, with an Id or not."""
        with contextlib.closing(sqlite3.connect(self.store_path)) as db:
            (count,) = db.execute("SELECT COUNT(*) FROM profiles WHERE crm_object = ?", (sobject,)).fetchone()
        return count

    def expected_after_syncs(self, sobject: str, as_ofs: Sequence[datetime]) -> dict[str, dict]:
        """``{salesforce_id: {status field: status or None}}`` after membership syncs as of ``as_ofs``,
        in that order."""
        audience_field = {a.audience_id: f"{a.mapping_id}__c" for a in AUDIENCES}
        salesforce_id = {profile_id: sf_id for sf_id, profile_id in self.people(sobject).items()}
        expected = {sf_id: dict.fromkeys(STATUS_FIELDS) for sf_id in salesforce_id.values()}
        for (profile_id, audience_id), status in expected_after_syncs(self.store_path, list(as_ofs)).items():
            if profile_id in salesforce_id:  # people of another object, or never in Salesforce: not here
                expected[salesforce_id[profile_id]][audience_field[audience_id]] = status
        return expected

    # --- the sync state ------------------------------------------------------------------------------

    def state_statuses(self, sobject: str) -> dict[str, dict[str, str]]:
        """``{record_id: {status field: status}}``: the latest status the sync state confirmed written."""
        rows = self.sync_state.query(
            """
            SELECT DISTINCT ON (h.record_id, h.field) h.record_id, h.field, h.status
            FROM sfcrm_sync_history AS h JOIN sfcrm_sync_scopes AS s ON s.scope_id = h.scope_id
            WHERE s.sobject = %s AND h.record_id IS NOT NULL
            ORDER BY h.record_id, h.field, h.as_of DESC, h.written_at DESC
            """,
            (sobject,),
        )
        statuses: dict[str, dict[str, str]] = {}
        for record_id, field_name, status in rows:
            statuses.setdefault(record_id, {})[field_name] = status
        return statuses

    def confirmed_by_shard(self, shard_count: int) -> dict[int, int]:
        """``{shard index: people}`` whose writes the sync state holds as confirmed, per shard of
        ``shard_count`` (the state keeps each person's identity hash; the shard is it modulo the count).
        Empty until the first sync created the tables."""
        import psycopg2

        try:
            rows = self.sync_state.query(
                "SELECT key_hash %% %s, COUNT(*) FROM sfcrm_sync_state GROUP BY 1", (shard_count,)
            )
        except psycopg2.errors.UndefinedTable:
            return {}
        return dict(rows)

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
    """Start the scenario's sandbox, generate and seed its profile store, create its sync state's
    database, point Airflow at the three.

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
    sync_state = PostgresDatabase.create(state_prefix(deployment.metadata_db))
    org = ScenarioOrg(name, root, sandbox, store, root / "work", sync_state, {})

    from sfcrm_examples.seed_org import seed_org

    org.seeded = seed_org(store, hook=org.hook())
    api.put_connection(SFCRM_CONN_ID, sandbox.connection())
    api.put_connection(PROFILE_STORE_CONN_ID, {"conn_type": "sqlite", "host": str(store)})
    api.put_connection(SYNC_STATE_CONN_ID, sync_state.airflow_connection())
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
    (a later scenario unpauses what it runs), the org's sandbox stops and its sync state is dropped."""
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
        org.sync_state.drop()


def sharded_example_limits() -> tuple[int, int]:
    """The pool size the sharded example documents, and the concurrent requests of each shard."""
    from example_sfcrm_activate_sharded import POOL_SLOTS
    from sfcrm_examples.daily_activation import MAX_WORKERS

    return POOL_SLOTS, MAX_WORKERS


def state_prefix(metadata_db: PostgresDatabase) -> str:
    """The name prefix of this run's sync-state databases (the clean-up drops any left behind)."""
    return f"{metadata_db.name}_state"


def run_setup_fields(api: AirflowApi) -> None:
    """Create the audience fields on Contact and Lead the way a user does: run the setup DAG."""
    api.wait_for_dag(SETUP_DAG)
    api.set_paused(SETUP_DAG, False)
    api.wait_for_run(SETUP_DAG, api.trigger(SETUP_DAG, logical_date=None), timeout=240)
