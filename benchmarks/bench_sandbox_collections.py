"""How fast the sandbox answers a 200-record sObject Collections update (no injected latency).

Starts a sandbox in a temporary directory, creates 1,000 Contacts, then times ``--rounds``
``PATCH composite/sobjects`` requests of 200 records each over one kept-alive HTTPS connection
and prints median / p95 / max in milliseconds. The goal: well under 50 ms, so the sandbox is
never the bottleneck of the product's own benchmarks.

    .venv/bin/python benchmarks/bench_sandbox_collections.py [--rounds 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from _sandbox_client import authed_session
from sfcrm_sandbox.process import start_sandbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--contacts", type=int, default=1000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data_dir, start_sandbox(data_dir) as running:
        session = authed_session(running)
        api = f"{running.base_url}/services/data/v62.0"
        ids: list[str] = []
        create_ms: list[float] = []
        for start in range(0, args.contacts, 200):
            records = [
                {
                    "attributes": {"type": "Contact"},
                    "LastName": f"Bench {i}",
                    "Email": f"bench{i}@example.com",
                }
                for i in range(start, min(start + 200, args.contacts))
            ]
            began = time.perf_counter()
            response = session.post(
                f"{api}/composite/sobjects", json={"allOrNone": False, "records": records}
            )
            create_ms.append((time.perf_counter() - began) * 1000)
            response.raise_for_status()
            ids += [r["id"] for r in response.json()]

        timings: list[float] = []
        server: list[float] = []
        for round_no in range(args.rounds):
            chunk = ids[(round_no * 200) % len(ids) :][:200]
            chunk += ids[: 200 - len(chunk)]
            records = [
                {"attributes": {"type": "Contact"}, "Id": record_id, "Title": f"round {round_no}"}
                for record_id in chunk
            ]
            began = time.perf_counter()
            response = session.patch(
                f"{api}/composite/sobjects", json={"allOrNone": False, "records": records}
            )
            timings.append((time.perf_counter() - began) * 1000)
            response.raise_for_status()
            server.append(float(response.headers["Server-Timing"].partition("dur=")[2]))
            assert all(r["success"] for r in response.json())

    timings.sort()
    server.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    print(f"sandbox 200-record collections create: median {statistics.median(create_ms):.1f} ms")
    print(
        f"sandbox 200-record collections update ({args.rounds} rounds, client round trip): "
        f"median {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms, max {timings[-1]:.1f} ms"
    )
    print(
        f"  of which the sandbox itself (Server-Timing): median {statistics.median(server):.1f} ms, "
        f"p95 {server[max(0, int(len(server) * 0.95) - 1)]:.1f} ms"
    )


if __name__ == "__main__":
    main()
