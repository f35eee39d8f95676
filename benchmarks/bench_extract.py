"""1,000,000 Contacts through SalesforceExtractOperator over REST: rows/s, API requests, peak memory.

Starts its own sandbox with its clock frozen inside one hour, seeds one Contact per row through the hook
(filled-in names, e-mails, phones, addresses, dates; not measured), then extracts that hour in a child
process that does nothing else, so its peak RSS is the task's. Prints rows/s, the API requests the
extract spent (sandbox stats: describe, COUNT() and the 2,000-row query pages) next to what a Bulk API
2.0 query job would take by the extract's own plan, and the peak memory, which must stay under 1 GB.

    .venv/bin/python benchmarks/bench_extract.py [--rows 1000000] [--columns all|few]

``--columns all`` (default) reads every Contact field (52 columns); ``few`` the example DAG's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path

from _export_child import export_in_child, run_operator

MEMORY_GOAL_MB = 1024
REPO = Path(__file__).resolve().parents[1]
UTC = dt.timezone.utc
START = dt.datetime(2024, 5, 1, 10, tzinfo=UTC)
FEW = ["Email", "FirstName", "LastName", "AccountId", "MailingAddress", "HasOptedOutOfEmail"]


def _seed(hook, rows: int) -> None:
    from tests.integration._export_org import insert

    step = 100_000
    for start in range(0, rows, step):
        records = [
            {
                "LastName": f"Bench{i}",
                "FirstName": f"First{i}",
                "Email": f"person{i}@example.com",
                "Phone": f"+33 1 {i:08d}",
                "Title": "Buyer" if i % 3 else None,
                "MailingStreet": f"{i % 200} Main Street",
                "MailingCity": "Lyon",
                "MailingPostalCode": f"{69000 + i % 9:05d}",
                "MailingCountry": "France",
                "Birthdate": f"19{50 + i % 50}-0{1 + i % 9}-1{i % 9}",
                "HasOptedOutOfEmail": i % 7 == 0,
            }
            for i in range(start, min(rows, start + step))
        ]
        insert(hook, "Contact", records, max_workers=8)
        print(f"  seeded {min(rows, start + step):,} Contacts", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", choices=("all", "few"), default="all")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_operator(args.child)

    work = Path(tempfile.mkdtemp(prefix="sfcrm-bench-extract-"))
    os.environ.setdefault("AIRFLOW_HOME", str(work / "airflow"))
    sys.path.insert(0, str(REPO))
    from sfcrm_sandbox.process import start_sandbox

    from airflow_provider_sfcrm.extraction.plan import planned_calls
    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

    clock = (START + dt.timedelta(minutes=20)).isoformat()
    with start_sandbox(work / "sandbox", clock=clock, frozen_clock=True) as sandbox:
        os.environ["AIRFLOW_CONN_SFCRM_BENCH"] = json.dumps(sandbox.connection_dict())
        print(f"Seeding {args.rows:,} Contacts (not measured)...", flush=True)
        _seed(SalesforceCrmHook("sfcrm_bench"), args.rows)
        sandbox.set_clock(START + dt.timedelta(hours=2))
        calls_before = sandbox.stats()["api_calls"]
        print(f"Extracting {args.rows:,} Contacts through REST ({args.columns} columns)...", flush=True)
        result = export_in_child(
            __file__,
            {
                "task_id": "bench_extract",
                "sobject": "Contact",
                "output_path": str(work / "lake" / "Contact" / f"{START:%Y%m%dT%H%M%S}"),
                "columns": None if args.columns == "all" else FEW,
                "api": "rest",
                "sfcrm_conn_id": "sfcrm_bench",
            },
            work / "config.json",
            operator="airflow_provider_sfcrm.operators.extract.SalesforceExtractOperator",
            context={"data_interval_start": START, "data_interval_end": START + dt.timedelta(hours=1)},
        )
        calls = sandbox.stats()["api_calls"] - calls_before
    if result is None:
        return 1
    elapsed = result["elapsed_s"]
    summary, peak = result["summary"], result["peak_rss_mb"]
    size = sum(Path(f).stat().st_size for f in summary["files"])
    parts = len(summary["files"])
    print(f"rows             {summary['rows']:>12,}  ({parts} Parquet part(s), {size / 1e6:,.1f} MB)")
    print(f"task seconds     {summary['duration_s']:>12.1f}  (child process incl. start-up: {elapsed:.1f})")
    print(f"rows/s           {summary['rows'] / summary['duration_s']:>12,.0f}")
    print(f"API requests     {calls:>12,}  REST, measured (the task counted {summary['api_calls']:,})")
    bulk = planned_calls(summary["rows"], "bulk")
    print(f"                 {bulk:>12,}  Bulk API 2.0 query, as the extract plans it (reader not built yet)")
    print(f"peak RSS (MB)    {peak:>12,.0f}  (goal < {MEMORY_GOAL_MB})")
    return 0 if peak < MEMORY_GOAL_MB else 2


if __name__ == "__main__":
    sys.exit(main())
