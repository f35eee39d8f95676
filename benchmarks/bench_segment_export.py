"""A 1,000,000-row segment through SalesforceSegmentExportOperator: rows/s, API calls, peak memory.

Starts its own sandbox, creates and grants three audience fields on Contact, seeds the org with
one Contact per row (inserted through the hook, not measured), writes a Parquet segment that
updates them by Id (1 % bad rows: duplicates, unknown statuses, malformed Ids), then runs the
operator in a child process that does nothing else, so its peak RSS is the task's. Prints rows/s,
the API calls the export spent (sandbox stats; the writes alone are ceil(rows sent / 200)), and
the peak memory, which must stay under 1 GB.

    .venv/bin/python benchmarks/bench_segment_export.py [--rows 1000000] [--max-workers 4]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
from pathlib import Path

from _export_child import export_in_child, run_operator

AUDIENCES = {"aud_1": "crm_1_seg", "aud_2": "crm_2_seg", "aud_3": "crm_3_seg"}
STATUSES = ["realized", "existing", "exited", None]
MEMORY_GOAL_MB = 1024
# The org set-up is shared with the export's integration tests (tests/integration/_export_org.py).
REPO = Path(__file__).resolve().parents[1]


def _seed(hook, rows: int) -> list[str]:
    from tests.integration._export_org import insert

    ids: list[str] = []
    step = 100_000
    for start in range(0, rows, step):
        records = [{"LastName": f"Bench{i}"} for i in range(start, min(rows, start + step))]
        ids += insert(hook, "Contact", records, max_workers=8)
        print(f"  seeded {len(ids):,} Contacts", flush=True)
    return ids


def _write_segment(path: Path, ids: list[str], bad_ratio: float) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = random.Random(42)
    n = len(ids)
    bad = rng.sample(range(n - 1), int(n * bad_ratio))
    sfid = list(ids)
    aud_1 = [STATUSES[i % 4] for i in range(n)]
    for k, pos in enumerate(bad):
        if k % 3 == 0:
            sfid[pos] = sfid[pos + 1]  # an earlier duplicate: rejected, the later row wins
        elif k % 3 == 1:
            aud_1[pos] = "qualified"
        else:
            sfid[pos] = sfid[pos][:15] + "ZZZ"
    schema = pa.schema(
        [
            ("sfid", pa.string()),
            ("first", pa.string()),
            ("last", pa.string()),
            ("email", pa.string()),
            ("aud_1", pa.string()),
            ("aud_2", pa.string()),
            ("aud_3", pa.string()),
            ("score", pa.float64()),
        ]
    )
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, n, 100_000):
            rows = range(start, min(n, start + 100_000))
            writer.write_table(
                pa.table(
                    {
                        "sfid": sfid[start : start + len(rows)],
                        "first": [None if i % 9 == 0 else f"First{i}" for i in rows],
                        "last": [f"Last{i}" for i in rows],
                        "email": [None if i % 5 == 0 else f"person{i}@example.com" for i in rows],
                        "aud_1": aud_1[start : start + len(rows)],
                        "aud_2": [STATUSES[(i + 1) % 4] for i in rows],
                        "aud_3": [STATUSES[(i + 2) % 4] for i in rows],
                        "score": [i / 7 for i in rows],
                    },
                    schema=schema,
                ),
                row_group_size=50_000,
            )
    return len(bad)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--bad-ratio", type=float, default=0.01)
    parser.add_argument("--max-workers", type=int, default=4)
    parser.add_argument("--chunk-rows", type=int, default=20_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_operator(args.child)

    work = Path(tempfile.mkdtemp(prefix="sfcrm-bench-export-"))
    os.environ.setdefault("AIRFLOW_HOME", str(work / "airflow"))
    sys.path.insert(0, str(REPO))
    from sfcrm_sandbox.process import start_sandbox

    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
    from tests.integration._export_org import add_audience_fields

    with start_sandbox(work / "sandbox") as sandbox:
        os.environ["AIRFLOW_CONN_SFCRM_BENCH"] = json.dumps(sandbox.connection_dict())
        hook = SalesforceCrmHook("sfcrm_bench")
        add_audience_fields(hook, "Contact", AUDIENCES.values(), hook.get_user_permission_set_id())
        print(f"Seeding {args.rows:,} Contacts (not measured)...", flush=True)
        ids = _seed(hook, args.rows)
        segment = work / "segment.parquet"
        bad = _write_segment(segment, ids, args.bad_ratio)
        del ids
        calls_before = sandbox.stats()["api_calls"]
        print(
            f"Exporting {args.rows:,} rows ({bad:,} made bad: duplicates, unknown statuses, malformed Ids), "
            f"max_workers={args.max_workers}...",
            flush=True,
        )
        result = export_in_child(
            __file__,
            {
                "task_id": "bench_export",
                "sobject": "Contact",
                "segment_path": str(segment),
                "field_mapping": {"sfid": "Id", "first": "FirstName", "last": "LastName", "email": "Email"},
                "audiences": AUDIENCES,
                "rejected_rows_path": str(work / "rejected.parquet"),
                "max_rejected_ratio": 0.05,
                "max_workers": args.max_workers,
                "chunk_rows": args.chunk_rows,
                "sfcrm_conn_id": "sfcrm_bench",
            },
            work / "config.json",
        )
        calls = sandbox.stats()["api_calls"] - calls_before
    if result is None:
        return 1
    elapsed = result["elapsed_s"]
    summary, peak = result["summary"], result["peak_rss_mb"]
    sent = summary["written"] + summary["rejected_by_code"].get("ENTITY_IS_DELETED", 0)
    print(f"rows             {summary['total']:>12,}")
    print(f"written          {summary['written']:>12,}")
    print(f"rejected         {summary['rejected']:>12,}  {summary['rejected_by_code']}")
    print(f"task seconds     {summary['duration_s']:>12.1f}  (child process incl. start-up: {elapsed:.1f})")
    print(f"rows/s           {summary['total'] / summary['duration_s']:>12,.0f}")
    print(f"API calls        {calls:>12,}  (writes alone: ceil({sent:,} / 200) = {math.ceil(sent / 200):,})")
    print(f"peak RSS (MB)    {peak:>12,.0f}  (goal < {MEMORY_GOAL_MB})")
    return 0 if peak < MEMORY_GOAL_MB else 2


if __name__ == "__main__":
    sys.exit(main())
