"""The export with a sync state through Bulk API 2.0: the plan's rows spooled by operation, the jobs'
results recorded in the state once they are known.

A Bulk job is one operation, a sync run mixes them: updates by Id (people whose record the state
knows, and the exits of people who vanished), upserts on the identity field, inserts. So
:class:`SyncBulkSpoolExport` runs :class:`~.export.SyncExport` — the same plan, checks, stale rows
and counts as on REST — with a writer that sends nothing: each operation's records go to a section
of a :class:`SyncBulkSpool` (a :class:`~..activation.bulk_spool.BulkSpool` per operation, one job
per part), and each spooled row keeps its plan columns (:mod:`.confirm`) beside the CSV. Inserts are
journaled in ``sfcrm_sync_pending`` as they are spooled, before any upload, as on REST.

Once the jobs ended, :func:`record_jobs` turns each job's results into state rows and history
through the same :func:`~.confirm.confirmed` as REST, and settles the insert journals whose every
outcome is known. Each job is recorded in one transaction that also settles the job's *token*, a
pending entry with no records added when the spool was completed: a resumed task records only the
jobs whose token is still pending, so nothing is recorded twice. The fields are marked synced
(``set_marks``) once every job is recorded and the run completed. With ``choose`` (``api="auto"``),
a run whose plan has few rows to send is the REST sync itself: nothing spooled, no token added.
Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from airflow_provider_sfcrm.activation.bulk_spool import (
    MANIFEST,
    BulkSpool,
    ChooseFn,
    JobPart,
    SpoolChoice,
    SpoolManifest,
    job_columns,
    manifest_counts,
    write_json_atomically,
)
from airflow_provider_sfcrm.activation.mapping import ExportMapping
from airflow_provider_sfcrm.activation.results import RecordResult
from airflow_provider_sfcrm.activation.segment import ExportCounts
from airflow_provider_sfcrm.sync.confirm import confirmed, outcome_unknown, plan_column
from airflow_provider_sfcrm.sync.export import SyncExport
from airflow_provider_sfcrm.sync.store import HistoryRow, StateRow, SyncStateStore

#: The sections of a sync spool, in the order REST sends them.
OPERATIONS = ("update", "upsert", "insert")
_SENT = "sent.parquet"
# The insert journal entry a spooled row belongs to (null: not an insert).
_BATCH = plan_column("batch")
# A job's token: ``<run_id>:bulk:<random>``; those of an abandoned spool of the same run are settled.
_TOKEN = ":bulk:"


def job_headers(mapping: ExportMapping) -> dict[str, list[str]]:
    """Each operation's job columns: ``Id`` (update) or the identity field (upsert, insert), then the
    fields the sync writes."""
    fields = [name for name in job_columns(mapping) if name not in ("Id", mapping.identity_field)]
    return {
        "update": ["Id", *fields],
        "upsert": [mapping.identity_field or "Id", *fields],
        "insert": [mapping.identity_field or "Id", *fields],
    }


class SyncBulkSpool:
    """The job data of one sync run: a :class:`BulkSpool` per operation in ``directory/<operation>``."""

    def __init__(self, directory: str | Path, headers: Mapping[str, list[str]], *, max_part_bytes: int):
        self.directory = Path(directory)
        self.headers = dict(headers)
        self.max_part_bytes = max_part_bytes
        self.sections: dict[str, BulkSpool] = {}
        self.sync: dict[str, Any] | None = None

    def section(self, operation: str) -> BulkSpool:
        if operation not in self.sections:
            (self.directory / operation).mkdir(parents=True, exist_ok=True)
            self.sections[operation] = BulkSpool(
                self.directory / operation, self.headers[operation], max_part_bytes=self.max_part_bytes
            )
        return self.sections[operation]

    def finish(self, counts: ExportCounts) -> SpoolManifest:
        """Close every section and write the manifest (last: the spool is complete)."""
        if self.sync is None:
            raise RuntimeError("the sync export did not complete its spool (no tokens recorded)")
        sections = []
        for operation in OPERATIONS:
            if operation in self.sections:
                finished = self.sections[operation].finish(counts)
                if finished.part_rows:
                    sections.append(
                        {
                            "operation": operation,
                            "directory": operation,
                            "header": finished.header,
                            "part_rows": finished.part_rows,
                        }
                    )
        part_rows = [rows for section in sections for rows in section["part_rows"]]
        if len(part_rows) != len(self.sync["tokens"]):  # pragma: no cover - guarded by construction
            raise RuntimeError(f"{len(part_rows)} jobs but {len(self.sync['tokens'])} tokens")
        manifest = SpoolManifest([], part_rows, manifest_counts(counts), sections, self.sync)
        write_json_atomically(self.directory / MANIFEST, manifest.to_dict())
        return manifest


def _spool_only(*args: Any, **kwargs: Any) -> Any:  # pragma: no cover - never called
    raise RuntimeError("a Bulk API 2.0 spool sends nothing itself")


class SyncBulkSpoolExport(SpoolChoice, SyncExport):
    """:class:`~.export.SyncExport` whose groups are spooled (see the module's docstring).

    With ``choose`` (see :class:`~..activation.bulk_spool.SpoolChoice`), a run it chooses not to spool
    is the REST sync: ``write`` sends the groups, each request's confirmed records are recorded as it
    finishes, and no token is added.
    """

    def __init__(
        self,
        *args: Any,
        spool: SyncBulkSpool,
        write: Any = None,
        choose: ChooseFn | None = None,
        **kwargs: Any,
    ):
        # While spooling, nothing is sent from here. A writer is still given to SyncExport so that it
        # runs as a real run (records built, unconfirmed inserts reconciled), not a dry one.
        super().__init__(*args, write=_spool_only, **kwargs)
        self.spool = spool
        self._choice(write, choose)
        self._marks_due = False
        self._journaled: list[str] = []  # the journal entry of each insert spooled, in order

    def run(self) -> ExportCounts:
        counts = super().run()
        if self.spooling:
            self.spool.sync = self._tokens()
        return counts

    def _write_group(
        self,
        operation: str,
        key: str | None,
        rows: pa.Table,
        records: list[dict[str, Any]],
        on_progress: Callable[[int], None],
    ) -> list[RecordResult]:
        """Spool the group's records; journal the inserts spooled (before any job is uploaded)."""
        if not self.spooling:
            return super()._write_group(operation, key, rows, records, on_progress)
        results = self.spool.section(operation).write(records, on_progress)
        if operation == "insert":
            spooled = [at for at, result in enumerate(results) if result.success]
            if spooled:
                batch_id = self._record_insert_group(rows.take(spooled))
                self._journaled += [batch_id] * len(spooled)
        return results

    def _count_results(self, results: list[RecordResult], rows: list[int], table: pa.Table) -> None:
        """Keep each spooled row with its plan columns, in its section's order; the jobs' results
        count them later."""
        if not self.spooling:
            super()._count_results(results, rows, table)
            return
        operations = self._operations(table)
        for operation in OPERATIONS:
            chosen = [at for at, op in enumerate(operations) if op == operation and results[at].success]
            if not chosen:
                continue
            kept = table.take(chosen)
            batches: list[str | None] = [None] * len(chosen)
            if operation == "insert":
                batches, self._journaled = self._journaled[: len(chosen)], self._journaled[len(chosen) :]
            kept = kept.append_column(_BATCH, pa.array(batches, pa.string()))
            self.spool.section(operation).keep(kept, [rows[at] for at in chosen])

    def _mark_synced(self) -> None:
        if not self.spooling:
            super()._mark_synced()
            return
        self._marks_due = True  # once every job's results are recorded (record_jobs)

    def _tokens(self) -> dict[str, Any]:
        """Add one pending token per job (committed before any upload); what completing needs."""
        index, count = self.shard
        abandoned = [
            batch.batch_id
            for batch in self.state.pending(self.scope_id, count, index)
            if batch.batch_id.startswith(self.run_id + _TOKEN)
        ]
        if abandoned:  # an earlier try's spool, never uploaded: this one replaces it
            self.state.apply(self.scope_id, [], [], run_id=self.run_id, done_batches=abandoned)
        jobs = sum(spool.parts for spool in self.spool.sections.values())
        tokens = [f"{self.run_id}{_TOKEN}{uuid.uuid4().hex}" for _ in range(jobs)]
        for token in tokens:
            self.state.add_pending(self.scope_id, token, [], shard=self.shard, run_id=self.run_id)
        return {
            "scope_id": self.scope_id,
            "as_of": self.as_of.isoformat(),
            "run_id": self.run_id,
            "shard": list(self.shard),
            "fields": self.field_names,
            "marks": self._marks_due,
            "tokens": tokens,
        }


@dataclass(frozen=True)
class JobOutcome:
    """What one job's results change in the state: rows, history, insert journals settled."""

    rows: list[StateRow]
    history: list[HistoryRow]
    settled: list[str]


def job_outcomes(
    sent: Sequence[pa.Table],
    results: Sequence[Sequence[RecordResult]],
    field_names: Sequence[str],
    as_of: Any,
) -> list[JobOutcome]:
    """Per job (``sent``: its spooled rows with their plan columns; ``results``: one per row, in
    order), the confirmed state rows and history, and the insert journals it settles: a journal is
    settled by the last job holding one of its rows, when no row of it has an unknown outcome."""
    last_job: dict[str, int] = {}
    unknown: set[str] = set()
    for job, (table, outcome) in enumerate(zip(sent, results, strict=True)):
        if len(outcome) != table.num_rows:
            raise ValueError(f"job {job}: {len(outcome)} results for {table.num_rows} spooled rows")
        for batch, result in zip(table.column(_BATCH).to_pylist(), outcome, strict=True):
            if batch is not None:
                last_job[batch] = job
                if outcome_unknown([result]):
                    unknown.add(batch)
    outcomes = []
    for job, (table, outcome) in enumerate(zip(sent, results, strict=True)):
        rows, history = confirmed(table, outcome, field_names, as_of)
        settled = sorted(b for b, last in last_job.items() if last == job and b not in unknown)
        outcomes.append(JobOutcome(rows, history, settled))
    return outcomes


def sent_rows(parts: Sequence[JobPart]) -> list[pa.Table]:
    """Each job's spooled rows with their plan columns (its slice of its section's ``sent.parquet``)."""
    tables: dict[Path, pa.Table] = {}
    offsets: dict[Path, int] = {}
    sent = []
    for part in parts:
        if part.directory not in tables:
            tables[part.directory] = pq.read_table(part.directory / _SENT)
            offsets[part.directory] = 0
        sent.append(tables[part.directory].slice(offsets[part.directory], part.rows))
        offsets[part.directory] += part.rows
    return sent


def record_jobs(
    state: SyncStateStore,
    sync: Mapping[str, Any],
    parts: Sequence[JobPart],
    results: Sequence[Sequence[RecordResult]],
    *,
    log: Callable[..., object],
) -> int:
    """Record every job not recorded yet (see the module's docstring); then set the marks when due.

    Returns how many jobs were recorded now (0 when a resumed task finds them all recorded).
    """
    scope_id, run_id = int(sync["scope_id"]), str(sync["run_id"])
    index, count = sync["shard"][0], sync["shard"][1]
    as_of = datetime.fromisoformat(sync["as_of"])
    waiting = {batch.batch_id for batch in state.pending(scope_id, count, index)}
    outcomes = job_outcomes(sent_rows(parts), results, sync["fields"], as_of)
    recorded = 0
    for token, outcome in zip(sync["tokens"], outcomes, strict=True):
        if token not in waiting:
            continue  # recorded by an earlier try of this task
        state.apply(
            scope_id, outcome.rows, outcome.history, run_id=run_id, done_batches=[*outcome.settled, token]
        )
        recorded += 1
    if recorded < len(outcomes):
        log(
            "%d of %d Bulk API 2.0 jobs were recorded by an earlier try",
            len(outcomes) - recorded,
            len(outcomes),
        )
    if sync["marks"]:
        fields = list(sync["fields"])
        state.set_marks(scope_id, fields, as_of, shard=(index, count), run_id=run_id)
    return recorded
