"""Typed mapping: what a field's describe says it takes, the checks beyond a value's kind, and the
typed JSON value sent for it.

:mod:`.values` checks a value's *kind* (text that is no number, a day that does not exist);
this module adds what the field's own definition allows, as Salesforce judges it:

* a number must fit its field once rounded to the field's ``scale`` (half up): at most
  ``precision - scale`` digits before the decimal point, an integer field at most ``digits``
  (``NUMBER_OUTSIDE_VALID_RANGE``);
* a restricted picklist takes only its active values, exactly as defined
  (``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``); a multi-select picklist takes ``;``-separated
  values (each checked when restricted), at most 100 of them (``TOO_MANY_ENUM_VALUE``);

and turns each column into the JSON values its field expects: numbers as numbers, checkboxes as
``true``/``false``, dates as ``YYYY-MM-DD``, date-times in UTC with a ``Z``, multi-select values
trimmed and without repeats. Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_sfcrm.activation.datetimes import SALESFORCE_TRIMMED, datetime_text, utc_text
from airflow_provider_sfcrm.activation.values import ValueCheck

NUMBER_OUTSIDE_VALID_RANGE = "NUMBER_OUTSIDE_VALID_RANGE"
INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
TOO_MANY_ENUM_VALUE = "TOO_MANY_ENUM_VALUE"

#: Values one multi-select picklist field may hold at once.
MAX_SELECTIONS = 100
#: Separator of a multi-select picklist's values.
SELECTION_SEPARATOR = ";"

_DECIMAL_TYPES = frozenset({"double", "currency", "percent"})
_WHOLE_TYPES = frozenset({"int", "long"})
_NUMBER_TEXT = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"


@dataclass(frozen=True)
class FieldType:
    """What describe says about one field's values.

    :param name: API name.
    :param label: label (Salesforce's messages name fields by it).
    :param type: describe ``type`` in lower case (``double``, ``picklist``, ``datetime``, ...).
    :param length: maximum length of a text value (0: none).
    :param precision: digits in all of a Number/Currency/Percent field (0: not checked).
    :param scale: digits after the decimal point.
    :param digits: digits of an integer field (0: not checked).
    :param restricted: a restricted picklist: only ``values`` may be written.
    :param values: the picklist's active values, in order.
    :param sobject: the object the field belongs to, when it is not the one written (a parent's
        external id, :mod:`.references`).
    """

    name: str
    label: str
    type: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    restricted: bool = False
    values: tuple[str, ...] = ()
    sobject: str = ""

    @classmethod
    def from_describe(cls, field: Mapping[str, Any]) -> FieldType:
        """The type of one entry of a describe's ``fields``."""

        def number(key: str) -> int:
            value = field.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0

        return cls(
            name=str(field.get("name") or ""),
            label=str(field.get("label") or field.get("name") or ""),
            type=str(field.get("type") or "").lower(),
            length=number("length"),
            precision=number("precision"),
            scale=number("scale"),
            digits=number("digits"),
            restricted=bool(field.get("restrictedPicklist")),
            values=tuple(
                str(entry["value"])
                for entry in field.get("picklistValues") or ()
                if isinstance(entry, Mapping) and entry.get("active", True) and entry.get("value") is not None
            ),
        )


def _text(values: pa.Array) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    return values if pa.types.is_string(values.type) else pc.cast(values, pa.string())


def _is_text(values: pa.Array) -> bool:
    kind = values.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)


def _trimmed(values: pa.Array) -> pa.Array:
    """Text as Salesforce keeps it: trimmed at both ends, null when empty."""
    text = pc.utf8_trim(_text(values), characters=SALESFORCE_TRIMMED)
    return pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)


def selections(text: str) -> list[str]:
    """A multi-select value's values: split on ``;``, trimmed, empty and repeated ones dropped."""
    parts = (part.strip(SALESFORCE_TRIMMED) for part in text.split(SELECTION_SEPARATOR))
    return list(dict.fromkeys(part for part in parts if part))


def multi_select_text(values: pa.Array) -> pa.Array:
    """Multi-select values as stored: ``a;b`` (trimmed, no repeats); null where none is left."""
    joined = [
        SELECTION_SEPARATOR.join(selections(text)) or None if text is not None else None
        for text in _text(values).to_pylist()
    ]
    return pa.array(joined, pa.string())


def _numbers(values: pa.Array) -> pa.Array:
    """The values as float64: text in plain decimal notation is read, other text is null."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if not _is_text(values):
        return pc.cast(values, pa.float64())
    text = _trimmed(values)
    readable = pc.fill_null(pc.match_substring_regex(text, _NUMBER_TEXT), False)
    return pc.cast(pc.if_else(readable, text, pa.scalar(None, pa.string())), pa.float64())


def java_double_text(number: float) -> str:
    """A number as Java prints a double (Salesforce's messages do): ``10.0``, ``12.5``, ``1.0E19``:
    plain from 0.001 up to 10,000,000, else one digit, the shortest further digits and ``E`` with
    the power of ten."""
    number = float(number)
    if number == 0 or 1e-3 <= abs(number) < 1e7:
        return repr(number)
    shortest = repr(abs(number))  # the shortest digits that read back as the same double
    if "e" in shortest:
        mantissa, _, power = shortest.partition("e")
        digits, exponent = mantissa.replace(".", ""), int(power)
    else:
        whole, _, fraction = shortest.partition(".")
        if whole.strip("0"):
            digits, exponent = whole + fraction, len(whole) - 1
        else:
            exponent = -(len(fraction) - len(fraction.lstrip("0")) + 1)
            digits = fraction.lstrip("0")
    digits = digits.lstrip("0").rstrip("0") or "0"
    return f"{'-' if number < 0 else ''}{digits[0]}.{digits[1:] or '0'}E{exponent}"


def _outside(field: FieldType, number: float) -> bool:
    """Exactly Salesforce's range rule for one number (half-up rounding to the scale)."""
    if field.type in _WHOLE_TYPES:
        return bool(field.digits) and abs(int(number)) >= 10**field.digits
    if not field.precision:
        return False
    try:
        rounded = Decimal(repr(float(number))).quantize(
            Decimal(1).scaleb(-field.scale), rounding=ROUND_HALF_UP
        )
    except InvalidOperation:  # more digits than Decimal's context holds: far out of any range
        return True
    return abs(rounded) >= Decimal(10) ** (field.precision - field.scale)


def range_checks(values: pa.Array, field: FieldType) -> list[ValueCheck]:
    """``NUMBER_OUTSIDE_VALID_RANGE`` for the numbers that do not fit ``field`` (values of the wrong
    kind are left to :func:`~.values.value_checks`)."""
    if field.type not in _DECIMAL_TYPES | _WHOLE_TYPES or not (field.precision or field.digits):
        return []
    numbers = _numbers(values)
    if field.type in _WHOLE_TYPES:
        bound = 10.0 ** (field.digits or 308) - 1
    else:
        bound = 10.0 ** (field.precision - field.scale) - 10.0**-field.scale
    finite = pc.fill_null(pc.is_finite(numbers), False)
    # Only values near or beyond the bound go through the exact rule; whole ones for an int field.
    near = pc.and_(finite, pc.greater_equal(pc.abs(numbers), bound * (1 - 1e-12)))
    mask = np.zeros(len(numbers), dtype=bool)
    floats = numbers.to_numpy(zero_copy_only=False)
    for pos in np.flatnonzero(pc.fill_null(near, False).to_numpy(zero_copy_only=False)):
        number = float(floats[pos])
        if field.type in _WHOLE_TYPES and number != int(number):
            continue  # a fraction: already refused as a value of the wrong kind
        mask[pos] = _outside(field, number)
    label = field.label

    def message(value: Any) -> str:
        number = float(str(value).strip(SALESFORCE_TRIMMED)) if isinstance(value, str) else float(value)
        return f"{label}: value outside of valid range on numeric field: {java_double_text(number)}"

    return [ValueCheck(mask, NUMBER_OUTSIDE_VALID_RANGE, message)]


def _bad_choice(field: FieldType, value: str) -> str:
    return f"{field.label}: bad value for restricted picklist field: {value}"


def choice_checks(values: pa.Array, field: FieldType) -> list[ValueCheck]:
    """Picklist checks: a restricted picklist's values, and a multi-select's count of values."""
    if field.type == "picklist" and field.restricted:
        text = _trimmed(values)
        allowed = pa.array(field.values, pa.string())
        unknown = pc.and_(pc.is_valid(text), pc.invert(pc.is_in(text, value_set=allowed)))
        mask = pc.fill_null(unknown, False).to_numpy(zero_copy_only=False)
        return [
            ValueCheck(
                mask,
                INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST,
                lambda value: _bad_choice(field, str(value).strip(SALESFORCE_TRIMMED)),
            )
        ]
    if field.type != "multipicklist":
        return []
    texts = _text(values).to_pylist()
    too_many = np.zeros(len(texts), dtype=bool)
    unknown = np.zeros(len(texts), dtype=bool)
    allowed = set(field.values)
    for pos, text in enumerate(texts):
        if text is None:
            continue
        chosen = selections(text)
        too_many[pos] = len(chosen) > MAX_SELECTIONS
        unknown[pos] = field.restricted and not too_many[pos] and not allowed.issuperset(chosen)

    def first_unknown(value: Any) -> str:
        return _bad_choice(field, next(v for v in selections(str(value)) if v not in allowed))

    def count(value: Any) -> str:
        found = len(selections(str(value)))
        return f"{field.label}: too many values selected: {found} (at most {MAX_SELECTIONS})"

    return [
        ValueCheck(too_many, TOO_MANY_ENUM_VALUE, count),
        ValueCheck(unknown, INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, first_unknown),
    ]


def _per_value(values: pa.Array, convert: Any) -> pa.Array:
    return pa.array([None if v is None else convert(v) for v in values.to_pylist()], pa.string())


def _date_value(value: Any) -> str:
    return value.date().isoformat()  # a timestamp's day in its own zone


def _datetime_value(value: Any) -> str | None:
    return datetime_text(value) if isinstance(value, str) else utc_text(value)


def sendable(values: pa.Array | pa.ChunkedArray, field: FieldType) -> pa.Array | None:
    """The column as the typed JSON values its field takes, null where the field is left as is;
    None when the field's type needs no conversion (text, ids: sent as they are).

    Rows have been validated before: text that could not be read does not reach this point.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    text = _is_text(values)
    if field.type in _WHOLE_TYPES and (
        text or pa.types.is_floating(values.type) or pa.types.is_decimal(values.type)
    ):
        numbers = _numbers(values)  # whole numbers by now; NaN, like a null, leaves the field as is
        return pc.cast(
            pc.round(pc.if_else(pc.is_nan(numbers), pa.scalar(None, pa.float64()), numbers)), pa.int64()
        )
    if field.type in _DECIMAL_TYPES and (text or pa.types.is_decimal(values.type)):
        return _numbers(values)
    if field.type == "boolean" and text:
        return pc.equal(pc.utf8_lower(_trimmed(values)), "true")
    if field.type == "date" and text:
        return pc.utf8_slice_codeunits(_trimmed(values), 0, 10)  # the day as written (rows are valid)
    if field.type == "date" and pa.types.is_timestamp(values.type):
        return _per_value(values, _date_value)
    if field.type == "datetime" and (
        text or pa.types.is_timestamp(values.type) or pa.types.is_date(values.type)
    ):
        return _per_value(_trimmed(values) if text else values, _datetime_value)
    if field.type == "multipicklist":
        return multi_select_text(values)
    return None
