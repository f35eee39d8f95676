"""Salesforce records → typed Arrow record batches.

Two shapes arrive: REST query pages (JSON records: typed values, ``attributes`` to drop) and Bulk API
2.0 query results (CSV: every value text, an empty cell null). Both become batches of one schema, so
the writer never knows which API read them. Values that do not fit their column fail with an error
naming the record's Id and the field, never silently as null.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from airflow_provider_sfcrm.extraction.schema import Column


class ConversionError(ValueError):
    """A value Salesforce sent that does not fit its column's type."""


def _time_ms(value: str) -> int:
    """``10:15:30.250Z`` → milliseconds since midnight."""
    parsed = dt.time.fromisoformat(value.rstrip("Zz")[:12])
    return ((parsed.hour * 60 + parsed.minute) * 60 + parsed.second) * 1000 + parsed.microsecond // 1000


def _column_array(column: Column, values: list[Any]) -> pa.Array:
    kind = column.arrow_type
    if pa.types.is_timestamp(kind) or pa.types.is_date32(kind):
        # Salesforce's text forms ("2024-01-31T10:00:00.000+0000", "2024-01-31") cast exactly.
        return pa.array(values, pa.string()).cast(kind)
    if pa.types.is_time32(kind):
        return pa.array([None if v is None else _time_ms(v) for v in values], pa.int32()).cast(kind)
    if pa.types.is_decimal(kind):
        return pa.array(values, pa.float64()).cast(kind)  # checked: a value that does not fit raises
    if pa.types.is_string(kind):
        return pa.array([v if v is None or isinstance(v, str) else _as_text(v) for v in values], pa.string())
    return pa.array(values, kind)


def _as_text(value: Any) -> str:
    # Compound and anyType values arrive as JSON objects or numbers: keep them, as JSON text.
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _locate_bad_value(column: Column, values: list[Any], ids: Sequence[Any]) -> str:
    for value, record_id in zip(values, ids, strict=False):
        try:
            _column_array(column, [value])
        except (pa.ArrowException, ValueError, TypeError, OverflowError):
            return f"record {record_id}: field {column.name} ({column.sf_type}) has {value!r}"
    return f"field {column.name} ({column.sf_type})"


def records_to_batch(
    records: Sequence[Mapping[str, Any]], columns: Sequence[Column], schema: pa.Schema
) -> pa.RecordBatch:
    """A REST query page's records as one batch of ``schema`` (``attributes`` and unselected keys ignored)."""
    arrays = []
    for column in columns:
        values = [record.get(column.name) for record in records]
        try:
            arrays.append(_column_array(column, values))
        except (pa.ArrowException, ValueError, TypeError, OverflowError) as exc:
            where = _locate_bad_value(column, values, [r.get("Id") for r in records])
            raise ConversionError(f"cannot read {where}: {exc.__class__.__name__}") from exc
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


# --- Bulk API 2.0 query results (CSV) --------------------------------------------------------------


def _csv_text_to(column: Column, text: pa.Array) -> pa.Array:
    """A CSV column read as text → ``column``'s type (an empty cell is null)."""
    kind = column.arrow_type
    if pa.types.is_string(kind):
        return text
    if pa.types.is_boolean(kind):
        lowered = pc.utf8_lower(text)
        if not pc.all(
            pc.or_kleene(pc.is_in(lowered, pa.array(["true", "false"])), pc.is_null(lowered))
        ).as_py():
            raise ValueError("not true/false")
        return pc.equal(lowered, "true")
    if pa.types.is_time32(kind):
        return _column_array(column, text.to_pylist())
    if pa.types.is_decimal(kind):
        return text.cast(pa.float64()).cast(kind)
    return text.cast(kind)


def csv_to_batches(
    data: bytes | io.RawIOBase, columns: Sequence[Column], schema: pa.Schema, *, block_size: int = 8 << 20
) -> Iterator[pa.RecordBatch]:
    """Batches of ``schema`` from one Bulk API 2.0 query result set (CSV, header row, comma, LF).

    Streamed block by block: memory stays flat whatever the size of the result set.
    """
    names = [c.name for c in columns]
    source = pa.BufferReader(data) if isinstance(data, (bytes, bytearray)) else data
    reader = pacsv.open_csv(
        source,
        read_options=pacsv.ReadOptions(block_size=block_size),
        # Text areas hold line breaks, inside quoted values.
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names},
            # Salesforce stores no empty text: an empty cell, quoted or not, is null.
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            include_columns=names,
        ),
    )
    for block in reader:
        arrays = []
        for column in columns:
            text = block.column(column.name)
            try:
                arrays.append(_csv_text_to(column, text))
            except (pa.ArrowException, ValueError, TypeError) as exc:
                raise ConversionError(
                    f"cannot read field {column.name} ({column.sf_type}) from the Bulk result: {exc}"
                ) from exc
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)
