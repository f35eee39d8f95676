"""``make demo``: activate a day of audience changes into Salesforce Contacts, end to end, offline.

1. generates the example profile store (SQLite, fixed seed) in ``.demo/``;
2. starts the Salesforce sandbox in the background and creates the store's people in it as
   Contacts and Leads, writing their new Salesforce Ids back into the store;
3. prepares an Airflow home of its own (``.demo/airflow``: ``airflow db migrate``, the ``sfcrm_api``
   pool) with the connections ``sfcrm_default`` (the sandbox) and ``sfcrm_profile_store`` given
   as ``AIRFLOW_CONN_*`` variables;
4. ``airflow dags test example_sfcrm_setup_fields`` creates the audience fields;
5. ``airflow dags test example_sfcrm_activate_contacts 2026-01-08`` activates the changes of
   2026-01-07;
6. prints the run's summary and a few Contacts read back from Salesforce by SOQL, then stops the
   sandbox.

Each step's full output goes to ``.demo/logs/``. Needs nothing outside the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / ".demo"
DAGS = REPO / "dags"
LOGICAL_DATE = "2026-01-08"  # the run covers the day before: 2026-01-07
INTERVAL_DIR = "20260107T000000--20260108T000000"
CONTACTS_DAG = "example_sfcrm_activate_contacts"
POOL_SLOTS = "6"

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


def print_summary(summary: dict) -> None:
    print()
    print(f"  Run summary ({summary['sobject']}, {summary['operation']}, interval 2026-01-07):")
    print(f"    people in the segment : {summary['total']}")
    print(f"    written to Salesforce : {summary['written']}  (updated {summary['updated']})")
    print(f"    rejected              : {summary['rejected']}  {summary['rejected_by_code']}")
    print(f"    API calls             : {summary['api_calls']}")
    if summary["rejected"]:
        import pandas as pd

        rejected_path = Path(summary["rejected_rows_path"])
        print(f"    rejected rows file    : {rejected_path.relative_to(REPO)}")
        for row in pd.read_parquet(rejected_path).head(5).itertuples():
            print(f"      input row {row.sfcrm_row_number}, {row.profile_id}: {row.sfcrm_error_code}")
    print()


def print_read_back(hook, segment_path: Path) -> None:
    import pandas as pd
    from sfcrm_examples.segments import status_column
    from simple_salesforce import format_soql

    segment = pd.read_parquet(segment_path)
    sample = segment[segment["salesforce_id"].notna()].head(5)
    fields = [f"{a.mapping_id}__c" for a in AUDIENCES]
    soql = format_soql(
        "SELECT Id, FirstName, LastName, Email, {:literal} FROM Contact WHERE Id IN {}",
        ", ".join(fields),
        list(sample["salesforce_id"]),
    )
    records = {r["Id"]: r for r in hook.query_all(soql)}
    print("  Read back from Salesforce (SOQL), next to the profile store's changes of the day:")
    header = f"    {'Id':<18}  {'Name':<22}" + "".join(f"  {f:<13}" for f in fields)
    print(header)
    for row in sample.itertuples():
        record = records.get(row.salesforce_id, {})
        name = f"{record.get('FirstName') or ''} {record.get('LastName') or ''}".strip()
        cells = "".join(f"  {str(record.get(f) or '-'):<13}" for f in fields)
        print(f"    {row.salesforce_id:<18}  {name:<22}{cells}")
        statuses = [getattr(row, status_column(a.audience_id)) for a in AUDIENCES]
        expected = "".join(f"  {status if isinstance(status, str) else '-':<13}" for status in statuses)
        print(f"    {'(store)':<18}  {'':<22}{expected}")
    print()


def main() -> None:
    from sfcrm_sandbox.process import start_sandbox

    # Start from a clean org, store and work dir every time, so the demo always prints the same.
    for stale in ("sandbox", "work", "logs", "profile_store.sqlite"):
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
        airflow("dags", "test", "example_sfcrm_setup_fields", LOGICAL_DATE, log_name="setup-fields")

        step(f"airflow dags test {CONTACTS_DAG} {LOGICAL_DATE}  (activates the changes of 2026-01-07)")
        airflow("dags", "test", CONTACTS_DAG, LOGICAL_DATE, log_name="activate-contacts")

        files = DEMO / "work" / CONTACTS_DAG / INTERVAL_DIR
        summary = json.loads((files / "summary.json").read_text())
        print_summary(summary)
        print_read_back(hook, files / "segment.parquet")
        stats = sandbox.stats()
        step(f"The sandbox served {stats['api_calls']} API calls in all; stopping it")
    step(f"Done. Logs of every step: {(DEMO / 'logs').relative_to(REPO)}/")


if __name__ == "__main__":
    main()
