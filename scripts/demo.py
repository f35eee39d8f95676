"""``make demo``: sync audience memberships into Salesforce Contacts, day by day, end to end, offline.

1. generates the example profile store (SQLite, fixed seed) in ``.demo/``;
2. starts the Salesforce sandbox in the background and creates the store's people in it as
   Contacts and Leads, writing their new Salesforce Ids back into the store;
3. prepares an Airflow home of its own (``.demo/airflow``: ``airflow db migrate``, the ``sfcrm_api``
   pool) with the connections ``sfcrm_default`` (the sandbox), ``sfcrm_profile_store`` and
   ``sfcrm_sync_state`` (the sync state: a SQLite file) given as ``AIRFLOW_CONN_*`` variables;
4. ``airflow dags test example_sfcrm_setup_fields`` creates the audience fields;
5. ``airflow dags test example_sfcrm_activate_contacts`` four times: day 1 (everyone is written),
   day 2 (only the changes), day 2 again (nothing is written), then day 1 again — a backfill after
   day 2: its rows are stale and nothing is reverted — printing each run's counts and API calls;
6. prints a few Contacts read back from Salesforce by SOQL next to the store's memberships, and the
   status history's answer to "when did this person exit this audience"; stops the sandbox.

Each step's full output goes to ``.demo/logs/``. Needs nothing outside the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / ".demo"
DAGS = REPO / "dags"
CONTACTS_DAG = "example_sfcrm_activate_contacts"
POOL_SLOTS = "6"
SYNC_STATE = DEMO / "sync_state.sqlite"
# (what, logical date): each run syncs the memberships as of its logical date (its interval's end).
RUNS = (
    ("day 1: everyone", "2026-01-02"),
    ("day 2: only the changes", "2026-01-03"),
    ("day 2 again", "2026-01-03"),
    ("day 1 again (a backfill)", "2026-01-02"),
)

# Airflow reads its home when first imported: set everything before any import of it.
os.environ["AIRFLOW_HOME"] = str(DEMO / "airflow")
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(DAGS)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW_VAR_SFCRM_WORK_DIR"] = str(DEMO / "work")
# This process prints its own summary: keep Airflow's info logs for the commands' log files.
QUIET = {"AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING"}
os.environ.update(QUIET)
sys.path.insert(0, str(DAGS))
sys.path.insert(0, str(REPO))

from sfcrm_examples.profile_store import AUDIENCES, generate_profile_store  # noqa: E402

_started = time.monotonic()


def step(message: str) -> None:
    print(f"[{time.monotonic() - _started:5.1f}s] {message}", flush=True)


def airflow(*args: str, log_name: str) -> None:
    """Run the Airflow CLI of this virtualenv; keep its output in .demo/logs, show it on failure."""
    log_path = DEMO / "logs" / f"{log_name}.log"
    with log_path.open("w") as log:
        result = subprocess.run(
            [str(Path(sys.executable).with_name("airflow")), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={k: v for k, v in os.environ.items() if k not in QUIET},
        )
    if result.returncode != 0:
        print(log_path.read_text()[-6000:], file=sys.stderr)
        raise SystemExit(
            f"`airflow {' '.join(args)}` failed (exit {result.returncode}); full log: {log_path}"
        )


def interval_dir(logical_date: str) -> Path:
    """Where the run of ``logical_date`` keeps its files: it covers the day before."""
    end = date.fromisoformat(logical_date)
    return DEMO / "work" / CONTACTS_DAG / f"{end - timedelta(days=1):%Y%m%d}T000000--{end:%Y%m%d}T000000"


def print_runs(rows: list[tuple[str, dict, int]]) -> None:
    print()
    print(
        f"  {'run':<26} {'as of':<11} {'written':>8} {'unchanged':>10} {'stale':>6} {'rejected':>9} "
        f"{'exited*':>8} {'API calls':>10} {'writes':>7}"
    )
    for what, summary, writes in rows:
        print(
            f"  {what:<26} {summary['as_of'][:10]:<11} {summary['written']:>8,} {summary['unchanged']:>10,} "
            f"{summary['stale']:>6,} {summary['rejected']:>9,} {summary['vanished']:>8,} "
            f"{summary['api_calls']:>10,} {writes:>7,}"
        )
    stale_file = Path(rows[-1][1]["stale_rows_path"]).relative_to(REPO)
    print("  * people who vanished from the segment while members, exited (nobody leaves this store)")
    print("  API calls: the task's REST calls (a describe, then the writes); writes: collections requests")
    print("  rejected: people who never reached Salesforce (MISSING_IDENTITY), in every run")
    print(f"  the backfill's stale rows: {stale_file}")
    print()


def print_read_back(hook, segment_path: Path) -> None:
    """A few Contacts as Salesforce holds them: three members, three who left an audience."""
    import pandas as pd
    from sfcrm_examples.segments import status_column
    from simple_salesforce import format_soql

    segment = pd.read_parquet(segment_path)
    segment = segment[segment["salesforce_id"].notna()]
    flags = [status_column(a.audience_id) for a in AUDIENCES]
    with sqlite3.connect(SYNC_STATE) as db:
        left = {key for (key,) in db.execute("SELECT key FROM sfcrm_sync_history WHERE status = 'exited'")}
    db.close()
    members = segment[segment[flags].any(axis=1)].head(3)
    leavers = segment[segment["salesforce_id"].str[:15].isin(left)].head(3)
    sample = pd.concat([members, leavers])
    fields = [f"{a.mapping_id}__c" for a in AUDIENCES]
    soql = format_soql(
        "SELECT Id, FirstName, LastName, {:literal} FROM Contact WHERE Id IN {}",
        ", ".join(fields),
        list(sample["salesforce_id"]),
    )
    records = {r["Id"]: r for r in hook.query_all(soql)}
    print("  Read back from Salesforce (SOQL), under each person's memberships in the store as of day 2:")
    print(f"    {'Id':<18}  {'Name':<20}" + "".join(f"  {f:<13}" for f in fields))
    for row in sample.itertuples():
        record = records.get(row.salesforce_id, {})
        name = f"{record.get('FirstName') or ''} {record.get('LastName') or ''}".strip()
        print(
            f"    {row.salesforce_id:<18}  {name:<20}"
            + "".join(f"  {str(record.get(f) or '-'):<13}" for f in fields)
        )
        memberships = ["member" if getattr(row, flag) else "-" for flag in flags]
        print(f"    {'(store)':<18}  {'':<20}" + "".join(f"  {m:<13}" for m in memberships))
    print()


def print_history() -> None:
    """The status history answers "when did person P exit audience A" (one SQL query)."""
    with sqlite3.connect(SYNC_STATE) as db:
        found = db.execute(
            "SELECT key, field FROM sfcrm_sync_history WHERE status = 'exited' ORDER BY key LIMIT 1"
        ).fetchone()
        if found is None:
            return
        key, field = found
        rows = db.execute(
            "SELECT h.status, h.as_of, h.written_at, h.run_id FROM sfcrm_sync_history h "
            "JOIN sfcrm_sync_scopes s ON s.scope_id = h.scope_id "
            "WHERE s.sobject = 'Contact' AND h.key = ? AND h.field = ? ORDER BY h.as_of",
            (key, field),
        ).fetchall()
    db.close()
    print(
        f"  Status history of Contact {key} in {field} ({SYNC_STATE.relative_to(REPO)}, sfcrm_sync_history):"
    )
    for status, as_of, written_at, run_id in rows:
        print(f"    {status:<9} as of {as_of}   written {written_at}   by {run_id}")
    print()


def main() -> None:
    from sfcrm_sandbox.process import start_sandbox

    # Start from a clean org, store, state and work dir every time, so the demo always prints the same.
    for stale in ("sandbox", "work", "logs", "profile_store.sqlite", SYNC_STATE.name):
        path = DEMO / stale
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    (DEMO / "logs").mkdir(parents=True)

    store = DEMO / "profile_store.sqlite"
    counts = generate_profile_store(store)
    step(
        f"Profile store {store.relative_to(REPO)}: {counts['profiles']} people, "
        f"{counts['memberships']} membership changes over two weeks"
    )

    step("Starting the Salesforce sandbox")
    with start_sandbox(DEMO / "sandbox") as sandbox:
        step(f"Sandbox ready at {sandbox.base_url}")
        os.environ["AIRFLOW_CONN_SFCRM_DEFAULT"] = json.dumps(sandbox.connection_dict())
        os.environ["AIRFLOW_CONN_SFCRM_PROFILE_STORE"] = json.dumps(
            {"conn_type": "sqlite", "host": str(store)}
        )
        os.environ["AIRFLOW_CONN_SFCRM_SYNC_STATE"] = json.dumps(
            {"conn_type": "sqlite", "host": str(SYNC_STATE)}
        )

        from sfcrm_examples.seed_org import seed_org

        from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

        hook = SalesforceCrmHook(sfcrm_conn_id="sfcrm_default")
        created = seed_org(store, hook=hook)
        step(f"Created {created['Contact']} Contacts and {created['Lead']} Leads in the org")

        step(f"Preparing the Airflow home {Path(os.environ['AIRFLOW_HOME']).relative_to(REPO)}")
        airflow("db", "migrate", log_name="db-migrate")
        airflow(
            "pools", "set", "sfcrm_api", POOL_SLOTS, "Salesforce: slots x max_workers <= 25", log_name="pool"
        )

        step("airflow dags test example_sfcrm_setup_fields  (creates the audience fields)")
        airflow("dags", "test", "example_sfcrm_setup_fields", RUNS[0][1], log_name="setup-fields")

        rows = []
        for number, (what, logical_date) in enumerate(RUNS, start=1):
            step(f"airflow dags test {CONTACTS_DAG} {logical_date}  ({what})")
            writes = sandbox.calls_to("composite/sobjects")
            airflow("dags", "test", CONTACTS_DAG, logical_date, log_name=f"contacts-{number}-{logical_date}")
            summary = json.loads((interval_dir(logical_date) / "summary.json").read_text())
            rows.append((what, summary, sandbox.calls_to("composite/sobjects") - writes))
        print_runs(rows)
        print_read_back(hook, interval_dir(RUNS[1][1]) / "segment.parquet")
        print_history()
        stats = sandbox.stats()
        step(f"The sandbox served {stats['api_calls']} API calls in all; stopping it")
    step(f"Done. Logs of every step: {(DEMO / 'logs').relative_to(REPO)}/")


if __name__ == "__main__":
    main()
