"""Field values: the rules Salesforce applies to each one written, and the form the org stores.

The rules (``docs/salesforce-facts.md``, "Field values"): text loses leading and trailing
whitespace and an empty text is null; a text longer than the field's length fails with
``STRING_TOO_LONG``, characters counted as Salesforce counts them (UTF-16 code units); an e-mail
field takes only an address of the documented shape (``INVALID_EMAIL_ADDRESS``); a lookup takes
only the Id of a record of one of its target objects (``MALFORMED_ID``); other types take values of
their type (``INVALID_TYPE_ON_FIELD_IN_RECORD``).

Stored forms (what SOQL evaluation expects): text and ids ``str``, dates ``YYYY-MM-DD``,
datetimes ``YYYY-MM-DDTHH:MM:SS.000+0000``, booleans ``bool``, numbers ``int``/``float``, ``None``.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from typing import Any

from sfcrm_sandbox.models.fields import FieldSpec
from sfcrm_sandbox.models.ids import canonical_id, object_of_id

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMBER_TYPES = {"double", "currency", "percent"}
# What Salesforce strips from both ends of a text (Java's String.trim: every code point <= U+0020).
TRIMMED_CHARACTERS = "".join(chr(code) for code in range(0x21))
# The e-mail characters Salesforce documents: the local part's (RFC 5322 atext and the dot) and the
# domain labels' (letters, digits, hyphen). Addresses with other characters need Email Address
# Internationalization, which the sandbox org does not have.
_LOCAL_PART_CHARACTERS = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~.")
_DOMAIN_LABEL_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-")


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
    """The wall clock's now in Salesforce's form, whole seconds (Bulk jobs' own dates). Records are
    stamped by the org's settable clock instead (:mod:`.clock`)."""
    return format_datetime(dt.datetime.now(dt.timezone.utc).replace(microsecond=0))


def salesforce_text(value: str) -> str | None:
    """A text as Salesforce keeps it: trimmed at both ends, and null when nothing is left."""
    return value.strip(TRIMMED_CHARACTERS) or None


def text_length(text: str) -> int:
    """The length Salesforce checks against a field's: UTF-16 code units (a character outside the
    Basic Multilingual Plane, such as most emoji, counts twice)."""
    return len(text) + sum(1 for character in text if ord(character) > 0xFFFF)


def is_email_address(text: str) -> bool:
    """True when ``text`` has the shape Salesforce accepts in an e-mail field.

    One ``@``; a local part of the documented characters that does not begin with a dot (unlike
    RFC 5322, Salesforce allows consecutive dots and a final dot); a domain of at least two
    dot-separated labels of letters, digits and hyphens, none beginning or ending with a hyphen.
    """
    local, at, domain = text.rpartition("@")
    if not at or not local or local.startswith(".") or not _LOCAL_PART_CHARACTERS.issuperset(local):
        return False
    labels = domain.split(".")
    return len(labels) >= 2 and all(
        label and _DOMAIN_LABEL_CHARACTERS.issuperset(label) and label[0] != "-" and label[-1] != "-"
        for label in labels
    )


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
    text = salesforce_text(value if isinstance(value, str) else str(value))
    if text is None:
        return None
    if spec.length and text_length(text) > spec.length:
        raise ValueRejected(
            error(
                "STRING_TOO_LONG",
                f"{spec.label}: data value too large: {text[:255]} (max length={spec.length})",
                [spec.name],
            )
        )
    if spec.type == "email" and not is_email_address(text):
        raise ValueRejected(
            error("INVALID_EMAIL_ADDRESS", f"{spec.label}: invalid email address: {text}", [spec.name])
        )
    return text


def _reference(spec: FieldSpec, value: Any) -> str | None:
    if value is None or value == "":
        return None
    record_id = canonical_id(value)
    if record_id is None or object_of_id(record_id) not in spec.reference_to:
        raise ValueRejected(
            error("MALFORMED_ID", f"{spec.label}: id value of incorrect type: {value}", [spec.name])
        )
    return record_id


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
