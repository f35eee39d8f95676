"""How fast the sandbox's SOQL engine scans a large object, and how little memory it holds.

Speed is measured over materialised rows (the engine alone). Memory is measured over rows generated
lazily, as the sandbox streams them from SQLite, so the peak shown is the engine's own: it tracks the
size of the result, not of the table. Per-query result sizes are those of one 100,000-row slice.

    .venv/bin/python benchmarks/bench_soql_engine.py [rows]      (default 1,000,000)
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import date

from sfcrm_sandbox.models.soql import FieldInfo, execute, parse

FIELDS = {
    f.name.lower(): f
    for f in (
        FieldInfo("Id", "id"),
        FieldInfo("Email", "email"),
        FieldInfo("LastName", "string"),
        FieldInfo("crm_1_seg__c", "textarea", filterable=False, sortable=False),
        FieldInfo("Score__c", "double"),
        FieldInfo("CreatedDate", "datetime"),
    )
}

QUERIES = [
    "SELECT COUNT() FROM Contact",
    "SELECT Id FROM Contact WHERE Email = 'user777777@example.com'",
    "SELECT Id, Email FROM Contact WHERE Email LIKE 'user12345%'",
    "SELECT COUNT() FROM Contact WHERE Score__c > 50 AND (LastName = 'Smith' OR LastName = 'Jones')",
    "SELECT COUNT() FROM Contact WHERE CreatedDate >= 2024-01-15T00:00:00Z",
    "SELECT Id, Score__c FROM Contact ORDER BY Score__c DESC, Email LIMIT 10 OFFSET 5",
    "SELECT Id FROM Contact LIMIT 2000",
]


def rows(count: int) -> Iterator[dict]:
    names = ("Smith", "Jones", "Garcia", "Chen", "Okafor")
    for n in range(count):
        yield {
            "Id": f"003{n:012d}AAA",  # well-formed enough for the engine; to18() would dominate the timing
            "Email": f"user{n}@example.com",
            "LastName": names[n % 5],
            "crm_1_seg__c": "seg-1,seg-2",
            "Score__c": (n * 7919) % 100,
            "CreatedDate": f"2024-01-{1 + n % 28:02d}T10:00:00.000+0000",
        }


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    # Time the engine alone on materialised rows (a slice of the table, scanned again and again), then
    # measure peak memory over a lazily generated table, as the sandbox feeds it.
    chunk = list(rows(min(count, 100_000)))
    passes = max(1, count // len(chunk))
    lazy = min(count, 200_000)  # tracemalloc makes Python several times slower: keep this part short
    print(f"{len(chunk) * passes:,} rows scanned per query; peak memory over {lazy:,} generated rows")
    for soql in QUERIES:
        query = parse(soql)
        start = time.perf_counter()
        for _ in range(passes):
            result = execute(query, chunk, FIELDS, today=date(2024, 2, 1))
        elapsed = time.perf_counter() - start
        size = result if isinstance(result, int) else len(result)
        tracemalloc.start()
        execute(query, rows(lazy), FIELDS, today=date(2024, 2, 1))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            f"{elapsed:6.2f} s ({len(chunk) * passes / elapsed / 1e6:7.2f} M rows/s)  result {size:>7,}  "
            f"peak {peak / 1024:6.0f} KiB  | {soql}"
        )


if __name__ == "__main__":
    main()
