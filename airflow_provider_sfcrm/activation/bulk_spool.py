"""An export through Bulk API 2.0: the rows to send spooled as CSV job data, then the jobs' results
mapped back onto the input rows.

:class:`BulkSpoolExport` runs the same pipeline as :class:`~.segment.SegmentExport` (the same
checks, duplicates, client-side rejects and counts of rows refused before sending), but its writer
does not send: every record that can be encoded becomes a row of a CSV part (at most
``max_part_bytes``: one job each), and the rows' original columns and input row numbers are kept
beside it. :func:`conclude` later takes each job's per-row results (see :mod:`.bulk_csv`) and
produces what a REST export would have: written / created / updated counts, and every row
Salesforce refused in the rejected-rows file with its code. With ``choose`` (``api="auto"``),
whether to spool at all is decided once the first pass has found the rows to send; a run that
chooses not to is the REST export itself (:class:`SpoolChoice`).

Spool directory: ``part-<n>.csv`` (the job data), ``hashes-<n>.npy`` (each row's key),
``rows.npy`` (input row number of each spooled row, over all parts), ``sent.parquet`` (their
original columns), ``client-rejected.parquet`` (rows refused before sending, written by the caller),
``manifest.json`` (written last: the spool is complete). A spool of several operations (the sync
state's: updates by Id, upserts, inserts) keeps one such set of files per operation in a
subdirectory (a *section*); its manifest lists them (:func:`job_parts`). Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from airflow_provider_sfcrm.activation.bulk_csv import RowEncoder, encode_rows, record_row, row_hash
from airflow_provider_sfcrm.activation.json_values import UnsendableValueError
from airflow_provider_sfcrm.activation.mapping import ExportMapping, audience_fields
from airflow_provider_sfcrm.activation.report import SOURCE_CLIENT, SOURCE_SALESFORCE, RejectedRowsWriter
from airflow_provider_sfcrm.activation.results import UNKNOWN_OUTCOME, RecordError, RecordResult
from airflow_provider_sfcrm.activation.row_validation import as_text
from airflow_provider_sfcrm.activation.segment import ExportCounts, SegmentExport

MANIFEST = "manifest.json"
CLIENT_REJECTED = "client-rejected.parquet"
_SENT, _ROWS = "sent.parquet", "rows.npy"


def job_columns(mapping: ExportMapping) -> list[str]:
    """The CSV header of the export's jobs: the identity field, the mapped fields, the audience fields."""
    columns = [mapping.identity_field] if mapping.identity_field else []
    for name in [*mapping.attributes.values(), *audience_fields(mapping)]:
        if name not in columns:
            columns.append(name)
    return columns


@dataclass(frozen=True)
class SpoolManifest:
    """A complete spool: its header, rows per part, and the counts of the validation pass."""

    header: list[str]
    part_rows: list[int]
    counts: dict[str, Any]
    #: Several operations: ``[{"operation", "directory" (relative), "header", "part_rows"}]``, in
    #: job order; ``part_rows`` above is then every section's, in the same order.
    sections: list[dict[str, Any]] | None = None
    #: What completing a spool made with a sync state needs (see :mod:`..sync.bulk`).
    sync: dict[str, Any] | None = None

    @property
    def spooled(self) -> int:
        return sum(self.part_rows)

    def to_dict(self) -> dict[str, Any]:
        data = {"header": self.header, "part_rows": self.part_rows, "counts": self.counts}
        if self.sections is not None:
            data.update(sections=self.sections, sync=self.sync)
        return data


@dataclass(frozen=True)
class JobPart:
    """One job's data: its operation, the section directory its files are in, its part there."""

    operation: str
    directory: Path
    part: int
    rows: int
    header: list[str]


def job_parts(directory: str | Path, manifest: SpoolManifest, operation: str) -> list[JobPart]:
    """Every job of a spool, in order (``operation``: the export's, for a spool of one section)."""
    directory = Path(directory)
    sections = manifest.sections or [
        {"operation": operation, "directory": ".", "header": manifest.header, "part_rows": manifest.part_rows}
    ]
    return [
        JobPart(section["operation"], directory / section["directory"], part, rows, list(section["header"]))
        for section in sections
        for part, rows in enumerate(section["part_rows"])
    ]


def manifest_counts(counts: ExportCounts) -> dict[str, Any]:
    """The counts of the validation (and plan) pass that the jobs' results do not change."""
    return {
        "total": counts.total,
        "rejected": counts.rejected,
        "rejected_by_code": dict(counts.rejected_by_code),
        "filtered": counts.filtered,
        "unchanged": counts.unchanged,
        "stale": counts.stale,
        "vanished": counts.vanished,
    }


class BulkSpool:
    """Write the job data of one export into ``directory`` (see the module's docstring).

    :param header: the jobs' columns (:func:`job_columns`).
    :param max_part_bytes: CSV bytes per part, its header row included.
    """

    def __init__(self, directory: str | Path, header: Sequence[str], *, max_part_bytes: int):
        self.directory = Path(directory)
        self.header = list(header)
        self.max_part_bytes = max_part_bytes
        self._header_bytes = len(encode_rows(self.header, []))
        self._columns = frozenset(self.header)
        self._encode_row = RowEncoder()
        self._part_rows: list[int] = []
        self._part_size = 0
        self._part: Any = None
        self._hashes: list[np.ndarray] = []
        self._pending_hashes: list[int] = []
        self._rows: list[np.ndarray] = []
        self._sent: pq.ParquetWriter | None = None

    def write(self, records: list[dict[str, Any]], progress: Callable[[int], None]) -> list[RecordResult]:
        """The export's writer: spool each record; a value that cannot be sent fails its record at once."""
        results = []
        for index, record in enumerate(records):
            try:
                values = record_row(record, self.header, self._columns)
            except UnsendableValueError as exc:
                results.append(RecordResult.failure(index, exc.code, f"record {index}: {exc}", [exc.field]))
                continue
            self._append(values)
            results.append(RecordResult(index, True))
        progress(len(records))
        return results

    @property
    def parts(self) -> int:
        """How many parts (jobs) the spool holds so far."""
        return len(self._part_rows)

    def keep(self, table: pa.Table, rows: Sequence[int | None]) -> None:
        """Keep the original columns and input row numbers of the rows just spooled (in spool order)."""
        if not table.num_rows:
            return
        if self._sent is None:
            self._sent = pq.ParquetWriter(self.directory / _SENT, table.schema)
        self._sent.write_table(table.cast(self._sent.schema) if table.schema != self._sent.schema else table)
        # A person who vanished from the segment (exited by a sync) has no row number: -1.
        self._rows.append(np.asarray([-1 if row is None else row for row in rows], dtype=np.int64))

    def _append(self, values: list[str]) -> None:
        line = self._encode_row(values)
        if self._part is None or self._part_size + len(line) > self.max_part_bytes and self._part_rows[-1]:
            self._close_part()
            self._part = open(self.directory / f"part-{len(self._part_rows)}.csv", "wb")  # noqa: SIM115
            self._part.write(encode_rows(self.header, []))
            self._part_rows.append(0)
            self._part_size = self._header_bytes
        self._part.write(line)
        self._part_size += len(line)
        self._part_rows[-1] += 1
        self._pending_hashes.append(row_hash(values))

    def _close_part(self) -> None:
        if self._part is None:
            return
        self._part.close()
        np.save(
            self.directory / f"hashes-{len(self._part_rows) - 1}.npy",
            np.array(self._pending_hashes, np.int64),
        )
        self._pending_hashes = []
        self._part = None

    def finish(self, counts: ExportCounts) -> SpoolManifest:
        """Close the files and write the manifest (last: its presence means the spool is complete)."""
        self._close_part()
        if self._sent is not None:
            self._sent.close()
        rows = np.concatenate(self._rows) if self._rows else np.zeros(0, np.int64)
        np.save(self.directory / _ROWS, rows)
        manifest = SpoolManifest(self.header, list(self._part_rows), manifest_counts(counts))
        if manifest.spooled != len(rows):  # pragma: no cover - guarded by construction
            raise RuntimeError(f"spooled {manifest.spooled} records but kept {len(rows)} rows")
        write_json_atomically(self.directory / MANIFEST, manifest.to_dict())
        return manifest


def read_manifest(directory: str | Path) -> SpoolManifest | None:
    """The manifest of a complete spool in ``directory``; None when there is none (yet)."""
    path = Path(directory) / MANIFEST
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return SpoolManifest(
        data["header"], list(data["part_rows"]), data["counts"], data.get("sections"), data.get("sync")
    )


def part_data(directory: str | Path, part: int) -> bytes:
    return (Path(directory) / f"part-{part}.csv").read_bytes()


def part_hashes(directory: str | Path, part: int) -> np.ndarray:
    return np.load(Path(directory) / f"hashes-{part}.npy")


def write_json_atomically(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` so that it appears whole or not at all."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data, sort_keys=True))
    os.replace(temporary, path)


#: ``choose(rows_to_send, segment_rows) -> bool``: spool (True) or send through the writer (False).
ChooseFn = Callable[[int, int], bool]


class SpoolChoice:
    """Whether a spooling export spools: always without ``choose``; else as ``choose`` decides, once.

    ``choose(rows_to_send, segment_rows)`` is called once the first pass has found the rows to send
    (see ``_rows_to_send`` of the export), before anything is sent or spooled. False turns the export
    into the one it derives from: the rows are sent through ``write`` and counted as they are
    answered, and nothing is spooled. Mixed into :class:`BulkSpoolExport` and the sync state's
    :class:`~..sync.bulk.SyncBulkSpoolExport`.
    """

    spooling = True

    def _choice(self, write: Any, choose: ChooseFn | None) -> None:
        if choose is not None and write is None:
            raise ValueError("choose needs the writer that sends the rows when it does not spool them")
        self._rest_write, self._choose = write, choose

    def _first_pass(self, pairing: Any) -> int:
        total = super()._first_pass(pairing)  # type: ignore[misc]
        if self._choose is not None:
            self.spooling = bool(self._choose(self._rows_to_send(pairing), total))  # type: ignore[attr-defined]
            if not self.spooling:
                self.write = self._rest_write
        return total


class BulkSpoolExport(SpoolChoice, SegmentExport):
    """:class:`~.segment.SegmentExport` whose writer is a :class:`BulkSpool` (nothing is sent).

    Rows refused before sending go to ``rejected`` as always; the rows spooled are not counted as
    written: the jobs' results decide (:func:`conclude`). With ``choose``, see :class:`SpoolChoice`:
    ``write`` sends the rows when it chooses not to spool them.
    """

    def __init__(
        self, *args: Any, spool: BulkSpool, write: Any = None, choose: ChooseFn | None = None, **kwargs: Any
    ):
        super().__init__(*args, write=spool.write, **kwargs)
        self.spool = spool
        self._choice(write, choose)

    def _count_results(self, results: list[RecordResult], rows: list[int], table: pa.Table) -> None:
        if not self.spooling:
            super()._count_results(results, rows, table)
            return
        spooled = [pos for pos, result in enumerate(results) if result.success]
        self.spool.keep(
            table.take(spooled) if len(spooled) < table.num_rows else table, [rows[p] for p in spooled]
        )


def conclude(
    directory: str | Path,
    manifest: SpoolManifest,
    results: Sequence[RecordResult],
    mapping: ExportMapping,
    rejected_where: Any,
) -> ExportCounts:
    """The export's counts once every spooled row has its result (``results``, in spool order); the
    complete rejected-rows file (refused before sending, then refused by Salesforce, by row number)
    is written to ``rejected_where``."""
    return conclude_sections(
        directory, manifest, [(Path(directory), mapping.operation, results)], mapping, rejected_where
    )


def conclude_sections(
    directory: str | Path,
    manifest: SpoolManifest,
    sections: Sequence[tuple[Path, str, Sequence[RecordResult]]],
    mapping: ExportMapping,
    rejected_where: Any,
) -> ExportCounts:
    """:func:`conclude` for a spool of several sections: ``(section directory, operation, results in
    the section's spool order)`` each."""
    directory = Path(directory)
    spooled = sum(len(results) for _, _, results in sections)
    if spooled != manifest.spooled:
        raise ValueError(f"{spooled} results for {manifest.spooled} spooled rows")
    counts = ExportCounts(total=int(manifest.counts["total"]))
    counts.filtered = int(manifest.counts.get("filtered", 0))  # left out by the row_filter, never spooled
    for name in ("unchanged", "stale", "vanished"):  # decided by a sync state's plan, never sent
        setattr(counts, name, int(manifest.counts.get(name, 0)))
    client = pq.read_table(directory / CLIENT_REJECTED)
    salesforce_path = directory / "salesforce-rejected.parquet"
    unknown = []
    with RejectedRowsWriter(str(salesforce_path), client.schema) as rejected:
        for section, operation, results in sections:
            rows = np.load(section / _ROWS)
            if len(rows) != len(results):
                raise ValueError(f"{len(results)} results for {len(rows)} rows spooled in {section}")
            for result, row in zip(results, rows.tolist(), strict=True):
                if not result.success:
                    continue
                created = {"insert": True, "update": False}.get(operation, result.created)
                counts.written += 1
                if created is None:
                    unknown.append(row)
                elif created:
                    counts.created += 1
                else:
                    counts.updated += 1
            failed = np.array(
                [pos for pos, result in enumerate(results) if not result.success], dtype=np.int64
            )
            if len(failed):
                _write_failed(rejected, section / _SENT, failed, results, rows, mapping)
        by_code = Counter(rejected.by_code)
    counts.add_unknown_split(sorted(unknown))
    combined = pa.concat_tables([client, pq.read_table(salesforce_path)])
    combined = combined.sort_by("sfcrm_row_number")
    pq.write_table(combined, rejected_where)
    counts.rejected = combined.num_rows
    counts.rejected_by_code = Counter(manifest.counts["rejected_by_code"]) + by_code
    return counts


def _write_failed(
    rejected: RejectedRowsWriter,
    sent_path: Path,
    failed: np.ndarray,
    results: Sequence[RecordResult],
    rows: np.ndarray,
    mapping: ExportMapping,
) -> None:
    """Append the spooled rows at positions ``failed`` (sorted) with their errors, batch by batch."""
    start = 0
    for batch in pq.ParquetFile(sent_path).iter_batches(batch_size=65_536):
        end = start + batch.num_rows
        lo, hi = np.searchsorted(failed, [start, end])
        picked = failed[lo:hi]
        if len(picked):
            table = pa.Table.from_batches([batch]).take(picked - start)
            errors = [
                list(results[p].errors) or [RecordError("UNKNOWN_ERROR", "no error given")] for p in picked
            ]
            identities = (
                as_text(table.column(mapping.identity_column)).to_pylist()
                if mapping.identity_column
                else [None] * len(picked)
            )
            sources = [
                SOURCE_CLIENT if e[0].status_code == UNKNOWN_OUTCOME else SOURCE_SALESFORCE for e in errors
            ]
            numbers = [None if row < 0 else row for row in rows[picked].tolist()]  # -1: a vanished person
            rejected.write(table, numbers, identities, errors, sources)
        start = end
