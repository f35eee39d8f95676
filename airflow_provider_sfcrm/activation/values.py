"""What a value must be to go to a Salesforce field: checks of whole columns and of each value.

Two layers, so that no value can fail a request — let alone a task — half-way (the third, the
conversion of each value into JSON, is :mod:`.json_values`):

* :func:`column_type_problems`: a column whose type can never fit its field (a list into a Text
  field, a date into a Number) is a configuration error, found before any row is read;
* :func:`value_checks`: per row, a value its field cannot take (``inf``, ``"abc"`` for a Number,
  ``"2026-02-30"`` for a Date) rejects that row with a status code and the field named.

``NaN`` in a floating-point column is a missing value (pandas writes missing numbers so) and
leaves the field as it is, like a null. Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_sfcrm.activation.datetimes import ISO_8601, SALESFORCE_TRIMMED, datetime_text
from airflow_provider_sfcrm.activation.json_values import INVALID_TYPE, NON_FINITE_NUMBER

#: Describe types whose values are text (with a maximum ``length``, checked by row validation).
TEXT_TYPES = frozenset(
    {
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "multipicklist",
        "combobox",
        "encryptedstring",
    }
)
# Describe types, by the values they take.
_TEXT = TEXT_TYPES | {"id", "reference"}
_NUMBER = {"double", "currency", "percent", "int", "long"}
_NUMBER_TEXT = r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$"
_WHOLE_NUMBER_TEXT = r"^\s*[+-]?\d+(\.0*)?\s*$"
_WHOLE = {"int", "long"}
_TRUE_FALSE = pa.array(["true", "false"])


# Arrow type families as far as Salesforce fields care, first match wins.
_CATEGORIES = (
    (pa.types.is_null, "null"),
    (lambda kind: pa.types.is_string(kind) or pa.types.is_large_string(kind), "text"),
    (pa.types.is_string_view, "text"),
    (pa.types.is_boolean, "boolean"),
    (pa.types.is_integer, "integer"),
    (pa.types.is_floating, "float"),
    (pa.types.is_decimal, "decimal"),
    (pa.types.is_date, "date"),
    (pa.types.is_timestamp, "timestamp"),
    (pa.types.is_time, "time"),
)


def _category(kind: pa.DataType) -> str:
    """The family of an Arrow type (``other`` for what no field takes: binary, nested...)."""
    if pa.types.is_dictionary(kind):
        return _category(kind.value_type)
    return next((name for test, name in _CATEGORIES if test(kind)), "other")


# For each family of describe types, the column families that can feed it.
_ACCEPTS: dict[str, set[str]] = {
    "text": {"text", "integer", "float", "decimal", "date", "timestamp", "time"},
    "number": {"text", "integer", "float", "decimal"},
    "boolean": {"text", "boolean"},
    "date": {"text", "date", "timestamp"},
    "datetime": {"text", "date", "timestamp"},
    "time": {"text", "time"},
}


def _field_family(sf_type: str) -> str | None:
    if sf_type in _TEXT:
        return "text"
    if sf_type in _NUMBER:
        return "number"
    return sf_type if sf_type in _ACCEPTS else None


def column_type_problems(column: str, kind: pa.DataType, where: str, sf_type: str) -> str | None:
    """Why column ``column`` (Arrow type ``kind``) can never feed field ``where`` of type ``sf_type``."""
    family = _field_family(sf_type)
    category = _category(kind)
    if category == "null" or (family is None and category != "other"):
        return None
    if category == "other" or category not in _ACCEPTS[str(family)]:
        return f"column {column!r} holds {kind} values, which {where} ({sf_type}) cannot take"
    return None


def text_column_problem(column: str, kind: pa.DataType, role: str) -> str | None:
    """Why a status or identity column of type ``kind`` cannot be read as text (None when it can)."""
    if _category(kind) in ("null", "text") or (role == "identity" and _category(kind) == "integer"):
        return None
    wanted = "text or integers" if role == "identity" else "text"
    return f"the {role} column {column!r} holds {kind} values; it must hold {wanted}"


@dataclass(frozen=True)
class ValueCheck:
    """One failing value kind of one column: the rows where it fails and the error it earns.

    :param mask: True where the row fails.
    :param code: the status code.
    :param message: builds the message from the failing value.
    """

    mask: np.ndarray
    code: str
    message: Callable[[Any], str]


def _mask(values: pa.Array) -> np.ndarray:
    return pc.fill_null(values, False).to_numpy(zero_copy_only=False)


def value_checks(values: pa.Array, label: str, sf_type: str) -> list[ValueCheck]:
    """The per-row type checks of one column's values against its field (``label``, ``sf_type``)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    category = _category(values.type)
    family = _field_family(sf_type)
    checks: list[ValueCheck] = []
    if category == "float":
        infinite = _mask(pc.is_inf(values))
        checks.append(
            ValueCheck(infinite, NON_FINITE_NUMBER, lambda v: f"{label}: {v} is not a finite number")
        )
        if sf_type in _WHOLE:
            fraction = _mask(pc.and_(pc.is_finite(values), pc.not_equal(pc.trunc(values), values)))
            checks.append(ValueCheck(fraction, INVALID_TYPE, lambda v: _not_of_type(label, v)))
    if category != "text" or family in (None, "text"):
        return checks
    text = values.cast(pa.string())
    present = ~_mask(pc.equal(pc.utf8_trim_whitespace(text), "")) & _mask(pc.is_valid(text))
    if family == "number":
        fits = _mask(
            pc.match_substring_regex(text, _WHOLE_NUMBER_TEXT if sf_type in _WHOLE else _NUMBER_TEXT)
        )
    elif family == "boolean":
        fits = _mask(pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(text)), value_set=_TRUE_FALSE))
    elif family == "date":
        # Salesforce keeps a date's day (what follows it only has to have the form of a time): the
        # form, then a real day — strptime rolls 2026-02-30 into March, a real day prints back the same.
        trimmed = pc.utf8_trim(text, characters=SALESFORCE_TRIMMED)
        day = pc.utf8_slice_codeunits(trimmed, 0, 10)
        parsed = pc.strptime(day, "%Y-%m-%d", "s", error_is_null=True)
        fits = _mask(pc.equal(pc.strftime(parsed, "%Y-%m-%d"), day))
        fits &= _mask(pc.match_substring_regex(trimmed, ISO_8601))
    elif family == "datetime":
        # Read one by one as Salesforce reads them (hours below 24, an offset under a day...): the
        # form alone would let "T25:00" through.
        fits = np.array([v is None or datetime_text(v) is not None for v in text.to_pylist()], dtype=bool)
    else:  # time: Salesforce parses it; no check of ours is better than a wrong one
        return checks
    checks.append(ValueCheck(present & ~fits, INVALID_TYPE, lambda v: _not_of_type(label, v)))
    return checks


def _not_of_type(label: str, value: Any) -> str:
    text = str(value)
    return f"{label}: value not of required type: {text if len(text) <= 255 else text[:255] + '...'}"
