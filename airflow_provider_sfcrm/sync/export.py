"""The export with a sync state: current membership in, only changes out, every outcome recorded.

:class:`SyncExport` is the segment export (:class:`~airflow_provider_sfcrm.activation.segment.SegmentExport`:
two passes, row validation, rejected rows, batching, stop) with the plan of :mod:`.plan` in the
middle:

1. before anything is read, insert batches left unconfirmed by a killed run are reconciled with
   Salesforce (looked up by their identity field) and recorded;
2. the first pass hands every row's key and outgoing values to the planner, which diffs them
   against the state of this shard;
3. the second pass sends only the rows to send, and of each only the fields that changed (a row
   that creates a record sends all it has); unchanged rows are counted, stale rows are listed in the
   stale-rows file; statuses are the derived ones;
4. the people who vanished from the segment while members get ``exited`` (update by Id);
5. every record Salesforce confirms updates the state and the status history, in the same
   transaction; nothing else does. A membership run that completes marks its fields as synced
   up to its as-of time.

An insert group is recorded in ``sfcrm_sync_pending`` (committed) before it is sent and forgotten
once its outcome is recorded, so a crash at any point followed by a retry neither duplicates nor
loses anyone. Pure: no Airflow, no HTTP (the writer and the lookup are parameters).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_sfcrm.activation.dedup import identity_keys
from airflow_provider_sfcrm.activation.ids import is_well_formed, to18
from airflow_provider_sfcrm.activation.mapping import (
    ExportMapping,
    audience_fields,
    build_records,
    field_statuses,
    membership_columns,
    outgoing_text,
    translate_statuses,
)
from airflow_provider_sfcrm.activation.report import META_PREFIX, SOURCE_CLIENT, StaleRowsWriter
from airflow_provider_sfcrm.activation.results import TASK_STOPPED, UNKNOWN_OUTCOME, RecordError, RecordResult
from airflow_provider_sfcrm.activation.row_validation import as_text, validate_chunk
from airflow_provider_sfcrm.activation.segment import SegmentExport, _Pending, duplicate_error
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
from airflow_provider_sfcrm.sync.store import HistoryRow, StateRow, SyncStateStore

#: Sends records: ``write(records, progress, external_id_field=...)``, as ``SalesforceCrmHook.upsert_records``
#: (``"Id"``: update by Id; another field: upsert on it; None: insert).
SyncWriteFn = Callable[..., list[RecordResult]]
#: Finds records by identity value: ``[(value, Salesforce Id)]`` of those that exist.
FindFn = Callable[[Sequence[str]], list[tuple[str, str]]]

# Plan values carried with each pending row to the moment its result is known.
_PLAN = "__sfcrm_plan_"
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
        for batch in self.source.batches(self.mapping.columns):
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
            planner.add(keys, values)
        planner.check_shard()
        index, count = self.shard
        planner.plan(
            self.state.read_state(self.scope_id, count, index),
            lambda keys: self.state.read_fields(self.scope_id, keys),
            self.state.marks(self.scope_id, [spec.name for spec in self.fields]),
        )
        planned = planner.counts()
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
        return planner.rows

    def _reconcile(self) -> None:
        """Record the inserts a killed run sent without recording their outcome (found by SOQL)."""
        index, count = self.shard
        batches = self.state.pending(self.scope_id, count, index)
        if not batches:
            return
        if self.write is None or self.find_existing is None:
            self.log(
                "%d insert group(s) of an earlier run await reconciliation; a real run does it", len(batches)
            )
            return
        for batch in batches:
            values = [entry["v"] for entry in batch.entries]
            found = self.find_existing(values)
            keys = identity_keys(
                pa.array([value for value, _ in found], pa.string()),
                by_salesforce_id=False,
                case_sensitive=self.key_case_sensitive,
            ).to_pylist()
            ids = dict(zip(keys, (record_id for _, record_id in found), strict=True))
            rows, history = [], []
            for entry in batch.entries:
                record_id = ids.get(entry["k"])
                if record_id is None:
                    continue
                rows.append(
                    StateRow(
                        entry["k"], entry["h"], record_id, entry["p"], entry["d"], entry["r"], entry["m"]
                    )
                )
                moment = datetime.fromtimestamp(entry["a"], tz=timezone.utc)
                history += [HistoryRow(entry["k"], record_id, f, status, moment) for f, status in entry["s"]]
            self.state.apply(
                self.scope_id,
                rows,
                history,
                run_id=batch.run_id or self.run_id,
                done_batches=[batch.batch_id],
            )
            self.log(
                "Reconciled insert group %s of an earlier run: %d of %d records had been created (now "
                "recorded); the others are sent again",
                batch.batch_id,
                len(rows),
                len(batch.entries),
            )

    # -- second pass -----------------------------------------------------------------------------

    def _chunk(self, table: pa.Table, offset: int, planner: SyncPlanner, pending: _Pending) -> None:
        plan = planner.within(offset, offset + table.num_rows)
        self._count_unchanged(table.num_rows - plan.num_rows)
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
            for at, found in validate_chunk(self._with_statuses(rows, planned), self.rules).items():
                errors.setdefault(int(positions[sending[at]]), []).extend(found)
        bad = set(self._reject_invalid(table, offset, errors))
        kept = [i for i in sending.tolist() if int(positions[i]) not in bad]
        if kept:
            rows, planned = table.take(positions[kept]), plan.take(kept)
            records = self._records(rows, planned) if self.write is not None else []
            pending.add(self._carry(rows, planned), records, (positions[kept] + offset).tolist())

    def _reject_unsent(self, table: pa.Table, offset: int, planner: Any = None) -> None:
        """After a stop: the plan still tells unchanged and stale rows; rows to send are not sent."""
        plan = planner.within(offset, offset + table.num_rows)
        self._count_unchanged(table.num_rows - plan.num_rows)
        positions = plan.column("row").to_numpy() - offset
        actions = plan.column("action").to_numpy(zero_copy_only=False)
        errors = self._duplicates(plan, positions, actions)
        self._write_stale(table, plan, positions, actions == STALE, offset)
        for at in np.flatnonzero(actions == SEND).tolist():
            errors[int(positions[at])] = [RecordError(TASK_STOPPED, _NOT_SENT_STOPPED)]
        self._reject_invalid(table, offset, errors)

    def _count_unchanged(self, n: int) -> None:
        self.counts.unchanged += n
        self.progress.advance(n)

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

    def _statuses_sent(self, planned: pa.Table) -> dict[int, pa.Array]:
        """``{field position: status}`` of the audience fields, null where the field is not sent."""
        sent = {}
        for i, (spec, _) in enumerate(self._fields):
            if spec.kind != ATTRIBUTE:
                values = planned.column(f"n{i}").combine_chunks()
                sent[i] = pc.if_else(
                    pc.fill_null(planned.column(f"e{i}"), False), values, pa.scalar(None, pa.string())
                )
        return sent

    def _with_statuses(self, rows: pa.Table, planned: pa.Table) -> pa.Table:
        """``rows`` with each membership column replaced by the status derived for it (for validation)."""
        for i, (spec, column) in enumerate(self._fields):
            if spec.kind == MEMBERSHIP:
                rows = rows.set_column(
                    rows.schema.get_field_index(column), column, planned.column(f"n{i}").combine_chunks()
                )
        return rows

    def _operation_of(self, planned: pa.Table) -> pa.Array:
        """How each planned row is written: ``update`` by Id, ``upsert``, or ``insert`` (create)."""
        operation = self.mapping.operation
        if operation != "insert":
            return pa.array([operation] * planned.num_rows, pa.string())
        new = pc.fill_null(planned.column("new_person"), True)
        return pc.if_else(new, pa.scalar("insert"), pa.scalar("update"))

    def _records(self, rows: pa.Table, planned: pa.Table) -> list[dict[str, Any]]:
        """Records of only what is sent: the identity, the changed attributes, the derived statuses."""
        columns: dict[str, pa.Array] = {}
        attributes: dict[str, str] = {}
        for i, (spec, column) in enumerate(self._fields):
            if spec.kind == ATTRIBUTE:
                send = pc.fill_null(planned.column(f"e{i}"), False)
                values = rows.column(column).combine_chunks()
                columns[f"f{i}"] = pc.if_else(send, values, pa.scalar(None, values.type))
                attributes[f"f{i}"] = spec.name
        for i, statuses in self._statuses_sent(planned).items():
            columns[f"f{i}"] = translate_statuses(statuses, self.mapping.status_values)
            attributes[f"f{i}"] = self._fields[i][0].name
        operations = self._operation_of(planned).to_pylist()
        identity = rows.column(self.mapping.identity_column)
        records: list[dict[str, Any]] = [{} for _ in range(rows.num_rows)]
        for operation in set(operations):
            chosen = [i for i, op in enumerate(operations) if op == operation]
            if operation == "update" and self.mapping.operation == "insert":
                key, field_name = planned.column("record_id").take(chosen), "Id"
            else:
                key, field_name = identity.take(chosen), self.mapping.identity_field
            part = pa.table({"__id": key, **{name: values.take(chosen) for name, values in columns.items()}})
            send = ExportMapping(
                sobject=self.mapping.sobject,
                operation=operation,
                identity_column="__id",
                identity_field=field_name,
                attributes=attributes,
            )
            for at, record in zip(chosen, build_records(part, send), strict=True):
                records[at] = record
        return records

    def _carry(self, rows: pa.Table, planned: pa.Table) -> pa.Table:
        """``rows`` with what their results need: the plan's state values, statuses and operation."""
        carried = {
            "op": self._operation_of(planned),
            "identity": as_text(rows.column(self.mapping.identity_column)),
            **{
                name: planned.column(name).combine_chunks()
                for name in ("key", "key_hash", "record_id", "patch")
            },
            "digest": planned.column("digest").combine_chunks().cast(pa.string()),
            "realized": planned.column("realized").combine_chunks().cast(pa.int16()),
            "members": planned.column("members").combine_chunks().cast(pa.int16()),
        }
        carried.update({f"status{i}": values for i, values in self._statuses_sent(planned).items()})
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
        """Send by operation; record each call's confirmed records at once (an insert group is
        recorded before it is sent, and settled with its outcome)."""
        assert self.write is not None
        results: list[RecordResult | None] = [None] * len(records)
        operations = self._operations(table)
        for operation, key in (("update", "Id"), ("upsert", self.mapping.identity_field), ("insert", None)):
            chosen = [i for i, op in enumerate(operations) if op == operation]
            size = self.insert_group_size if operation == "insert" else max(len(chosen), 1)
            for group in (chosen[at : at + size] for at in range(0, len(chosen), size)):
                rows = table.take(group)
                batch_id = self._record_insert_group(rows) if operation == "insert" else None
                sent = self.write([records[i] for i in group], on_progress, external_id_field=key)
                self._confirm(rows, sent, batch_id)
                for at, result in zip(group, sent, strict=True):
                    results[at] = replace(result, index=at)
        return [result for result in results if result is not None]

    def _record_insert_group(self, picked: pa.Table) -> str:
        """Record (and commit) an insert group before it is sent; returns its id."""
        column = {
            name: picked.column(_PLAN + name).to_pylist()
            for name in ("identity", "key", "key_hash", "patch", "digest", "realized", "members")
        }
        statuses = self._history_statuses(picked)
        entries = [
            {
                "v": column["identity"][at],
                "k": column["key"][at],
                "h": column["key_hash"][at],
                "p": column["patch"][at],
                "d": column["digest"][at],
                "r": column["realized"][at],
                "m": column["members"][at],
                "a": int(self.as_of.timestamp()),
                "s": statuses[at],
            }
            for at in range(picked.num_rows)
        ]
        batch_id = f"{self.run_id}:{uuid.uuid4().hex}"
        self.state.add_pending(self.scope_id, batch_id, entries, shard=self.shard, run_id=self.run_id)
        return batch_id

    def _history_statuses(self, table: pa.Table) -> list[list[tuple[str, str]]]:
        """Per row, ``[(field, status)]`` of the audience statuses it sends (untranslated)."""
        per_row: list[list[tuple[str, str]]] = [[] for _ in range(table.num_rows)]
        for i, (spec, _) in enumerate(self._fields):
            name = _PLAN + f"status{i}"
            if name in table.column_names:
                for row, status in zip(per_row, table.column(name).to_pylist(), strict=True):
                    if status is not None:
                        row.append((spec.name, status))
        return per_row

    def _confirm(self, table: pa.Table, results: list[RecordResult], batch_id: str | None) -> None:
        """Record what Salesforce confirmed (state and history), and settle the insert group —
        unless an outcome is unknown: then the next run finds out by SOQL."""
        column = {
            name: table.column(_PLAN + name).to_pylist()
            for name in (
                "op",
                "identity",
                "key",
                "key_hash",
                "record_id",
                "patch",
                "digest",
                "realized",
                "members",
            )
        }
        statuses = self._history_statuses(table)
        rows, history = [], []
        for at, result in enumerate(results):
            if not result.success:
                continue
            record_id = (
                result.id or column["record_id"][at] or self._id_of(column["identity"][at], column["op"][at])
            )
            rows.append(
                StateRow(
                    column["key"][at],
                    column["key_hash"][at],
                    record_id,
                    column["patch"][at],
                    column["digest"][at],
                    column["realized"][at],
                    column["members"][at],
                )
            )
            history += [HistoryRow(column["key"][at], record_id, f, s, self.as_of) for f, s in statuses[at]]
        unknown = any(UNKNOWN_OUTCOME in result.status_codes for result in results)
        settled = [batch_id] if batch_id is not None and not unknown else []
        self.state.apply(self.scope_id, rows, history, run_id=self.run_id, done_batches=settled)

    def _id_of(self, identity: str | None, operation: str) -> str | None:
        if operation == "update" and identity and is_well_formed(identity):
            return to18(identity)
        return None

    # -- the people who vanished -----------------------------------------------------------------

    def _finish(self, planner: SyncPlanner, pending: _Pending) -> None:
        """Exit the people who vanished (in the same batches as the last rows), then mark the snapshot."""
        for plan in planner.vanished():
            rows = self._vanished_rows(plan)
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
            records = self._exit_records(planned) if self.write is not None else []
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
            self.state.set_marks(
                self.scope_id,
                [spec.name for spec in self.fields],
                self.as_of,
                shard=self.shard,
                run_id=self.run_id,
            )

    def _exit_records(self, planned: pa.Table) -> list[dict[str, Any]]:
        """``{"Id": ..., field: exited}`` for each person who vanished (updated by their Id)."""
        ids = [
            record_id or (to18(key) if self.mapping.operation == "update" else None)
            for record_id, key in zip(
                planned.column("record_id").to_pylist(), planned.column("key").to_pylist(), strict=True
            )
        ]
        records: list[dict[str, Any]] = [{"Id": record_id} for record_id in ids]
        for i, statuses in self._statuses_sent(planned).items():
            written = translate_statuses(statuses, self.mapping.status_values).to_pylist()
            for record, status in zip(records, written, strict=True):
                if status is not None:
                    record[self._fields[i][0].name] = status
        return records

    def _vanished_rows(self, plan: pa.Table) -> pa.Table:
        """Rows shaped like the input's for people no longer in it: identity, memberships false."""
        n = plan.num_rows
        members = {column for spec, column in self._fields if spec.kind == MEMBERSHIP}
        identity = plan.column("record_id").combine_chunks()
        if self.mapping.operation != "update":
            identity = plan.column("key").combine_chunks()
        else:
            identity = pc.coalesce(identity, plan.column("key").combine_chunks())
        columns = []
        for column in self.source.schema:
            if column.name == self.mapping.identity_column:
                columns.append(_cast_or_null(identity, column.type))
            elif column.name in members:
                columns.append(pa.array([False] * n, pa.bool_()))
            else:
                columns.append(pa.nulls(n, column.type))
        return pa.Table.from_arrays(columns, schema=self.source.schema)


def _cast_or_null(values: pa.Array, kind: pa.DataType) -> pa.Array:
    try:
        return values.cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.nulls(len(values), kind)


def is_replay(schema: pa.Schema) -> bool:
    """Whether a segment is a rejected- or stale-rows file (it has ``sfcrm_*`` columns)."""
    return any(name.startswith(META_PREFIX) for name in schema.names)
