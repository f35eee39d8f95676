"""How much concurrent batches buy: 20,000 Contacts upserted with max_workers=1 and 8.

Starts its own sandbox with ``--latency-ms 100`` (a round trip to a real org is of that order),
creates an external-id field through the Tooling API, grants it, then upserts the same
20,000 records twice. Prints seconds, records/s, the speed-up and the API calls each run spent
(from the sandbox's own stats). Run: ``.venv/bin/python benchmarks/bench_hook_concurrency.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

RECORDS = 20_000
EXTERNAL_ID = "Bench_Ext_Id__c"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sfcrm-bench-hook-"))
    os.environ.setdefault("AIRFLOW_HOME", str(work / "airflow"))
    from sfcrm_sandbox.process import start_sandbox

    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

    with start_sandbox(work / "sandbox", latency_ms=args.latency_ms) as sandbox:
        os.environ["AIRFLOW_CONN_SFCRM_BENCH"] = json.dumps(sandbox.connection_dict())
        setup = SalesforceCrmHook("sfcrm_bench")
        setup.create_custom_field(
            "Contact",
            EXTERNAL_ID,
            {"type": "Text", "label": "Bench Ext Id", "length": 40, "externalId": True},
        )
        setup.grant_field_access("Contact", EXTERNAL_ID, setup.get_user_permission_set_id())

        print(
            f"{args.records} Contacts, upsert on {EXTERNAL_ID}, batches of 200, latency {args.latency_ms} ms"
        )
        print(
            f"{'max_workers':>11} {'seconds':>8} {'records/s':>10} {'API calls':>10} {'successes':>10}"
            f" {'max in flight':>14}"
        )
        timings: dict[int, float] = {}
        for workers in args.workers:
            sandbox.reset()
            records = [
                {EXTERNAL_ID: f"bench-{i:06d}", "LastName": f"Bench {i}", "Email": f"bench{i}@example.com"}
                for i in range(args.records)
            ]
            hook = SalesforceCrmHook("sfcrm_bench")
            hook.get_conn()  # log in outside the timed part
            calls_before = sandbox.stats()["api_calls"]
            started = time.perf_counter()
            results = hook.upsert_records("Contact", records, EXTERNAL_ID, max_workers=workers)
            elapsed = time.perf_counter() - started
            stats = sandbox.stats()
            calls = stats["api_calls"] - calls_before
            timings[workers] = elapsed
            successes = sum(result.success for result in results)
            print(
                f"{workers:>11} {elapsed:>8.2f} {args.records / elapsed:>10.0f} {calls:>10} {successes:>10}"
                f" {stats.get('max_in_flight', '?'):>14}"
            )
            if successes != args.records:
                print("ERROR: not every record was written", file=sys.stderr)
                return 1
        if len(timings) >= 2:
            low, high = min(timings), max(timings)
            speedup = timings[low] / timings[high]
            print(f"speed-up max_workers={high} vs {low}: {speedup:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
