"""The sync state at scale: a 10,000,000-person membership snapshot with 1 % of people changed.

Two parts, saying precisely what each measures:

1. **The diff at 10 M people** (no HTTP). A segment of 10 M Contacts (Id, e-mail, two boolean
   audiences) is synced three times against a sync state on SQLite, by the export core
   (``SyncExport``: both passes, the DuckDB plan, the state reads and writes) with a writer that
   confirms every record without sending it and counts the requests it would have made (one per
   200 records). Day 1 writes everyone, day 2 (the same memberships) turns every ``realized`` into
   ``existing``, so the state is as a daily sync leaves it; **day 3**, with 1 % of the people
   changed (half a new e-mail, half joining or leaving an audience), is the measured run: its wall
   time and peak RSS (a child process that does nothing else) and the requests it makes. Goals:
   under 2 minutes, under 1 GB, ``ceil(changed / 200)`` requests.
2. **A real run at 100,000 people** against the sandbox, through ``SalesforceSegmentExportOperator``:
   the same three days; the sandbox counts the collections requests of day 3.

    .venv/bin/python benchmarks/bench_sync_state.py [--people 10000000] [--real-people 100000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIELD_MAPPING = {"sfid": "Id", "email": "Email"}
AUDIENCES = {"aud_1": "crm_1_seg", "aud_2": "crm_2_seg"}
DAYS = [datetime(2026, 1, day, tzinfo=timezone.utc) for day in (2, 3, 4)]
CHANGED_SHARE = 0.01
SECONDS_GOAL, PEAK_GOAL_MB = 120, 1024
_PART_ROWS = 500_000
_PREFIX = "BENCH-RESULT "


def write_segment(path: Path, people: int, day: int) -> int:
    """Day ``day`` of the segment; returns how many people changed against the day before (day 3)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    changed = 0
    writer = None
    try:
        for start in range(0, people, _PART_ROWS):
            numbers = np.arange(start, min(people, start + _PART_ROWS), dtype=np.int64)
            text = pc.cast(pa.array(numbers), pa.string())
            aud_1, aud_2 = numbers % 5 == 0, numbers % 7 == 0
            email = pc.binary_join_element_wise("person", text, "@example.com", "")
            if day == 3:  # 1 % change: every 200th a new e-mail, every 200th (offset) joins or leaves
                moved, flipped = numbers % 200 == 3, numbers % 200 == 103
                email = pc.if_else(
                    pa.array(moved), pc.binary_join_element_wise("moved", text, "@example.org", ""), email
                )
                aud_1 = np.where(flipped, ~aud_1, aud_1)
                changed += int(moved.sum() + flipped.sum())
            table = pa.table(
                {
                    "sfid": pc.binary_join_element_wise("003", pc.utf8_lpad(text, 12, "0"), ""),
                    "email": email,
                    "aud_1": pa.array(aud_1),
                    "aud_2": pa.array(aud_2),
                }
            )
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema)
            writer.write_table(table, row_group_size=100_000)
    finally:
        if writer is not None:
            writer.close()
    return changed


def run_core(config: dict) -> int:
    """The child's side: one sync by the export core with a confirming writer; prints the result."""
    import sqlite3

    from airflow_provider_sfcrm.activation.ids import to18
    from airflow_provider_sfcrm.activation.mapping import build_mapping, check_mapping_against_describe
    from airflow_provider_sfcrm.activation.report import RejectedRowsWriter, StaleRowsWriter
    from airflow_provider_sfcrm.activation.results import RecordResult
    from airflow_provider_sfcrm.activation.row_validation import rules_from_describe
    from airflow_provider_sfcrm.sources import FileSegment
    from airflow_provider_sfcrm.sync.export import SyncExport
    from airflow_provider_sfcrm.sync.store import SyncStateStore
    from tests.unit._export_describe import describe

    started = time.monotonic()
    marks: dict[str, float] = {}
    requests = [0]

    def write(records, progress, external_id_field):
        requests[0] += math.ceil(len(records) / 200)
        progress(len(records))
        return [RecordResult(i, True, id=to18(r["Id"])) for i, r in enumerate(records)]

    def log(message, *args):
        if message.startswith("Sync plan"):
            marks["planned_s"] = time.monotonic() - started

    mapping = build_mapping(
        sobject="Contact", operation="update", field_mapping=FIELD_MAPPING, audiences=AUDIENCES
    )
    mapping = check_mapping_against_describe(mapping, describe())
    source = FileSegment(config["segment"])
    with (
        SyncStateStore(sqlite3.connect(config["state"])) as state,
        RejectedRowsWriter(config["rejected"], source.schema) as rejected,
        StaleRowsWriter(config["stale"], source.schema) as stale,
    ):
        state.migrate()
        counts = SyncExport(
            source,
            rules_from_describe(mapping, describe()),
            rejected,
            stale,
            state=state,
            scope_id=state.scope("00D000000000001AAA", "Contact", "Id"),
            write=write,
            as_of=datetime.fromisoformat(config["as_of"]),
            run_id=config["as_of"],
            log=log,
            work_dir=config["work"],
        ).run()
    result = {
        "seconds": time.monotonic() - started,
        "planned_s": marks.get("planned_s"),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "requests": requests[0],
        "counts": {k: getattr(counts, k) for k in ("total", "written", "unchanged", "stale", "rejected")},
    }
    print(_PREFIX + json.dumps(result), flush=True)
    return 0


def in_child(config: dict, work: Path) -> dict:
    path = work / "config.json"
    path.write_text(json.dumps(config))
    child = subprocess.run(
        [sys.executable, __file__, "--child", str(path)], capture_output=True, text=True, env=os.environ
    )
    lines = [line for line in child.stdout.splitlines() if line.startswith(_PREFIX)]
    if child.returncode or not lines:
        raise SystemExit(child.stdout[-3000:] + "\n" + child.stderr[-3000:])
    return json.loads(lines[-1][len(_PREFIX) :])


def diff_at_scale(people: int, work: Path) -> bool:
    print(f"Part 1: the diff of a {people:,}-person snapshot, 1 % changed (sync state on SQLite, no HTTP)")
    state = work / "state.sqlite"
    ok = True
    for number, as_of in enumerate(DAYS, start=1):
        segment = work / "segment.parquet"
        changed = write_segment(segment, people, number)
        result = in_child(
            {
                "segment": str(segment),
                "state": str(state),
                "rejected": str(work / "rejected.parquet"),
                "stale": str(work / "stale.parquet"),
                "as_of": as_of.isoformat(),
                "work": str(work),
            },
            work,
        )
        counts = result["counts"]
        print(
            f"  day {number}: {result['seconds']:6.1f} s (plan ready at {result['planned_s']:5.1f} s), "
            f"peak RSS {result['peak_rss_mb']:5,.0f} MB, {counts['written']:>10,} written, "
            f"{counts['unchanged']:>10,} unchanged, {result['requests']:>6,} requests",
            flush=True,
        )
        if number == 3:
            wanted = math.ceil(changed / 200)
            print(
                f"  day 3: {changed:,} people changed -> {result['requests']:,} requests "
                f"(ceil(changed / 200) = {wanted:,}); goals: < {SECONDS_GOAL} s, < {PEAK_GOAL_MB} MB"
            )
            ok = (
                result["requests"] == wanted
                and counts["written"] == changed
                and result["seconds"] < SECONDS_GOAL
                and result["peak_rss_mb"] < PEAK_GOAL_MB
            )
    size = state.stat().st_size
    print(f"  state database: {size / people:,.0f} bytes per person ({size / 1e9:.2f} GB)")
    return ok


def real_run(people: int, work: Path) -> bool:
    print(f"Part 2: a real run of {people:,} people against the sandbox (SalesforceSegmentExportOperator)")
    from sfcrm_sandbox.process import start_sandbox

    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
    from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator
    from tests.integration._export_org import add_audience_fields

    os.environ["AIRFLOW_CONN_SFCRM_BENCH_STATE"] = json.dumps(
        {"conn_type": "sqlite", "host": str(work / "real.sqlite")}
    )
    ok = True
    with start_sandbox(work / "sandbox") as sandbox:
        os.environ["AIRFLOW_CONN_SFCRM_BENCH"] = json.dumps(sandbox.connection_dict())
        hook = SalesforceCrmHook("sfcrm_bench")
        add_audience_fields(hook, "Contact", AUDIENCES.values(), hook.get_user_permission_set_id())
        ids = [
            r.id for r in hook.upsert_records("Contact", [{"LastName": f"P{i}"} for i in range(people)], None)
        ]
        for number, as_of in enumerate(DAYS, start=1):
            segment = work / f"real-{number}.parquet"
            changed = write_segment(segment, people, number)
            _use_real_ids(segment, ids)
            writes = sandbox.calls_to("composite/sobjects")
            started = time.monotonic()
            summary = SalesforceSegmentExportOperator(
                task_id="bench_sync",
                sobject="Contact",
                segment_path=str(segment),
                field_mapping=FIELD_MAPPING,
                audiences=AUDIENCES,
                sync_state="sfcrm_bench_state",
                as_of=as_of.isoformat(),
                rejected_rows_path=str(work / "real-rejected.parquet"),
                stale_rows_path=str(work / "real-stale.parquet"),
                sfcrm_conn_id="sfcrm_bench",
            ).execute({})
            requests = sandbox.calls_to("composite/sobjects") - writes
            print(
                f"  day {number}: {time.monotonic() - started:6.1f} s, {summary['written']:>8,} written, "
                f"{summary['unchanged']:>8,} unchanged, {requests:>5,} collections requests",
                flush=True,
            )
            if number == 3:
                wanted = math.ceil(changed / 200)
                print(f"  day 3: {changed:,} people changed -> {requests:,} requests (ceil = {wanted:,})")
                ok = requests == math.ceil(changed / 200) and summary["written"] == changed
    return ok


def _use_real_ids(path: Path, ids: list[str]) -> None:
    """Replace the synthetic Ids by the sandbox's (row i is the i-th Contact created)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    pq.write_table(table.set_column(0, "sfid", pa.array(ids[: table.num_rows], pa.string())), path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000_000)
    parser.add_argument("--real-people", type=int, default=100_000)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    if args.child:
        return run_core(json.loads(Path(args.child).read_text()))
    work = Path(tempfile.mkdtemp(prefix="sfcrm-bench-sync-"))
    os.environ.setdefault("AIRFLOW_HOME", str(work / "airflow"))
    ok = diff_at_scale(args.people, work)
    for leftover in work.glob("*.sqlite*"):
        leftover.unlink()
    ok = real_run(args.real_people, work) and ok
    return 0 if ok else 2


if __name__ == "__main__":
    sys.exit(main())
