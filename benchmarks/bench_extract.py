"""1,000,000 Contacts through SalesforceExtractOperator, over REST and over Bulk API 2.0: rows/s, API
requests, peak memory.

Starts its own sandbox with its clock frozen inside one hour, seeds one Contact per row through the hook
(filled-in names, e-mails, phones, addresses, dates; not measured), then extracts that hour once per API,
each time in a child process that does nothing else, so its peak RSS is the task's. Prints rows/s, the
API requests each extract spent (sandbox stats: describe, COUNT() and the 2,000-row query pages; or
describe, COUNT() and the query job's create, polls, result pages and delete), the peak memory, which
must stay under 1 GB, and whether both wrote the same bytes. The sandbox's Bulk processing model is at
its defaults (the job starts after 2 s). The Bulk extract waits for its job in the worker
(``deferrable=False``): one process does it all, as a deferred task's resumption reads the same way.

    .venv/bin/python benchmarks/bench_extract.py [--rows 1000000] [--columns all|few] [--api rest,bulk]

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
    parser.add_argument("--api", default="rest,bulk", help="rest, bulk, or both (rest,bulk: the default)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_operator(args.child)

    work = Path(tempfile.mkdtemp(prefix="sfcrm-bench-extract-"))
    os.environ.setdefault("AIRFLOW_HOME", str(work / "airflow"))
    sys.path.insert(0, str(REPO))
    from sfcrm_sandbox.process import start_sandbox

    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

    clock = (START + dt.timedelta(minutes=20)).isoformat()
    results = {}
    with start_sandbox(work / "sandbox", clock=clock, frozen_clock=True) as sandbox:
        os.environ["AIRFLOW_CONN_SFCRM_BENCH"] = json.dumps(sandbox.connection_dict())
        print(f"Seeding {args.rows:,} Contacts (not measured)...", flush=True)
        _seed(SalesforceCrmHook("sfcrm_bench"), args.rows)
        sandbox.set_clock(START + dt.timedelta(hours=2))
        for api in args.api.split(","):
            calls_before = sandbox.stats()["api_calls"]
            print(
                f"Extracting {args.rows:,} Contacts through {api.upper()} ({args.columns} columns)...",
                flush=True,
            )
            result = export_in_child(
                __file__,
                {
                    "task_id": "bench_extract",
                    "sobject": "Contact",
                    "output_path": str(work / api / "Contact" / f"{START:%Y%m%dT%H%M%S}"),
                    "columns": None if args.columns == "all" else FEW,
                    "api": api,
                    "deferrable": False,
                    "sfcrm_conn_id": "sfcrm_bench",
                },
                work / "config.json",
                operator="airflow_provider_sfcrm.operators.extract.SalesforceExtractOperator",
                context={"data_interval_start": START, "data_interval_end": START + dt.timedelta(hours=1)},
            )
            if result is None:
                return 1
            results[api] = (result, sandbox.stats()["api_calls"] - calls_before)
    worst = 0.0
    for api, (result, calls) in results.items():
        summary, peak = result["summary"], result["peak_rss_mb"]
        size = sum(Path(f).stat().st_size for f in summary["files"])
        parts = len(summary["files"])
        print(f"== {api.upper()}")
        print(f"rows             {summary['rows']:>12,}  ({parts} Parquet part(s), {size / 1e6:,.1f} MB)")
        elapsed = result["elapsed_s"]
        print(f"task seconds     {summary['duration_s']:>12.1f}  (child incl. start-up: {elapsed:.1f})")
        print(f"rows/s           {summary['rows'] / summary['duration_s']:>12,.0f}")
        print(f"API requests     {calls:>12,}  (the task counted {summary['api_calls']:,})")
        print(f"peak RSS (MB)    {peak:>12,.0f}  (goal < {MEMORY_GOAL_MB})")
        worst = max(worst, peak)
    if len(results) == 2:
        same = all(
            Path(a).read_bytes() == Path(b).read_bytes()
            for a, b in zip(
                results["rest"][0]["summary"]["files"], results["bulk"][0]["summary"]["files"], strict=True
            )
        )
        print(f"REST and Bulk files byte-identical: {same}")
    return 0 if worst < MEMORY_GOAL_MB else 2


if __name__ == "__main__":
    sys.exit(main())
