"""Field values as the org stores them, and the per-record errors Salesforce gives for bad ones.

Stored forms (what SOQL evaluation expects): text and ids ``str``, dates ``YYYY-MM-DD``,
datetimes ``YYYY-MM-DDTHH:MM:SS.000+0000``, booleans ``bool``, numbers ``int``/``float``, ``None``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from airflow_provider_sfcrm.activation.ids import is_well_formed, to18

from sfcrm_sandbox.schema import KEY_PREFIXES, FieldSpec

# Deliberately close to what Salesforce accepts: local part, "@", dotted domain with a TLD.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER_TYPES = {"double", "currency", "percent"}
_PREFIX_TO_OBJECT = {prefix: name for name, prefix in KEY_PREFIXES.items()}


def error(status_code: str, message: str, fields: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
    """One per-record error as sObject Collections report it."""
    return {"statusCode": status_code, "message": message, "fields": list(fields)}


class ValueRejected(Exception):
    """A value Salesforce would refuse for a field; carries the per-record error."""

    def __init__(self, err: dict[str, Any]) -> None:
        super().__init__(err["message"])
        self.error = err


def format_datetime(moment: dt.datetime) -> str:
    """Salesforce's datetime form: UTC, milliseconds, ``+0000``."""
    moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def now_datetime() -> str:
    # Whole seconds with ".000", as the org stores audit fields.
    return format_datetime(dt.datetime.now(dt.timezone.utc).replace(microsecond=0))


def normalize_id(value: str) -> str:
    """The 18-character form of a well-formed 15- or 18-character Id (checksum in upper case)."""
    return to18(value) if len(value) == 15 else value[:15] + value[15:].upper()


def object_of_id(record_id: str) -> str | None:
    return _PREFIX_TO_OBJECT.get(record_id[:3])


def _not_of_type(spec: FieldSpec, value: Any) -> ValueRejected:
    # UNVERIFIED: Salesforce may reject a wrongly typed JSON value for the whole request
    # (JSON_PARSER_ERROR); the sandbox reports it per record, which is the safer shape for clients.
    return ValueRejected(
        error(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{spec.label}: value not of required type: {value}",
            [spec.name],
        )
    )


def _text(spec: FieldSpec, value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _not_of_type(spec, value)
    text = value if isinstance(value, str) else str(value)
    if text == "":
        # Salesforce stores empty strings as null.
        return None
    if spec.length and len(text) > spec.length:
        raise ValueRejected(
            error(
                "STRING_TOO_LONG",
                f"{spec.label}: data value too large: {text[:255]} (max length={spec.length})",
                [spec.name],
            )
        )
    if spec.type == "email" and not _EMAIL.match(text):
        raise ValueRejected(
            error("INVALID_EMAIL_ADDRESS", f"{spec.label}: invalid email address: {text}", [spec.name])
        )
    return text


def _reference(spec: FieldSpec, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not is_well_formed(value) or object_of_id(value) not in spec.reference_to:
        raise ValueRejected(
            error("MALFORMED_ID", f"{spec.label}: id value of incorrect type: {value}", [spec.name])
        )
    return normalize_id(value)


def _boolean(spec: FieldSpec, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value is None:
        # A checkbox is never null: Salesforce stores null as false.
        return False
    raise _not_of_type(spec, value)


def _number(spec: FieldSpec, value: Any) -> int | float:
    if isinstance(value, bool):
        raise _not_of_type(spec, value)
    if isinstance(value, (int, float)):
        number: int | float = value
    elif isinstance(value, str):
        try:
            number = float(value) if any(c in value for c in ".eE") else int(value)
        except ValueError:
            raise _not_of_type(spec, value) from None
    else:
        raise _not_of_type(spec, value)
    if spec.type == "int":
        if float(number) != int(number):
            raise _not_of_type(spec, value)
        return int(number)
    return float(number)


def _date(spec: FieldSpec, value: Any) -> str:
    if not isinstance(value, str) or not _DATE.match(value[:10]):
        raise _not_of_type(spec, value)
    try:
        dt.date.fromisoformat(value[:10])
    except ValueError:
        raise _not_of_type(spec, value) from None
    return value[:10]


def _datetime(spec: FieldSpec, value: Any) -> str:
    if not isinstance(value, str):
        raise _not_of_type(spec, value)
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    if re.search(r"[+-]\d{4}$", text):
        text = text[:-2] + ":" + text[-2:]
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _not_of_type(spec, value) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return format_datetime(moment)


def coerce(spec: FieldSpec, value: Any) -> Any:
    """The stored form of ``value`` for ``spec``; raises :class:`ValueRejected` with Salesforce's error."""
    if spec.type == "boolean":
        return _boolean(spec, value)
    if value is None:
        return None
    if spec.is_text:
        return _text(spec, value)
    if spec.type == "reference":
        return _reference(spec, value)
    if spec.type == "int" or spec.type in _NUMBER_TYPES:
        return None if value == "" else _number(spec, value)
    if spec.type == "date":
        return None if value == "" else _date(spec, value)
    if spec.type == "datetime":
        return None if value == "" else _datetime(spec, value)
    raise _not_of_type(spec, value)
