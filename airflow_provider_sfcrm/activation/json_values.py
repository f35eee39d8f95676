"""How one field value becomes JSON for Salesforce, and which values cannot.

:func:`json_value` is the one conversion of a Python value into JSON, used for every record the
hook sends (and for the export's dates and times): ISO dates, plain numbers. What JSON cannot
carry (non-finite numbers, bytes, nested values, pandas' NaT) raises
:class:`UnsendableValueError` with the status code its record gets, which the hook reports per
record. Plain Python only, so that the hook (imported when DAG files are parsed) stays light.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import Any

#: Salesforce's code for a value of the wrong type for its field.
INVALID_TYPE = "INVALID_TYPE_ON_FIELD_IN_RECORD"
#: Ours: ``inf`` / ``-inf`` (or NaN given to the hook), which JSON cannot carry and no field stores.
NON_FINITE_NUMBER = "NON_FINITE_NUMBER"


class UnsendableValueError(ValueError):
    """A value that cannot be encoded for Salesforce; ``code`` is the status code its record gets."""

    def __init__(self, field: str, message: str, code: str = INVALID_TYPE):
        super().__init__(f"field {field!r}: {message}")
        self.field = field
        self.code = code


def json_value(value: Any, field: str = "") -> Any:
    """One value as it goes into the JSON body (ISO dates, plain numbers).

    :raises UnsendableValueError: for non-finite numbers and values JSON or Salesforce cannot take.
    """
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UnsendableValueError(
                field, f"{value} is not a finite number; Salesforce cannot store it", NON_FINITE_NUMBER
            )
        return value
    if isinstance(value, decimal.Decimal):
        return json_value(float(value), field)
    if isinstance(value, (dt.date, dt.time)):  # datetimes too (a subclass of date)
        if value != value:  # pandas' NaT passes for a datetime but has no ISO form
            raise UnsendableValueError(field, "NaT is not a date; leave the field out instead")
        return value.isoformat()
    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (bytes, bytearray)):
        return json_value(value.item(), field)  # numpy scalars (from pandas rows)
    raise UnsendableValueError(field, f"a value of type {type(value).__name__} cannot be sent to Salesforce")
