"""How fast the sandbox itself works through Bulk API 2.0 jobs (the processing model switched off).

Starts a sandbox with ``--bulk-records-per-s 0 --bulk-job-latency-ms 0`` (as fast as possible),
then times, for ``--rows`` Contacts: an insert job, an update-by-Id job of the same rows and a query
job reading them back, each from create to its last result byte; prints records/s and the
sandbox's peak memory. The goal: well above the modelled rate (``--bulk-records-per-s``, default
5,000/s), so that a benchmark against the model measures the model and the client, never the
sandbox's own speed, and memory that does not grow with the rows (data and results are files).

    .venv/bin/python benchmarks/bench_sandbox_bulk.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import requests
from _sandbox_client import authed_session
from sfcrm_sandbox.process import start_sandbox

TERMINAL = ("JobComplete", "Failed", "Aborted")


def _peak_rss_mb(pid: int) -> str:
    """The process's peak resident memory (Linux ``VmHWM``)."""
    status = Path(f"/proc/{pid}/status")
    if not status.exists():
        return "n/a"
    line = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
    return f"{int(line.split()[1]) / 1024:,.0f} MB"


def _wait(session: requests.Session, url: str) -> dict:
    while True:
        info = session.get(url).json()
        if info["state"] in TERMINAL:
            return info
        time.sleep(0.05)


def _ingest(session: requests.Session, api: str, operation: str, csv_text: str) -> tuple[dict, str]:
    job = session.post(f"{api}/jobs/ingest", json={"object": "Contact", "operation": operation}).json()
    session.put(f"{api}/jobs/ingest/{job['id']}/batches", data=csv_text.encode()).raise_for_status()
    session.patch(f"{api}/jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).raise_for_status()
    info = _wait(session, f"{api}/jobs/ingest/{job['id']}")
    return info, session.get(f"{api}/jobs/ingest/{job['id']}/successfulResults").text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as data_dir,
        start_sandbox(data_dir, bulk_records_per_s=0, bulk_job_latency_ms=0) as running,
    ):
        session = authed_session(running)
        api = f"{running.base_url}/services/data/v62.0"
        print(f"sandbox Bulk API 2.0, {args.rows:,} Contacts, processing model off")

        began = time.perf_counter()
        info, success = _ingest(
            session,
            api,
            "insert",
            "LastName,Email\n" + "".join(f"B{i},b{i}@x.io\n" for i in range(args.rows)),
        )
        elapsed = time.perf_counter() - began
        print(f"  insert  {info['numberRecordsProcessed']:>9,} rows  {args.rows / elapsed:>8,.0f} records/s")
        ids = [line.split(",", 1)[0].strip('"') for line in success.splitlines()[1:]]

        began = time.perf_counter()
        info, _ = _ingest(session, api, "update", "Id,Title\n" + "".join(f"{i},T\n" for i in ids))
        elapsed = time.perf_counter() - began
        print(f"  update  {info['numberRecordsProcessed']:>9,} rows  {args.rows / elapsed:>8,.0f} records/s")

        began = time.perf_counter()
        job = session.post(
            f"{api}/jobs/query", json={"operation": "query", "query": "SELECT Id, Title FROM Contact"}
        ).json()
        _wait(session, f"{api}/jobs/query/{job['id']}")
        rows, locator = 0, None
        while locator != "null":
            page = session.get(
                f"{api}/jobs/query/{job['id']}/results",
                params={"maxRecords": 50_000, **({"locator": locator} if locator else {})},
            )
            rows += int(page.headers["Sforce-NumberOfRecords"])
            locator = page.headers["Sforce-Locator"]
        elapsed = time.perf_counter() - began
        print(f"  query   {rows:>9,} rows  {rows / elapsed:>8,.0f} records/s")
        print(f"  sandbox peak RSS {_peak_rss_mb(running.process.pid)}")


if __name__ == "__main__":
    main()
