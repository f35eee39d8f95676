"""What an export leaves behind: the rejected-rows file, the stale-rows file and the summary (XCom).

The rejected-rows file is Parquet, written chunk by chunk (memory stays flat), one row per
rejected input row: ``sfcrm_row_number`` (0-based position in the input), ``sfcrm_identity``,
``sfcrm_error_code`` (the first error), ``sfcrm_error_codes`` / ``sfcrm_error_messages`` /
``sfcrm_error_fields`` (one entry per error, aligned), ``sfcrm_source`` (``client`` when refused
before sending, ``salesforce`` when Salesforce refused it), then the row's original columns, so
the file can be fed back as a segment to replay it. With a sync state, the stale-rows file lists
the rows older than what Salesforce holds (``sfcrm_row_number``, ``sfcrm_identity``,
``sfcrm_stale_fields``, then the original columns). A person who vanished from the segment has no
row number (null) in either file. Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from airflow_provider_sfcrm.activation.results import RecordError

META_PREFIX = "sfcrm_"
SOURCE_CLIENT = "client"
SOURCE_SALESFORCE = "salesforce"

META_SCHEMA = pa.schema(
    [
        ("sfcrm_row_number", pa.int64()),
        ("sfcrm_identity", pa.string()),
        ("sfcrm_error_code", pa.string()),
        ("sfcrm_error_codes", pa.list_(pa.string())),
        ("sfcrm_error_messages", pa.list_(pa.string())),
        ("sfcrm_error_fields", pa.list_(pa.list_(pa.string()))),
        ("sfcrm_source", pa.string()),
    ]
)


STALE_META_SCHEMA = pa.schema(
    [
        ("sfcrm_row_number", pa.int64()),
        ("sfcrm_identity", pa.string()),
        ("sfcrm_stale_fields", pa.list_(pa.string())),
    ]
)


def rejected_schema(source_schema: pa.Schema, meta: pa.Schema = META_SCHEMA) -> pa.Schema:
    """The file's schema: our columns, then the input's (minus ``sfcrm_*`` columns of a replayed file)."""
    originals = [f for f in source_schema if not f.name.startswith(META_PREFIX)]
    return pa.schema([*meta, *originals])


class RejectedRowsError(RuntimeError):
    """The rejected-rows file cannot be written (permissions, disk full, an unreachable store)."""


class RejectedRowsWriter:
    """Append rejected rows to a Parquet file and count them by their first error code.

    :param where: a local path or a binary file object (e.g. an ``ObjectStoragePath`` opened ``wb``).
    :param source_schema: the input's schema (the original columns kept in the file).
    """

    meta_schema = META_SCHEMA

    def __init__(self, where: str | IO[bytes], source_schema: pa.Schema):
        self.schema = rejected_schema(source_schema, self.meta_schema)
        self._originals = [f.name for f in self.schema][len(self.meta_schema) :]
        with _writing():
            self._writer = pq.ParquetWriter(where, self.schema)
        self.rejected = 0
        self.by_code: Counter[str] = Counter()

    def _append(self, meta: list[pa.Array], rows: pa.Table) -> None:
        originals = [rows.column(name) for name in self._originals]
        with _writing():
            self._writer.write_table(pa.Table.from_arrays([*meta, *originals], schema=self.schema))

    def write(
        self,
        rows: pa.Table,
        row_numbers: Sequence[int],
        identities: Sequence[str | None],
        errors: Sequence[Sequence[RecordError]],
        source: str | Sequence[str],
    ) -> None:
        """Append ``rows`` (the rejected rows' original columns, in the order of the other lists)."""
        n = rows.num_rows
        if not n:
            return
        if not (len(row_numbers) == len(identities) == len(errors) == n):
            raise ValueError("rejected rows and their row numbers, identities and errors must line up")
        if any(not errs for errs in errors):
            raise ValueError("every rejected row needs at least one error")
        sources = [source] * n if isinstance(source, str) else list(source)
        meta = [
            pa.array(row_numbers, pa.int64()),
            pa.array(identities, pa.string()),
            pa.array([errs[0].status_code for errs in errors], pa.string()),
            pa.array([[e.status_code for e in errs] for errs in errors], pa.list_(pa.string())),
            pa.array([[e.message for e in errs] for errs in errors], pa.list_(pa.string())),
            pa.array([[list(e.fields) for e in errs] for errs in errors], pa.list_(pa.list_(pa.string()))),
            pa.array(sources, pa.string()),
        ]
        self._append(meta, rows)
        self.rejected += n
        self.by_code.update(errs[0].status_code for errs in errors)

    def write_uniform(
        self, rows: pa.Table, first_row: int, identities: pa.Array, error: RecordError, source: str
    ) -> None:
        """Append consecutive rows (from row number ``first_row``) that all share one error.

        Built column-wise, without a Python object per row: fast enough to save millions of rows
        in the seconds a stopped task is given.
        """
        n = rows.num_rows
        if not n:
            return
        zeros = pa.array(np.zeros(n, dtype=np.int32))
        offsets = pa.array(np.arange(n + 1, dtype=np.int32))

        def repeated(value: object, kind: pa.DataType) -> pa.Array:
            return pa.array([value], kind).take(zeros)

        fields = pa.ListArray.from_arrays(offsets, repeated(list(error.fields), pa.list_(pa.string())))
        meta = [
            pa.array(np.arange(first_row, first_row + n, dtype=np.int64)),
            identities.cast(pa.string()),
            repeated(error.status_code, pa.string()),
            pa.ListArray.from_arrays(offsets, repeated(error.status_code, pa.string())),
            pa.ListArray.from_arrays(offsets, repeated(error.message, pa.string())),
            fields,
            repeated(source, pa.string()),
        ]
        self._append(meta, rows)
        self.rejected += n
        self.by_code[error.status_code] += n

    def close(self) -> None:
        with _writing():
            self._writer.close()

    def __enter__(self) -> RejectedRowsWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class StaleRowsWriter(RejectedRowsWriter):
    """Append the rows a sync did not write because Salesforce holds newer data for them.

    :param where: a local path or a binary file object.
    :param source_schema: the input's schema (the original columns kept in the file).
    """

    meta_schema = STALE_META_SCHEMA

    def write_stale(
        self, rows: pa.Table, row_numbers: pa.Array, identities: pa.Array, stale_fields: pa.Array
    ) -> None:
        """Append ``rows`` with their row numbers (null for vanished people), identities and stale fields."""
        if rows.num_rows:
            self._append(
                [
                    row_numbers.cast(pa.int64()),
                    identities.cast(pa.string()),
                    stale_fields.cast(pa.list_(pa.string())),
                ],
                rows,
            )
            self.rejected += rows.num_rows


@contextlib.contextmanager
def _writing() -> Iterator[None]:
    try:
        yield
    except (OSError, pa.ArrowException) as exc:
        raise RejectedRowsError(f"cannot write the rejected rows: {exc}") from None


@dataclass(kw_only=True)
class ExportSummary:
    """The task's result (XCom): counts, API spend and where the rejected rows are.

    ``total == written + rejected + filtered + unchanged + stale`` always (``filtered``: the rows a
    ``row_filter`` left out; the last two only with a sync state, which also counts in ``total`` the
    ``vanished`` people it exited);
    ``created + updated + created_or_updated == written``
    (all three None in an upsert dry run, where Salesforce alone knows which rows exist).
    ``created_or_updated`` counts the upserted rows whose split is unknowable — Salesforce's
    answer was lost and the request sent again, so the second answer says "updated" for a record
    the first one may have created — and ``created_or_updated_rows`` lists them as ``[first, last]``
    row-number ranges. ``stopped`` is True when the task was stopped (``on_kill``) before the end:
    the rows it did not send are rejected as ``TASK_STOPPED``.
    """

    sobject: str
    operation: str
    total: int
    written: int
    created: int | None
    updated: int | None
    created_or_updated: int | None = 0
    created_or_updated_rows: list[list[int]] = field(default_factory=list)
    rejected: int
    rejected_by_code: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    stale: int = 0
    vanished: int = 0
    filtered: int = 0
    api_calls: int | None = None
    api_usage: dict[str, int] | None = None
    duration_s: float = 0.0
    rejected_rows_path: str | None = None
    dry_run: bool = False
    stopped: bool = False
    sync_state: str | None = None
    as_of: str | None = None
    full_resync: bool = False
    stale_rows_path: str | None = None
    #: How the records went: ``"rest"`` (sObject Collections) or ``"bulk"`` (Bulk API 2.0 jobs).
    api: str = "rest"

    def __post_init__(self) -> None:
        if self.total != self.written + self.rejected + self.filtered + self.unchanged + self.stale:
            raise AssertionError(
                f"export counts do not add up: total {self.total} != written {self.written} "
                f"+ rejected {self.rejected} + filtered {self.filtered} + unchanged {self.unchanged} "
                f"+ stale {self.stale}"
            )
        split = (self.created, self.updated, self.created_or_updated)
        if None not in split and sum(split) != self.written:  # type: ignore[arg-type]
            raise AssertionError(
                f"created/updated/created_or_updated {split} do not add up to {self.written}"
            )
        if sum(self.rejected_by_code.values()) != self.rejected:
            raise AssertionError("rejected_by_code does not add up to rejected")

    @property
    def rejected_ratio(self) -> float:
        return self.rejected / self.total if self.total else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejected_by_code"] = dict(sorted(self.rejected_by_code.items()))
        return data

    def stopped_message(self) -> str:
        """Why a stopped task fails: what was done, and the file to replay to finish the job."""
        stopped = self.rejected_by_code.get("TASK_STOPPED", 0)
        return (
            f"the export was stopped before the end: {self.written:,} of {self.total:,} rows written, "
            f"{stopped:,} not sent (TASK_STOPPED) and {self.rejected - stopped:,} rejected for other "
            f"reasons. Replay the rejected rows to finish: {self.rejected_rows_path}"
        )

    def rejected_message(self, max_ratio: float) -> str:
        """Why a task with too many rejected rows fails: counts by code and where the rows are."""
        codes = ", ".join(f"{code}={count}" for code, count in sorted(self.rejected_by_code.items()))
        return (
            f"{self.rejected} of {self.total} rows ({self.rejected_ratio:.2%}) were rejected, more than "
            f"max_rejected_ratio={max_ratio:g} allows ({codes}); the other {self.written} rows were written. "
            f"Rejected rows: {self.rejected_rows_path}"
        )
