"""Records as Bulk API 2.0 CSV job data, and the job's result CSVs back as per-record outcomes.

Writing: one header row (the fields), then one row per record; a field a record leaves out is an
empty value (Salesforce keeps what it holds, as when REST omits the field), a null or empty text is
``#N/A`` (Salesforce sets the field to null, as REST does for ``null``). Values are converted as for
REST (:func:`~.json_values.json_value`): booleans ``true``/``false``, ISO dates, plain numbers.

Mapping back: Salesforce's result CSVs repeat every uploaded row's columns after its own
(``sf__Id``, ``sf__Created`` or ``sf__Error``) but do not promise the upload's order, and a job
refuses columns that are not fields, so no row key can travel with the data. Each uploaded row is
therefore known by a 64-bit hash of its values (:func:`row_hash`); a result row's values hash the
same way and find their record. Rows with equal values (possible only on ``insert``, which has no
identity) are interchangeable: they get the results of their hash in upload order.

Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

import csv
import decimal
import hashlib
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from airflow_provider_sfcrm.activation.json_values import json_value
from airflow_provider_sfcrm.activation.results import UNKNOWN_OUTCOME, RecordError, RecordResult

#: Bulk CSV's "set this field to null".
NULL_VALUE = "#N/A"
#: Rows that a job ended without processing (it failed or was aborted).
BULK_JOB_UNPROCESSED = "BULK_JOB_UNPROCESSED"
_SEPARATOR = "\x1f"
_PLAIN = frozenset({str, int, float, bool, type(None)})


def csv_text(value: Any, field: str) -> str:
    """One record value as Bulk CSV text (see the module's docstring).

    :raises UnsendableValueError: as :func:`~.json_values.json_value` does.
    """
    if type(value) is str:  # most values: the general path below gives the same, more slowly
        return value or NULL_VALUE
    value = json_value(value, field)
    if value is None or value == "":
        return NULL_VALUE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = repr(value)
        return format(decimal.Decimal(text), "f") if "e" in text or "E" in text else text
    return str(value)


def row_hash(values: Sequence[str]) -> int:
    """The 64-bit key of one CSV row's values (as uploaded, and as a result CSV repeats them)."""
    digest = hashlib.blake2b(_SEPARATOR.join(values).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _csv_writer(buffer: io.StringIO) -> Any:
    """The jobs' CSV dialect: LF line endings, minimal quoting."""
    return csv.writer(buffer, lineterminator="\n")


def encode_rows(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bytes:
    """CSV bytes (LF line endings, minimal quoting) of ``rows``; with ``header`` first when given."""
    buffer = io.StringIO()
    writer = _csv_writer(buffer)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


class RowEncoder:
    """One row's CSV bytes at a time, as :func:`encode_rows` gives them, with one writer for every row
    (a writer per row costs more than the encoding itself)."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = _csv_writer(self._buffer)

    def __call__(self, values: Sequence[str]) -> bytes:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow(values)
        return self._buffer.getvalue().encode("utf-8")


def record_row(
    record: Mapping[str, Any], header: Sequence[str], columns: frozenset[str] | None = None
) -> list[str]:
    """The CSV values of ``record`` in ``header``'s order (a field left out: empty, kept as is).

    ``columns``: ``frozenset(header)``, for a caller that encodes many records with one header.

    :raises ValueError: the record has a field the header does not (a bug in the caller).
    :raises UnsendableValueError: a value cannot be sent.
    """
    flat = _columns_of(record)
    if not (columns if columns is not None else frozenset(header)).issuperset(flat):
        extra = set(flat) - set(header)
        raise ValueError(f"record fields {sorted(extra)} are not among the job's columns {list(header)}")
    return [csv_text(flat[name], name) if name in flat else "" for name in header]


def _columns_of(record: Mapping[str, Any]) -> dict[str, Any]:
    """``{column: value}`` of a record: a parent set by its external id
    (``{"Account": {"Ext_Id__c": "A-1"}}``) is the relationship column ``Account.Ext_Id__c``, as Bulk
    API 2.0 CSV spells it."""
    flat: dict[str, Any] = {}
    for name, value in record.items():
        if name == "attributes":
            continue
        # Plain values first: the Mapping check (an ABC) is slow, and nearly every value is text.
        if type(value) not in _PLAIN and isinstance(value, Mapping):
            flat.update((f"{name}.{key}", inner) for key, inner in value.items() if key != "attributes")
        else:
            flat[name] = value
    return flat


def parse_error(text: str) -> RecordError:
    """``sf__Error`` (``CODE:message:field field --``, or ``CODE:message:--``) as a :class:`RecordError`."""
    code, _, rest = text.partition(":")
    message, fields = rest, ()
    if rest.endswith("--"):
        body, _, names = rest[:-2].rstrip().rpartition(":")
        message, fields = body, tuple(names.split())
    return RecordError(code.strip() or "UNKNOWN_ERROR", message.strip(), fields)


def read_results(csv_data: bytes, columns: int) -> Iterator[tuple[dict[str, str], list[str]]]:
    """``(sf__ columns, uploaded values)`` per row of a result CSV whose last ``columns`` are the upload's."""
    # Decoded as it is read: a million result rows are never held a second time as one string.
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(csv_data), encoding="utf-8", newline=""))
    header = next(reader, None)
    if header is None:
        return
    own = header[: len(header) - columns]
    for row in reader:
        if row:
            yield dict(zip(own, row[: len(own)], strict=True)), row[len(own) :]


class ResultIndex:
    """Find the uploaded row (its position in the job's data) of each result row, by its values' hash.

    :param hashes: :func:`row_hash` of every uploaded row, in upload order.
    """

    def __init__(self, hashes: np.ndarray):
        self._order = np.argsort(hashes, kind="stable")
        self._sorted = hashes[self._order]
        self._used = np.zeros(len(hashes), dtype=bool)

    def find(self, values: Sequence[str]) -> int | None:
        """The first not yet matched uploaded row with these values; None if there is none."""
        key = row_hash(values)
        at = int(self._sorted.searchsorted(key, side="left"))
        while at < len(self._sorted) and self._sorted[at] == key:
            if not self._used[at]:
                self._used[at] = True
                return int(self._order[at])
            at += 1
        return None


def job_results(
    index: ResultIndex,
    count: int,
    *,
    successful: bytes,
    failed: bytes,
    unprocessed: bytes,
    columns: int,
    job_note: str,
) -> list[RecordResult]:
    """One :class:`RecordResult` per uploaded row of one job, at its upload position.

    ``index`` is the job's :class:`ResultIndex`. An uploaded row in no result set (which Salesforce
    does not do) is ``UNKNOWN_OUTCOME``; unprocessed rows are ``BULK_JOB_UNPROCESSED`` with ``job_note``
    (the job's state and Salesforce's reason).
    """
    results: list[RecordResult | None] = [None] * count
    for own, values in read_results(successful, columns):
        at = index.find(values)
        if at is not None:
            created = own.get("sf__Created", "").strip().lower()
            results[at] = RecordResult(
                at, True, id=own.get("sf__Id") or None, created={"true": True, "false": False}.get(created)
            )
    for own, values in read_results(failed, columns):
        at = index.find(values)
        if at is not None:
            results[at] = RecordResult(at, False, errors=(parse_error(own.get("sf__Error", "")),))
    for _, values in read_results(unprocessed, columns):
        at = index.find(values)
        if at is not None:
            results[at] = RecordResult.failure(at, BULK_JOB_UNPROCESSED, f"not processed: {job_note}")
    return [
        result
        or RecordResult.failure(
            at, UNKNOWN_OUTCOME, f"in none of the job's result sets ({job_note}); check before writing again"
        )
        for at, result in enumerate(results)
    ]
