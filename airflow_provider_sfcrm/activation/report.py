"""What an export leaves behind: the rejected-rows file and the summary returned to XCom.

The rejected-rows file is Parquet, written chunk by chunk (memory stays flat), one row per
rejected input row: ``sfcrm_row_number`` (0-based position in the input), ``sfcrm_identity``,
``sfcrm_error_code`` (the first error), ``sfcrm_error_codes`` / ``sfcrm_error_messages`` /
``sfcrm_error_fields`` (one entry per error, aligned), ``sfcrm_source`` (``client`` when refused
before sending, ``salesforce`` when Salesforce refused it), then the row's original columns, so
the file can be fed back as a segment to replay it. Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, Any

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


def rejected_schema(source_schema: pa.Schema) -> pa.Schema:
    """The file's schema: our columns, then the input's (minus ``sfcrm_*`` columns of a replayed file)."""
    originals = [f for f in source_schema if not f.name.startswith(META_PREFIX)]
    return pa.schema([*META_SCHEMA, *originals])


class RejectedRowsWriter:
    """Append rejected rows to a Parquet file and count them by their first error code.

    :param where: a local path or a binary file object (e.g. an ``ObjectStoragePath`` opened ``wb``).
    :param source_schema: the input's schema (the original columns kept in the file).
    """

    def __init__(self, where: str | IO[bytes], source_schema: pa.Schema):
        self.schema = rejected_schema(source_schema)
        self._originals = [f.name for f in self.schema][len(META_SCHEMA) :]
        self._writer = pq.ParquetWriter(where, self.schema)
        self.rejected = 0
        self.by_code: Counter[str] = Counter()

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
        originals = [rows.column(name) for name in self._originals]
        batch = pa.Table.from_arrays([*meta, *originals], schema=self.schema)
        self._writer.write_table(batch)
        self.rejected += n
        self.by_code.update(errs[0].status_code for errs in errors)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> RejectedRowsWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass
class ExportSummary:
    """The task's result (XCom): counts, API spend and where the rejected rows are.

    ``total == written + rejected`` always; ``created``/``updated`` split ``written`` (both None
    in an upsert dry run, where Salesforce alone knows which rows exist).
    """

    sobject: str
    operation: str
    total: int
    written: int
    created: int | None
    updated: int | None
    rejected: int
    rejected_by_code: dict[str, int] = field(default_factory=dict)
    api_calls: int | None = None
    api_usage: dict[str, int] | None = None
    duration_s: float = 0.0
    rejected_rows_path: str | None = None
    dry_run: bool = False

    def __post_init__(self) -> None:
        if self.total != self.written + self.rejected:
            raise AssertionError(
                f"export counts do not add up: total {self.total} != written {self.written} "
                f"+ rejected {self.rejected}"
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

    def rejected_message(self, max_ratio: float) -> str:
        """Why a task with too many rejected rows fails: counts by code and where the rows are."""
        codes = ", ".join(f"{code}={count}" for code, count in sorted(self.rejected_by_code.items()))
        return (
            f"{self.rejected} of {self.total} rows ({self.rejected_ratio:.2%}) were rejected, more than "
            f"max_rejected_ratio={max_ratio:g} allows ({codes}); the other {self.written} rows were written. "
            f"Rejected rows: {self.rejected_rows_path}"
        )
