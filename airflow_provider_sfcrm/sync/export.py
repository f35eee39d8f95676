"""The export with a sync state: current membership in, only changes out, every outcome recorded.

:class:`SyncExport` is the segment export (:class:`~airflow_provider_sfcrm.activation.segment.SegmentExport`:
two passes, row validation, rejected rows, batching, stop) with the plan of :mod:`.plan` in the
middle:

1. before anything is read, insert batches left unconfirmed by a killed run are reconciled with
   Salesforce (looked up by their identity field) and recorded;
2. the first pass hands every row's key and outgoing values to the planner, which diffs them
   against the state of this shard; a plan that would exit more of the audience than
   ``max_vanished_ratio`` allows is refused there, before anything is sent, spooled or recorded
   (:mod:`.vanished`: a truncated segment must not exit everyone);
3. the second pass sends only the rows to send, and of each only the fields that changed (a row
   that creates a record sends all it has); unchanged rows are counted, stale rows are listed in the
   stale-rows file; statuses are the derived ones;
4. the people who vanished from the segment while members get ``exited`` (update by Id);
   with a ``row_filter``, the rows it leaves out are outside this sync's scope: counted
   ``filtered``, never sent, and their people — present in the segment — neither vanished nor
   exited: the state keeps what it holds of them;
5. every record Salesforce confirms updates the state and the status history, in the same
   transaction, as soon as its request finishes (so a killed task leaves unrecorded only the
   requests in flight, which its retry sends again; an insert group, one wave of requests, is
   recorded when it is done); nothing else does. A membership run that
   completes marks its fields as synced up to its as-of time.

An insert group is recorded in ``sfcrm_sync_pending`` (committed) before it is sent and forgotten
once its outcome is recorded, so a crash at any point followed by a retry neither duplicates nor
loses anyone. Through Bulk API 2.0, :mod:`.bulk` runs the same export with its groups spooled
instead of sent, and records their results later with the same :mod:`.confirm`. Pure: no Airflow,
no HTTP (the writer and the lookup are parameters).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_sfcrm.activation.dedup import identity_keys
from airflow_provider_sfcrm.activation.mapping import (
    audience_fields,
    field_statuses,
    membership_columns,
    outgoing_text,
)
from airflow_provider_sfcrm.activation.report import META_PREFIX, SOURCE_CLIENT, StaleRowsWriter
from airflow_provider_sfcrm.activation.results import TASK_STOPPED, RecordError, RecordResult
from airflow_provider_sfcrm.activation.row_validation import as_text, validate_chunk
from airflow_provider_sfcrm.activation.segment import SegmentExport, _Pending, duplicate_error
from airflow_provider_sfcrm.sync.confirm import PLAN_PREFIX, confirmed, history_statuses, outcome_unknown
from airflow_provider_sfcrm.sync.inserts import FindFn, journal_entries, reconcile
from airflow_provider_sfcrm.sync.plan import (
    ATTRIBUTE,
    DUPLICATE,
    MEMBERSHIP,
    SEND,
    STALE,
    STATUS,
    SyncField,
    SyncPlanner,
)
from airflow_provider_sfcrm.sync.records import SyncRecords
from airflow_provider_sfcrm.sync.store import SyncStateStore
from airflow_provider_sfcrm.sync.vanished import (
    DEFAULT_MAX_VANISHED_RATIO,
    VANISHED_FLOOR,
    check_vanished,
    checked_max_vanished_ratio,
)

#: Sends records: ``write(records, progress, external_id_field=..., on_batch=...)``, as
#: ``SalesforceCrmHook.upsert_records`` (``"Id"``: update by Id; another field: upsert on it; None:
#: insert). ``on_batch(first, results)``, if the writer calls it, reports each request's results as it
#: finishes; what it does not report is recorded when ``write`` returns.
SyncWriteFn = Callable[..., list[RecordResult]]

# Plan values carried with each pending row to the moment its result is known.
_PLAN = PLAN_PREFIX
_NOT_SENT_STOPPED = "not sent: the task was stopped before this row was sent; the next run sends it"


class SyncExport(SegmentExport):
    """Run one export of ``source`` against the sync state (see the module's docstring).

    Takes the arguments of :class:`SegmentExport` (``write`` excepted) and:

    :param stale: where stale rows go.
    :param state: the sync state store (migrated).
    :param scope_id: the scope (org, object, identity field) in ``state``.
    :param write: sends records (``SyncWriteFn``); None for a dry run (nothing is written, the
        state is not touched).
    :param find_existing: looks records up by identity value, to reconcile unconfirmed inserts.
    :param as_of: the as-of time of the segment's data.
    :param full_resync: send every outgoing value, not only the changed ones.
    :param shard: ``(shard_index, shard_count)``: this export owns the people of that hash bucket.
    :param run_id: recorded with every state row and status written.
    :param insert_group_size: records created per recorded insert group (``batch_size`` times the
        concurrent requests keeps every worker busy).
    :param max_vanished_ratio: refuse the run (:class:`~.vanished.VanishedGuardError`, after the
        first pass, before anything is sent) when the people to exit because they vanished from the
        segment are more than :data:`~.vanished.VANISHED_FLOOR` and more than this share of the
        state's members of the shard (0..1); None: never. Dry runs are checked too.
    """

    def __init__(
        self,
        source: Any,
        rules: Any,
        rejected: Any,
        stale: StaleRowsWriter,
        *,
        state: SyncStateStore,
        scope_id: int,
        write: SyncWriteFn | None,
        as_of: datetime,
        run_id: str,
        find_existing: FindFn | None = None,
        full_resync: bool = False,
        shard: tuple[int, int] = (0, 1),
        insert_group_size: int = 800,
        max_vanished_ratio: float | None = DEFAULT_MAX_VANISHED_RATIO,
        **options: Any,
    ):
        super().__init__(source, rules, rejected, write=write, **options)
        mapping = self.mapping
        if mapping.identity_column is None:
            raise ValueError("a sync state needs an identity: on insert, name it with external_id_field")
        self.stale_rows = stale
        self.state = state
        self.scope_id = scope_id
        self.find_existing = find_existing
        self.as_of = as_of
        self.full_resync = full_resync
        self.shard = shard
        self.run_id = run_id
        self.insert_group_size = max(1, insert_group_size)
        self.max_vanished_ratio = checked_max_vanished_ratio(max_vanished_ratio)
        members = set(membership_columns(mapping, source.schema))
        self._given = replace(
            mapping, audiences={c: f for c, f in mapping.audiences.items() if c not in members}
        )
        self._fields: list[tuple[SyncField, str | None]] = [
            (SyncField(name, ATTRIBUTE), column) for column, name in mapping.attributes.items()
        ]
        for name, columns in audience_fields(mapping).items():
            kind = MEMBERSHIP if columns[0] in members else STATUS
            self._fields.append((SyncField(name, kind), columns[0] if kind == MEMBERSHIP else None))
        if not self._fields:
            raise ValueError("nothing to sync: the mapping names no field besides the identity")
        self.records = SyncRecords(mapping, self._fields)
        self._planned: dict[str, int] = {}  # the plan's rows by action, once the first pass made it

    @property
    def fields(self) -> list[SyncField]:
        return [spec for spec, _ in self._fields]

    # -- first pass and plan ---------------------------------------------------------------------

    def _pairing(self) -> SyncPlanner:
        return SyncPlanner(
            self.fields,
            as_of=self.as_of,
            full_resync=self.full_resync,
            shard=self.shard,
            work_dir=self.work_dir,
        )

    def _first_pass(self, planner: SyncPlanner) -> int:
        if self.mapping.operation == "insert":
            self._reconcile()
        by_id = self.mapping.operation == "update"
        filtering = [
            c for c in (self.row_filter.columns if self.row_filter else ()) if c not in self.mapping.columns
        ]
        for batch in self.source.batches([*self.mapping.columns, *filtering]):
            table = pa.Table.from_batches([batch])
            keys = identity_keys(
                table.column(self.mapping.identity_column),
                by_salesforce_id=by_id,
                case_sensitive=self.key_case_sensitive,
            )
            given = field_statuses(table, self._given, translate=False)
            values = []
            for spec, column in self._fields:
                if spec.kind == ATTRIBUTE:
                    values.append(outgoing_text(table.column(column)))
                elif spec.kind == MEMBERSHIP:
                    values.append(table.column(column).combine_chunks())
                else:
                    values.append(given[spec.name])
            planner.add(keys, values, self.row_filter.mask(table) if self.row_filter else None)
        planner.check_shard()
        index, count = self.shard
        planner.plan(
            self.state.read_state(self.scope_id, count, index),
            lambda keys: self.state.read_fields(self.scope_id, keys),
            self.state.marks(self.scope_id, [spec.name for spec in self.fields]),
        )
        planned = self._planned = planner.counts()
        vanished = planned.get(f"vanished_{SEND}", 0) + planned.get(f"vanished_{STALE}", 0)
        self.counts.total += vanished
        self.counts.vanished = vanished
        self.log(
            "Sync plan as of %s: %s to send, %s stale, %s duplicates of %s rows looked at closely out of %s; "
            "%s people vanished from the segment to exit",
            self.as_of.isoformat(),
            f"{planned.get(SEND, 0):,}",
            f"{planned.get(STALE, 0):,}",
            f"{planned.get(DUPLICATE, 0):,}",
            f"{sum(n for a, n in planned.items() if not a.startswith('vanished_')):,}",
            f"{planner.rows:,}",
            f"{vanished:,}",
        )
        if planner.has_memberships:
            self._guard(planner.member_exits, planner.state_members)
        return planner.rows

    def _guard(self, exits: int, members: int) -> None:
        """Refuse a plan that exits too much of the audience (a truncated segment?), before anything
        is sent or spooled and before ``api="auto"`` chooses (see :mod:`.vanished`)."""
        self.log(
            "Vanished guard: %s of the %s people the state knew as audience members are to be exited "
            "(%s); max_vanished_ratio %s, checked above %d exits",
            f"{exits:,}",
            f"{members:,}",
            f"{exits / members:.1%}" if members else "-",
            self.max_vanished_ratio,
            VANISHED_FLOOR,
        )
        check_vanished(exits, members, self.max_vanished_ratio)

    def _rows_to_send(self, planner: SyncPlanner) -> int:
        """The plan's rows to send and the exits of the people who vanished (after the first pass).
        Rows a check of the second pass refuses are among them: only that pass finds them."""
        return self._planned.get(SEND, 0) + self._planned.get(f"vanished_{SEND}", 0)

    def _reconcile(self) -> None:
        """Record the inserts an earlier (killed) run sent without recording their outcome."""
        if self.write is None or self.find_existing is None:
            index, count = self.shard
            waiting = self.state.pending(self.scope_id, count, index)
            if waiting:
                self.log(
                    "%d insert group(s) of an earlier run await reconciliation; a real run does it",
                    len(waiting),
                )
            return
        reconcile(
            self.state,
            self.scope_id,
            self.shard,
            self.find_existing,
            case_sensitive=self.key_case_sensitive,
            run_id=self.run_id,
            log=self.log,
        )

    # -- second pass -----------------------------------------------------------------------------

    def _chunk(self, table: pa.Table, offset: int, planner: SyncPlanner, pending: _Pending) -> None:
        plan = planner.within(offset, offset + table.num_rows)
        self._count_unplanned(table, plan)
        if not plan.num_rows:
            return
        positions = plan.column("row").to_numpy() - offset
        actions = plan.column("action").to_numpy(zero_copy_only=False)
        errors = self._duplicates(plan, positions, actions)
        self._write_stale(table, plan, positions, actions == STALE, offset)
        sending = np.flatnonzero(actions == SEND)
        if sending.size:
            planned = plan.take(sending)
            rows = table.take(positions[sending])
            for at, found in validate_chunk(self.records.with_statuses(rows, planned), self.rules).items():
                errors.setdefault(int(positions[sending[at]]), []).extend(found)
        bad = set(self._reject_invalid(table, offset, errors))
        kept = [i for i in sending.tolist() if int(positions[i]) not in bad]
        if kept:
            rows, planned = table.take(positions[kept]), plan.take(kept)
            records = self.records.records(rows, planned) if self.write is not None else []
            pending.add(self._carry(rows, planned), records, (positions[kept] + offset).tolist())

    def _reject_unsent(self, table: pa.Table, offset: int, planner: Any = None) -> None:
        """After a stop: the plan still tells unchanged and stale rows; rows to send are not sent."""
        plan = planner.within(offset, offset + table.num_rows)
        self._count_unplanned(table, plan)
        positions = plan.column("row").to_numpy() - offset
        actions = plan.column("action").to_numpy(zero_copy_only=False)
        errors = self._duplicates(plan, positions, actions)
        self._write_stale(table, plan, positions, actions == STALE, offset)
        for at in np.flatnonzero(actions == SEND).tolist():
            errors[int(positions[at])] = [RecordError(TASK_STOPPED, _NOT_SENT_STOPPED)]
        self._reject_invalid(table, offset, errors)

    def _count_unplanned(self, table: pa.Table, plan: pa.Table) -> None:
        """The rows of ``table`` the plan leaves out: out of the filter's scope (``filtered``) or
        ``unchanged``."""
        filtered = 0
        if self.row_filter is not None:
            filtered = table.num_rows - int(self.row_filter.kept(table).size)
            self.counts.filtered += filtered
        self.counts.unchanged += table.num_rows - plan.num_rows - filtered
        self.progress.advance(table.num_rows - plan.num_rows)

    def _duplicates(
        self, plan: pa.Table, positions: np.ndarray, actions: np.ndarray
    ) -> dict[int, list[RecordError]]:
        winners = plan.column("winner").to_pylist()
        key = self.mapping.identity_field
        return {
            int(positions[i]): [duplicate_error(key, int(winners[i]))]
            for i in np.flatnonzero(actions == DUPLICATE).tolist()
        }

    def _write_stale(
        self, table: pa.Table, plan: pa.Table, positions: np.ndarray, mask: np.ndarray, offset: int
    ) -> None:
        chosen = np.flatnonzero(mask)
        if not chosen.size:
            return
        rows = table.take(positions[chosen])
        planned = plan.take(chosen)
        self.stale_rows.write_stale(
            rows,
            pa.array(positions[chosen] + offset),
            as_text(rows.column(self.mapping.identity_column)),
            planned.column("stale_fields").combine_chunks(),
        )
        self.counts.stale += int(chosen.size)
        self.progress.advance(int(chosen.size))

    def _carry(self, rows: pa.Table, planned: pa.Table) -> pa.Table:
        """``rows`` with what their results need: the plan's state values, statuses and operation."""
        carried = {
            "op": self.records.operation_of(planned),
            "identity": as_text(rows.column(self.mapping.identity_column)),
            **{
                name: planned.column(name).combine_chunks()
                for name in ("key", "key_hash", "record_id", "patch")
            },
            "digest": planned.column("digest").combine_chunks().cast(pa.string()),
            "realized": planned.column("realized").combine_chunks().cast(pa.int16()),
            "members": planned.column("members").combine_chunks().cast(pa.int16()),
        }
        carried.update({f"status{i}": values for i, values in self.records.statuses_sent(planned).items()})
        for name, values in carried.items():
            rows = rows.append_column(_PLAN + name, values)
        return rows

    # -- sending and recording -------------------------------------------------------------------

    def _operations(self, table: pa.Table) -> list[str]:
        return table.column(_PLAN + "op").to_pylist()

    def _operation_counts(self, table: pa.Table) -> dict[str, int]:
        counts = pc.value_counts(table.column(_PLAN + "op").combine_chunks()).to_pylist()
        return {item["values"]: item["counts"] for item in counts}

    def _send(
        self, records: list[dict[str, Any]], table: pa.Table, on_progress: Callable[[int], None]
    ) -> list[RecordResult]:
        """Send by operation, one group at a time (:meth:`_write_group`); insert groups hold at most
        ``insert_group_size`` rows (one wave of requests)."""
        assert self.write is not None
        results: list[RecordResult | None] = [None] * len(records)
        operations = self._operations(table)
        for operation, key in (("update", "Id"), ("upsert", self.mapping.identity_field), ("insert", None)):
            chosen = [i for i, op in enumerate(operations) if op == operation]
            size = self.insert_group_size if operation == "insert" else max(len(chosen), 1)
            for group in (chosen[at : at + size] for at in range(0, len(chosen), size)):
                sent = self._write_group(
                    operation, key, table.take(group), [records[i] for i in group], on_progress
                )
                for at, result in zip(group, sent, strict=True):
                    results[at] = replace(result, index=at)
        return [result for result in results if result is not None]

    def _write_group(
        self,
        operation: str,
        key: str | None,
        rows: pa.Table,
        records: list[dict[str, Any]],
        on_progress: Callable[[int], None],
    ) -> list[RecordResult]:
        """Write one group of one operation. An update or upsert records each request's confirmed
        records as it finishes; an insert group is recorded before it is sent, and its outcomes are
        recorded and the group settled in one transaction once it is done."""
        assert self.write is not None
        if operation == "insert":
            batch_id = self._record_insert_group(rows)
            sent = self.write(records, on_progress, external_id_field=key)
            self._confirm(rows, sent, batch_id)
            return sent
        return self._write_recording(rows, records, on_progress, key)

    def _write_recording(
        self,
        rows: pa.Table,
        records: list[dict[str, Any]],
        on_progress: Callable[[int], None],
        key: str | None,
    ) -> list[RecordResult]:
        """Write updates or upserts, recording each request's confirmed records as it finishes;
        what the writer did not report as it went is recorded when it returns."""
        recorded = np.zeros(len(records), dtype=bool)

        def on_batch(first: int, done: list[RecordResult]) -> None:
            self._confirm(rows.slice(first, len(done)), done, None)
            recorded[first : first + len(done)] = True

        assert self.write is not None
        sent = self.write(records, on_progress, external_id_field=key, on_batch=on_batch)
        rest = np.flatnonzero(~recorded)
        if rest.size:
            self._confirm(rows.take(rest), [sent[i] for i in rest], None)
        return sent

    def _record_insert_group(self, picked: pa.Table) -> str:
        """Record (and commit) an insert group before it is sent; returns its id."""
        names = ("identity", "key", "key_hash", "patch", "digest", "realized", "members")
        columns = {name: picked.column(_PLAN + name).to_pylist() for name in names}
        entries = journal_entries(columns, self._history_statuses(picked), self.as_of)
        batch_id = f"{self.run_id}:{uuid.uuid4().hex}"
        self.state.add_pending(self.scope_id, batch_id, entries, shard=self.shard, run_id=self.run_id)
        return batch_id

    def _history_statuses(self, table: pa.Table) -> list[list[tuple[str, str]]]:
        """Per row, ``[(field, status)]`` of the audience statuses it sends (untranslated)."""
        return history_statuses(table, self.field_names)

    @property
    def field_names(self) -> list[str]:
        return [spec.name for spec in self.fields]

    def _confirm(self, table: pa.Table, results: list[RecordResult], batch_id: str | None) -> None:
        """Record what Salesforce confirmed of the rows of ``table`` (state and history), and settle
        the insert group ``batch_id`` — unless an outcome is unknown: then the next run finds out by SOQL."""
        rows, history = confirmed(table, results, self.field_names, self.as_of)
        settled = [batch_id] if batch_id is not None and not outcome_unknown(results) else []
        if rows or history or settled:
            self.state.apply(self.scope_id, rows, history, run_id=self.run_id, done_batches=settled)

    # -- the people who vanished -----------------------------------------------------------------

    def _finish(self, planner: SyncPlanner, pending: _Pending) -> None:
        """Exit the people who vanished (in the same batches as the last rows), then mark the snapshot."""
        for plan in planner.vanished():
            rows = self.records.vanished_rows(plan, self.source.schema)
            actions = plan.column("action").to_numpy(zero_copy_only=False)
            stale = np.flatnonzero(actions == STALE)
            if stale.size:
                picked = plan.take(stale)
                self.stale_rows.write_stale(
                    rows.take(stale),
                    pa.nulls(stale.size, pa.int64()),
                    picked.column("key").combine_chunks(),
                    picked.column("stale_fields").combine_chunks(),
                )
                self.counts.stale += int(stale.size)
                self.progress.advance(int(stale.size))
            sending = np.flatnonzero(actions == SEND)
            if not sending.size:
                continue
            rows, planned = rows.take(sending), plan.take(sending)
            if self.stop.is_set():
                error = RecordError(TASK_STOPPED, _NOT_SENT_STOPPED)
                self.rejected.write(
                    rows,
                    [None] * rows.num_rows,
                    planned.column("key").to_pylist(),
                    [[error]] * rows.num_rows,
                    SOURCE_CLIENT,
                )
                self.progress.advance(rows.num_rows)
                continue
            records = self.records.exit_records(planned) if self.write is not None else []
            carried = self._carry(rows, planned)
            carried = carried.set_column(
                carried.schema.get_field_index(_PLAN + "op"),
                _PLAN + "op",
                pa.array(["update"] * rows.num_rows),
            )
            pending.add(carried, records, [None] * rows.num_rows)
            self._flush(pending, len(pending) - len(pending) % self.batch_size)
        self._flush(pending, len(pending))
        if self.write is not None and not self.stop.is_set() and planner.has_memberships:
            self._mark_synced()

    def _mark_synced(self) -> None:
        """The run completed with current memberships: mark its fields synced up to its as-of time."""
        self.state.set_marks(
            self.scope_id, self.field_names, self.as_of, shard=self.shard, run_id=self.run_id
        )


def is_replay(schema: pa.Schema) -> bool:
    """Whether a segment is a rejected- or stale-rows file (it has ``sfcrm_*`` columns)."""
    return any(name.startswith(META_PREFIX) for name in schema.names)
