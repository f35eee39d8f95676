"""Each record at most once in an extract's output, in Id order.

The query is ordered by Id, so a record that shows up twice (a page served again after a retry, a
read resumed after its query cursor expired) shows up right after itself, and is dropped: one query
reads one version of each record. An Id that goes backwards means the rows are not in the order the
output's determinism relies on: an error, not something to paper over.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc


class OrderError(ValueError):
    """Salesforce returned rows out of Id order."""


class UniqueRows:
    """Drops repeated Ids from consecutive batches of Id-ordered rows (``dropped`` counts them).

    Ids are compared on their first 15 characters: the case-sensitive Id (the 3-character suffix is
    a checksum of them).
    """

    def __init__(self) -> None:
        self.last_id: str | None = None
        self.dropped = 0

    def __call__(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        keep: list[int] = []
        previous = self.last_id
        for index, value in enumerate(batch.column("Id").to_pylist()):
            record_id = value[:15]
            if previous is not None and record_id <= previous:
                if record_id < previous:
                    raise OrderError(f"rows came out of Id order: {value} after {previous}")
                self.dropped += 1
                continue
            keep.append(index)
            previous = record_id
        self.last_id = previous
        if len(keep) == batch.num_rows:
            return batch
        return batch.take(pa.array(keep, pa.int64()))


def count_true(batch: pa.RecordBatch, column: str) -> int:
    """How many rows of ``batch`` have ``column`` true (deleted rows, for the summary)."""
    return int(pc.sum(pc.cast(batch.column(column), pa.int64())).as_py() or 0)
