"""Side by side: updating Contacts by Id with ours (REST, Bulk API 2.0) and what users would pick instead.

One sandbox with injected latency — 150 ms per request (``--latency-ms``) plus 2 ms per record written
through REST (``--per-record-latency-ms``) — and the Bulk processing model at its documented defaults
(5,000 records/s over all Bulk jobs of the org, 2 s queueing per job; ``sfcrm-sandbox/docs``). For each
size (``--rows``, default 100,000 and 1,000,000), the org is seeded with that many Contacts (not
measured), then each contender updates all of them by Id (FirstName, LastName, Email) with values of
its own, and SOQL checks that every record holds them:

* ``ours REST w4`` / ``ours REST w25``: ``SalesforceSegmentExportOperator(api="rest", max_workers=4/25)``;
* ``ours Bulk 2.0``: the same operator with ``api="bulk"``, its deferral run in-process (trigger and all);
* ``official Bulk 1.0``: apache-airflow-providers-salesforce's ``SalesforceBulkOperator``, unmodified
  (batches of 10,000 through simple-salesforce's ``bulk``), reaching the sandbox by its proxy;
* ``simple-salesforce bulk2``: ``sf.bulk2.Contact.update(csv_file=...)``, unmodified;
* ``naive loop``: ``sf.Contact.update(id, record)`` per record, run on ``--naive-rows`` rows and
  extrapolated (rows/s and CPU per row measured; API requests one per record).

Each runs in a child process of its own; printed and charted: wall time, rows/s, API requests (the
sandbox's counter), client CPU seconds (user + system of the child), peak RSS of the child, and the
seconds it holds an Airflow worker slot (its wall time, except ours on Bulk: the task's time before it
defers plus its time after it resumes; the trigger's wait runs in the triggerer). A Markdown
table is printed (and pasted into the README), the chart goes to ``docs/side-by-side.png``
(matplotlib: the ``bench`` extra).

    .venv/bin/python benchmarks/bench_side_by_side.py [--rows 100000 [1000000]] [--only ours-bulk,...]
        [--json figures.json]; --from-json a.json b.json prints and charts runs made before
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
_PREFIX = "BENCH-RESULT "
LATENCY_MS, PER_RECORD_MS = 150, 2
CONTENDERS = {
    "ours-rest-4": "ours REST w4",
    "ours-rest-25": "ours REST w25",
    "ours-bulk": "ours Bulk 2.0",
    "official-bulk": "official Bulk 1.0",
    "simple-bulk2": "simple-salesforce bulk2",
    "naive": "naive loop",
}
FIELDS = {"sfid": "Id", "first": "FirstName", "last": "LastName", "email": "Email"}


# --- the children ------------------------------------------------------------------------------------


def _usage() -> tuple[float, float]:
    """CPU seconds (user + system) and peak RSS in MB of this process.

    The peak is Linux's ``VmHWM`` (this process image's own high-water mark): ``ru_maxrss`` would
    carry over the parent's peak at the fork, and the parent holds the seeded Ids.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    status = Path("/proc/self/status")
    peak_kb = usage.ru_maxrss
    if status.exists():
        line = next((line for line in status.read_text().splitlines() if line.startswith("VmHWM:")), None)
        peak_kb = int(line.split()[1]) if line else peak_kb
    return usage.ru_utime + usage.ru_stime, peak_kb / 1024


def _records(path: str) -> list[dict[str, Any]]:
    import pyarrow.parquet as pq

    return [{FIELDS[k]: v for k, v in row.items()} for row in pq.read_table(path).to_pylist()]


def _simple_salesforce(config: dict[str, Any]):
    """simple-salesforce, unmodified, on a session that trusts the sandbox's CA (OAuth token first)."""
    import requests
    from simple_salesforce import Salesforce

    session = requests.Session()
    session.verify = config["ca_path"]
    session.trust_env = False
    token = session.post(f"{config['base_url']}/services/oauth2/token", data=config["oauth"]).json()
    return Salesforce(instance_url=token["instance_url"], session_id=token["access_token"], session=session)


def _run_ours(config: dict[str, Any], api: str, max_workers: int) -> tuple[int, float | None]:
    """Rows written, and the seconds in a worker slot when the task deferred (else None: all of it)."""
    from airflow.sdk.exceptions import TaskDeferred

    from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator

    operator = SalesforceSegmentExportOperator(
        task_id=f"bench_{api}_{max_workers}",
        sobject="Contact",
        segment_path=config["segment"],
        field_mapping=FIELDS,
        rejected_rows_path=config["rejected"],
        sfcrm_conn_id="sfcrm_bench",
        api=api,
        max_workers=max_workers,
    )
    started = time.monotonic()
    try:
        return int(operator.execute({})["written"]), None
    except TaskDeferred as deferred:  # what the triggerer and the resumed task would do
        before = time.monotonic() - started
        event = asyncio.run(_first_event(deferred.trigger))
        resumed = time.monotonic()
        summary = getattr(operator, deferred.method_name)({}, event=event, **(deferred.kwargs or {}))
        return int(summary["written"]), before + time.monotonic() - resumed


async def _first_event(trigger) -> dict[str, Any]:
    async for event in trigger.run():
        return event.payload
    raise RuntimeError("the trigger ended without an event")


def _run_official(config: dict[str, Any]) -> tuple[int, float | None]:
    from airflow.providers.salesforce.operators.bulk import SalesforceBulkOperator

    payload = _records(config["segment"])
    results = SalesforceBulkOperator(
        task_id="bench_official",
        operation="update",
        object_name="Contact",
        payload=payload,
        batch_size=10_000,
        salesforce_conn_id="salesforce_bench",
    ).execute(context={})
    return sum(1 for result in results if result["success"]), None


def _run_simple_bulk2(config: dict[str, Any]) -> tuple[int, float | None]:
    sf = _simple_salesforce(config)
    results = sf.bulk2.Contact.update(csv_file=config["csv"])
    written = sum(
        int(result["numberRecordsProcessed"]) - int(result["numberRecordsFailed"]) for result in results
    )
    return written, None


def _run_naive(config: dict[str, Any]) -> tuple[int, float | None]:
    sf = _simple_salesforce(config)
    done = 0
    for record in _records(config["segment"]):
        record_id = record.pop("Id")
        sf.Contact.update(record_id, record)
        done += 1
    return done, None


def run_child(name: str, config_path: str) -> int:
    config = json.loads(Path(config_path).read_text())
    runners = {
        "ours-rest-4": lambda: _run_ours(config, "rest", 4),
        "ours-rest-25": lambda: _run_ours(config, "rest", 25),
        "ours-bulk": lambda: _run_ours(config, "bulk", 4),
        "official-bulk": lambda: _run_official(config),
        "simple-bulk2": lambda: _run_simple_bulk2(config),
        "naive": lambda: _run_naive(config),
    }
    # Imports (Airflow, simple-salesforce) are done before the clock starts: a per-process constant.
    import airflow.sdk  # noqa: F401
    import simple_salesforce  # noqa: F401

    cpu_before, _ = _usage()
    started = time.monotonic()
    written, slot = runners[name]()
    wall = time.monotonic() - started
    cpu_after, peak = _usage()
    figures = {"written": written, "wall_s": wall, "cpu_s": cpu_after - cpu_before, "rss_mb": peak}
    print(_PREFIX + json.dumps({**figures, "slot_s": wall if slot is None else slot}))
    return 0


# --- the parent --------------------------------------------------------------------------------------


def _data(work: Path, ids: list[str], tag: str) -> dict[str, str]:
    """The contender's segment (Parquet) and the same rows as CSV: its own values, to check afterwards."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "sfid": ids,
            "first": [f"F{i}" for i in range(len(ids))],
            "last": [f"{tag}{i}" for i in range(len(ids))],
            "email": [f"{tag.lower()}{i}@example.com" for i in range(len(ids))],
        }
    )
    segment, csv_path = work / f"{tag}.parquet", work / f"{tag}.csv"
    pq.write_table(table, segment, row_group_size=50_000)
    with open(csv_path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(FIELDS.values())
        writer.writerows(zip(*(table.column(c).to_pylist() for c in FIELDS), strict=True))
    return {"segment": str(segment), "csv": str(csv_path), "rejected": str(work / f"{tag}-rejected.parquet")}


def _in_child(name: str, config: dict[str, Any], work: Path) -> dict[str, Any]:
    config_path = work / f"{name}.json"
    config_path.write_text(json.dumps(config))
    child = subprocess.run(
        [sys.executable, __file__, "--child", name, str(config_path)],
        capture_output=True,
        text=True,
        env=os.environ,
    )
    lines = [line for line in child.stdout.splitlines() if line.startswith(_PREFIX)]
    if child.returncode or not lines:
        print(child.stdout[-3000:], child.stderr[-3000:], sep="\n")
        raise SystemExit(f"{name} failed")
    return json.loads(lines[-1][len(_PREFIX) :])


def _seed(hook, rows: int) -> list[str]:
    ids: list[str] = []
    for start in range(0, rows, 100_000):
        records = [{"LastName": f"Seed{i}"} for i in range(start, min(rows, start + 100_000))]
        results = hook.upsert_records("Contact", records, external_id_field=None, max_workers=25)
        assert all(r.success for r in results), [r for r in results if not r.success][:3]
        ids += [r.id for r in results]
        print(f"  seeded {len(ids):,} Contacts", flush=True)
    return ids


def measure(sandbox, hook, rows: int, naive_rows: int, only: set[str], work: Path) -> list[dict[str, Any]]:
    print(f"== {rows:,} rows: seeding (not measured)", flush=True)
    ids = _seed(hook, rows)
    common = {
        "ca_path": str(sandbox.ca_path),
        "base_url": sandbox.base_url,
        "oauth": {
            "grant_type": "password",
            "client_id": sandbox.client_id,
            "client_secret": sandbox.client_secret,
            "username": sandbox.username,
            "password": sandbox.password + sandbox.security_token,
        },
    }
    measured = []
    for number, (name, label) in enumerate(CONTENDERS.items()):
        if only and name not in only:
            continue
        tag = f"R{rows}C{number}x"
        n = min(naive_rows, rows) if name == "naive" else rows
        config = {**common, **_data(work, ids[:n], tag)}
        calls_before = sandbox.stats()["api_calls"]
        print(f"  {label}: {n:,} rows...", flush=True)
        result = _in_child(name, config, work)
        calls = sandbox.stats()["api_calls"] - calls_before
        holding = hook.count_records(f"SELECT COUNT() FROM Contact WHERE LastName LIKE '{tag}%'")
        if holding != n or result["written"] != n:
            raise SystemExit(f"{label}: {result['written']:,} written, {holding:,} hold its values, of {n:,}")
        scale = rows / n
        measured.append(
            {
                "rows": rows,
                "contender": label,
                "wall_s": result["wall_s"] * scale,
                "rows_per_s": n / result["wall_s"],
                "api_requests": round(calls * scale),
                "cpu_s": result["cpu_s"] * scale,
                "rss_mb": result["rss_mb"],
                "slot_s": result["slot_s"] * scale,
                "extrapolated_from": n if n != rows else None,
            }
        )
        print(f"    {_line(measured[-1])}", flush=True)
    return measured


def _line(row: dict[str, Any]) -> str:
    note = f" (extrapolated from {row['extrapolated_from']:,})" if row["extrapolated_from"] else ""
    return (
        f"{row['wall_s']:,.1f} s, {row['rows_per_s']:,.0f} rows/s, {row['api_requests']:,} API requests, "
        f"{row['cpu_s']:,.1f} s CPU, {row['rss_mb']:,.0f} MB peak RSS, {_slot(row)} s in a worker slot{note}"
    )


def _slot(row: dict[str, Any]) -> str:
    """Worker-slot seconds; runs recorded before they were measured (``--from-json``) show a dash."""
    return f"{row['slot_s']:,.1f}" if row.get("slot_s") is not None else "—"


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| rows | contender | wall time (s) | rows/s | API requests | client CPU (s) | peak RSS (MB) "
        "| worker slot (s) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        star = "*" if row["extrapolated_from"] else ""
        lines.append(
            f"| {row['rows']:,} | {row['contender']}{star} | {row['wall_s']:,.1f} | {row['rows_per_s']:,.0f} "
            f"| {row['api_requests']:,} | {row['cpu_s']:,.1f} | {row['rss_mb']:,.0f} | {_slot(row)} |"
        )
    if any(row["extrapolated_from"] for row in rows):
        naive = next(row["extrapolated_from"] for row in rows if row["extrapolated_from"])
        lines.append(f"\n\\* measured on {naive:,} rows; wall time, API requests and CPU extrapolated.")
    return "\n".join(lines)


def chart(rows: list[dict[str, Any]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (the `bench` extra): no chart")
        return
    sizes = sorted({row["rows"] for row in rows})
    labels = list(dict.fromkeys(row["contender"] for row in rows))
    figure, axes = plt.subplots(1, 2, figsize=(13, 5))
    width = 0.8 / len(sizes)
    for k, size in enumerate(sizes):
        by_label = {row["contender"]: row for row in rows if row["rows"] == size}
        positions = [i + (k - (len(sizes) - 1) / 2) * width for i in range(len(labels))]
        for axis, key in zip(axes, ("rows_per_s", "api_requests"), strict=True):
            values = [by_label[label][key] if label in by_label else 0 for label in labels]
            axis.bar(positions, values, width, label=f"{size:,} rows")
    for axis, title in zip(
        axes, ("throughput (rows/s, higher is better)", "API requests (log, lower is better)"), strict=True
    ):
        axis.set_title(title)
        axis.set_xticks(range(len(labels)), labels, rotation=25, ha="right")
        axis.legend()
    axes[1].set_yscale("log")
    figure.suptitle(
        f"Updating Contacts by Id; sandbox latency {LATENCY_MS} ms/request + {PER_RECORD_MS} ms/record "
        "(REST), Bulk model 5,000 records/s org-wide"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    print(f"chart: {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--naive-rows", type=int, default=200)
    parser.add_argument("--only", default="", help=f"comma-separated, of {', '.join(CONTENDERS)}")
    parser.add_argument("--chart", type=Path, default=REPO / "docs" / "side-by-side.png")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--from-json",
        type=Path,
        nargs="+",
        default=None,
        help="print and chart figures written before, no run",
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_child(*args.child)
    if args.from_json:
        rows = [row for path in args.from_json for row in json.loads(path.read_text())]
        print(table(rows))
        chart(rows, args.chart)
        return 0

    work = Path(tempfile.mkdtemp(prefix="sfcrm-bench-side-"))
    os.environ.setdefault("AIRFLOW_HOME", str(work / "airflow"))
    sys.path.insert(0, str(REPO))
    from sfcrm_sandbox.process import start_sandbox

    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

    only = {name.strip() for name in args.only.split(",") if name.strip()}
    with start_sandbox(
        work / "sandbox", proxy_port=0, latency_ms=LATENCY_MS, per_record_latency_ms=PER_RECORD_MS
    ) as sandbox:
        os.environ["AIRFLOW_CONN_SFCRM_BENCH"] = json.dumps(sandbox.connection_dict())
        os.environ["AIRFLOW_CONN_SALESFORCE_BENCH"] = json.dumps(sandbox.salesforce_connection_dict("token"))
        os.environ["REQUESTS_CA_BUNDLE"] = str(sandbox.ca_path)  # the official hook's requests trust it
        hook = SalesforceCrmHook("sfcrm_bench")
        rows = []
        for size in args.rows:
            rows += measure(sandbox, hook, size, args.naive_rows, only, work)
    print()
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    chart(rows, args.chart)
    return 0


if __name__ == "__main__":
    sys.exit(main())
