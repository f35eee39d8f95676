"""What a sync sends, from the plan: records of only what changed, exits, and rows for the files.

:class:`SyncRecords` turns plan rows (:mod:`.plan`) and the segment's rows into what the writer
sends — the identity (by Id when a create is already known), the changed attributes, the derived
statuses, translated — and, for the people who vanished from the segment, their ``exited``
updates and rows shaped like the input's for the rejected- and stale-rows files. Pure: no Airflow,
no HTTP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_sfcrm.activation.ids import to18
from airflow_provider_sfcrm.activation.mapping import ExportMapping, build_records, translate_statuses
from airflow_provider_sfcrm.sync.plan import ATTRIBUTE, MEMBERSHIP, SyncField


class SyncRecords:
    """Records and rows of one sync.

    :param mapping: the export's mapping (the org's spelling of every field).
    :param fields: ``[(field, column)]`` in the plan's order; the column of an attribute or a
        membership, None for a status field (its columns are the mapping's audiences).
    """

    def __init__(self, mapping: ExportMapping, fields: Sequence[tuple[SyncField, str | None]]):
        self.mapping = mapping
        self.fields = list(fields)

    def statuses_sent(self, planned: pa.Table) -> dict[int, pa.Array]:
        """``{field position: status}`` of the audience fields, null where the field is not sent."""
        sent = {}
        for i, (spec, _) in enumerate(self.fields):
            if spec.kind != ATTRIBUTE:
                values = planned.column(f"n{i}").combine_chunks()
                send = pc.fill_null(planned.column(f"e{i}"), False)
                sent[i] = pc.if_else(send, values, pa.scalar(None, pa.string()))
        return sent

    def with_statuses(self, rows: pa.Table, planned: pa.Table) -> pa.Table:
        """``rows`` with each membership column replaced by the status derived for it (for validation)."""
        for i, (spec, column) in enumerate(self.fields):
            if spec.kind == MEMBERSHIP:
                position = rows.schema.get_field_index(column)
                rows = rows.set_column(position, column, planned.column(f"n{i}").combine_chunks())
        return rows

    def operation_of(self, planned: pa.Table) -> pa.Array:
        """How each planned row is written: ``update`` by Id, ``upsert``, or ``insert`` (create).

        On insert, a person the state knows was created already: their changes update that record.
        """
        operation = self.mapping.operation
        if operation != "insert":
            return pa.array([operation] * planned.num_rows, pa.string())
        new = pc.fill_null(planned.column("new_person"), True)
        return pc.if_else(new, pa.scalar("insert"), pa.scalar("update"))

    def records(self, rows: pa.Table, planned: pa.Table) -> list[dict[str, Any]]:
        """Records of only what is sent: the identity, the changed attributes, the derived statuses."""
        columns: dict[str, pa.Array] = {}
        attributes: dict[str, str] = {}
        for i, (spec, column) in enumerate(self.fields):
            if spec.kind == ATTRIBUTE:
                send = pc.fill_null(planned.column(f"e{i}"), False)
                values = rows.column(column).combine_chunks()
                columns[f"f{i}"] = pc.if_else(send, values, pa.scalar(None, values.type))
                attributes[f"f{i}"] = spec.name
        for i, statuses in self.statuses_sent(planned).items():
            columns[f"f{i}"] = translate_statuses(statuses, self.mapping.status_values)
            attributes[f"f{i}"] = self.fields[i][0].name
        operations = self.operation_of(planned).to_pylist()
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
                field_types=self.mapping.field_types,  # values typed as a stateless export sends them
            )
            for at, record in zip(chosen, build_records(part, send), strict=True):
                records[at] = record
        return records

    def exit_records(self, planned: pa.Table) -> list[dict[str, Any]]:
        """``{"Id": ..., field: exited}`` for each person who vanished (updated by their Id)."""
        keys = planned.column("key").to_pylist()
        ids = [
            record_id or (to18(key) if self.mapping.operation == "update" else None)
            for record_id, key in zip(planned.column("record_id").to_pylist(), keys, strict=True)
        ]
        records: list[dict[str, Any]] = [{"Id": record_id} for record_id in ids]
        for i, statuses in self.statuses_sent(planned).items():
            written = translate_statuses(statuses, self.mapping.status_values).to_pylist()
            for record, status in zip(records, written, strict=True):
                if status is not None:
                    record[self.fields[i][0].name] = status
        return records

    def vanished_rows(self, plan: pa.Table, schema: pa.Schema) -> pa.Table:
        """Rows shaped like the input's (``schema``) for people no longer in it: identity, memberships
        false, everything else null."""
        n = plan.num_rows
        members = {column for spec, column in self.fields if spec.kind == MEMBERSHIP}
        identity = plan.column("key").combine_chunks()
        if self.mapping.operation == "update":
            identity = pc.coalesce(plan.column("record_id").combine_chunks(), identity)
        columns = []
        for column in schema:
            if column.name == self.mapping.identity_column:
                columns.append(_cast_or_null(identity, column.type))
            elif column.name in members:
                columns.append(pa.array([False] * n, pa.bool_()))
            else:
                columns.append(pa.nulls(n, column.type))
        return pa.Table.from_arrays(columns, schema=schema)


def _cast_or_null(values: pa.Array, kind: pa.DataType) -> pa.Array:
    try:
        return values.cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.nulls(len(values), kind)
