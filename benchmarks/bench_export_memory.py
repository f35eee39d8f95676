"""Peak memory of a dry-run export at 1, 5 and 10 million rows: it must stay flat in the segment size.

For each size, writes a Parquet segment (Contact Ids, names, e-mail, three audience statuses, a
score; 1 % of the rows repeat the next row's Id, so duplicates are found across the whole
segment), then runs SalesforceSegmentExportOperator with ``dry_run=True`` in a child process that
does nothing else and reports its own peak RSS. A sandbox answers the describe; nothing is written.

Goals: the 10 M-row peak under 1 GB, and less than 150 MB above the 1 M-row peak.

    .venv/bin/python benchmarks/bench_export_memory.py [--rows 1000000 5000000 10000000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

from _export_child import export_in_child, run_operator

AUDIENCES = {"aud_1": "crm_1_seg", "aud_2": "crm_2_seg", "aud_3": "crm_3_seg"}
FIELD_MAPPING = {"sfid": "Id", "first": "FirstName", "last": "LastName", "email": "Email"}
PEAK_GOAL_MB = 1024
GROWTH_GOAL_MB = 150
_PART_ROWS = 500_000
REPO = Path(__file__).resolve().parents[1]


def _write_segment(path: Path, rows: int) -> None:
    """Columns built with pyarrow compute, part by part, so the writer's own memory stays small."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    statuses = pa.array(["realized", "existing", "exited", None])
    schema = None
    writer = None
    try:
        for start in range(0, rows, _PART_ROWS):
            numbers = np.arange(start, min(rows, start + _PART_ROWS), dtype=np.int64)
            # Every 100th row repeats the next row's Id: an earlier duplicate, rejected; the later wins.
            ids = np.where(numbers % 100 == 7, numbers + 1, numbers)
            text = pc.cast(pa.array(numbers), pa.string())
            sfid = pc.binary_join_element_wise(
                "003ak", pc.utf8_lpad(pc.cast(pa.array(ids), pa.string()), 10, "0"), ""
            )
            table = pa.table(
                {
                    "sfid": sfid,
                    "first": pc.binary_join_element_wise("First", text, ""),
                    "last": pc.binary_join_element_wise("Last", text, ""),
                    "email": pc.binary_join_element_wise("person", text, "@example.com", ""),
                    "aud_1": statuses.take(pa.array(numbers % 4)),
                    "aud_2": statuses.take(pa.array((numbers + 1) % 4)),
                    "aud_3": statuses.take(pa.array((numbers + 2) % 4)),
                    "score": pa.array(numbers / 7.0),
                }
            )
            if writer is None:
                schema = table.schema
                writer = pq.ParquetWriter(path, schema)
            writer.write_table(table, row_group_size=100_000)
    finally:
        if writer is not None:
            writer.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000, 10_000_000])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_operator(args.child)

    work = Path(tempfile.mkdtemp(prefix="sfcrm-bench-memory-"))
    os.environ.setdefault("AIRFLOW_HOME", str(work / "airflow"))
    sys.path.insert(0, str(REPO))
    from sfcrm_sandbox.process import start_sandbox

    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
    from tests.integration._export_org import add_audience_fields

    peaks: dict[int, float] = {}
    with start_sandbox(work / "sandbox") as sandbox:
        os.environ["AIRFLOW_CONN_SFCRM_BENCH"] = json.dumps(sandbox.connection_dict())
        hook = SalesforceCrmHook("sfcrm_bench")
        add_audience_fields(hook, "Contact", AUDIENCES.values(), hook.get_user_permission_set_id())
        print(f"{'rows':>12}  {'peak RSS (MB)':>13}  {'seconds':>8}  {'rows/s':>9}  rejected", flush=True)
        for rows in args.rows:
            segment = work / f"segment-{rows}.parquet"
            _write_segment(segment, rows)
            result = export_in_child(
                __file__,
                {
                    "task_id": "bench_memory",
                    "sobject": "Contact",
                    "segment_path": str(segment),
                    "field_mapping": {
                        "sfid": "Id",
                        "first": "FirstName",
                        "last": "LastName",
                        "email": "Email",
                    },
                    "audiences": AUDIENCES,
                    "rejected_rows_path": str(work / f"rejected-{rows}.parquet"),
                    "max_rejected_ratio": 0.05,
                    "dry_run": True,
                    "sfcrm_conn_id": "sfcrm_bench",
                },
                work / "config.json",
            )
            segment.unlink()
            if result is None:
                return 1
            summary, peaks[rows], elapsed = result["summary"], result["peak_rss_mb"], result["elapsed_s"]
            seconds = summary["duration_s"]
            print(
                f"{rows:>12,}  {peaks[rows]:>13,.0f}  {seconds:>8.1f}  {rows / seconds:>9,.0f}  "
                f"{summary['rejected_by_code']}  (child incl. start-up: {elapsed:.1f}s)",
                flush=True,
            )
    largest, smallest = max(peaks), min(peaks)
    growth = peaks[largest] - peaks[smallest]
    print(f"peak at {largest:,} rows: {peaks[largest]:,.0f} MB (goal < {PEAK_GOAL_MB})")
    print(f"growth {smallest:,} -> {largest:,} rows: {growth:,.0f} MB (goal < {GROWTH_GOAL_MB})")
    return 0 if peaks[largest] < PEAK_GOAL_MB and growth < GROWTH_GOAL_MB else 2


if __name__ == "__main__":
    sys.exit(main())
