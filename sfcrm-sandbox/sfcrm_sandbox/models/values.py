"""Field values: the rules Salesforce applies to each one written, and the form the org stores.

The rules (``docs/salesforce-facts.md``, "Field values"): text loses leading and trailing
whitespace and an empty text is null; a text longer than the field's length fails with
``STRING_TOO_LONG``, characters counted as Salesforce counts them (UTF-16 code units); an e-mail
field takes only an address of the documented shape (``INVALID_EMAIL_ADDRESS``); a lookup takes
only the Id of a record of one of its target objects (``MALFORMED_ID``); a number must fit its
field's precision once rounded to its scale (``NUMBER_OUTSIDE_VALID_RANGE``); a restricted
picklist takes only its active values (``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``), a
multi-select picklist at most 100 of them (``TOO_MANY_ENUM_VALUE``).

A value of the wrong kind — text that is no number, no date, no date-time, no checkbox value, or a
JSON object or array — is refused twice over: the REST API cannot read such a request at all
(``JSON_PARSER_ERROR`` for the whole request, :attr:`ValueRejected.json_message`), the Bulk APIs
fail the one record (``INVALID_TYPE_ON_FIELD_IN_RECORD``, :attr:`ValueRejected.error`).

Stored forms (what SOQL evaluation expects): text and ids ``str``, dates ``YYYY-MM-DD``,
datetimes ``YYYY-MM-DDTHH:MM:SS.000+0000``, booleans ``bool``, numbers ``int``/``float``, ``None``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import string
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sfcrm_sandbox.models.fields import FieldSpec
from sfcrm_sandbox.models.ids import canonical_id, object_of_id

_WHOLE_TEXT = re.compile(r"^[+-]?[0-9]+(?:\.0*)?$")
_NUMBER_TEXT = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
#: Describe types of decimal numbers (with a precision and a scale).
NUMBER_TYPES = frozenset({"double", "currency", "percent"})
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
    """A value Salesforce would refuse for a field; carries the per-record error.

    :param err: the per-record error (what the Bulk APIs, and REST for value rules, answer).
    :param json_message: set when the value is of the wrong kind for its field: the REST API's
        ``JSON_PARSER_ERROR`` message for the whole request.
    """

    def __init__(self, err: dict[str, Any], json_message: str | None = None) -> None:
        super().__init__(err["message"])
        self.error = err
        self.json_message = json_message


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


def _json_token(value: Any) -> tuple[str, str]:
    """The JSON token a value was read as, and its text, in the words of Salesforce's JSON parser."""
    if isinstance(value, bool):
        return ("VALUE_TRUE", "true") if value else ("VALUE_FALSE", "false")
    if isinstance(value, dict):
        return "START_OBJECT", "{"
    if isinstance(value, list):
        return "START_ARRAY", "["
    if isinstance(value, (int, float)):
        return ("VALUE_NUMBER_INT" if isinstance(value, int) else "VALUE_NUMBER_FLOAT"), str(value)
    return "VALUE_STRING", str(value)


def _not_of_type(spec: FieldSpec, value: Any) -> ValueRejected:
    """A value of the wrong kind: REST cannot read the request (observed: "Cannot deserialize
    instance of double from VALUE_STRING value … or request may be missing a required field at
    [line:1, column:N]"; the sandbox leaves the position out), Bulk fails the record."""
    token, text = _json_token(value)
    return ValueRejected(
        error(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{spec.label}: value not of required type: {text}",
            [spec.name],
        ),
        f"Cannot deserialize instance of {spec.type} from {token} value {text} "
        "or request may be missing a required field",
    )


def _text(spec: FieldSpec, value: Any) -> str | None:
    # UNVERIFIED: a JSON true/false for a text field; the sandbox refuses it like an object.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _not_of_type(spec, value)
    text = salesforce_text(value if isinstance(value, str) else str(value))
    if text is None:
        return None
    if spec.type == "multipicklist":
        text = _selections(spec, text)
        if not text:
            return None
    elif spec.type == "picklist" and spec.restricted_picklist and text not in spec.picklist:
        raise _bad_picklist_value(spec, text)
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


#: Values one multi-select picklist field may hold at once.
MAX_SELECTIONS = 100


def _bad_picklist_value(spec: FieldSpec, value: str) -> ValueRejected:
    # Inactive values are refused like unknown ones: a restricted picklist takes its active values.
    return ValueRejected(
        error(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{spec.label}: bad value for restricted picklist field: {value}",
            [spec.name],
        )
    )


def _selections(spec: FieldSpec, text: str) -> str:
    """A multi-select value: ``;``-separated values, each trimmed, empty and repeated ones dropped."""
    values = list(dict.fromkeys(v for part in text.split(";") if (v := part.strip(TRIMMED_CHARACTERS))))
    if len(values) > MAX_SELECTIONS:
        # UNVERIFIED wording of the message.
        raise ValueRejected(
            error(
                "TOO_MANY_ENUM_VALUE",
                f"{spec.label}: too many values selected: {len(values)} (at most {MAX_SELECTIONS})",
                [spec.name],
            )
        )
    if spec.restricted_picklist:
        for value in values:
            if value not in spec.picklist:
                raise _bad_picklist_value(spec, value)
    return ";".join(values)


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
    # UNVERIFIED: text around true/false is trimmed, as it is around every text value.
    if isinstance(value, str) and value.strip(TRIMMED_CHARACTERS).lower() in ("true", "false"):
        return value.strip(TRIMMED_CHARACTERS).lower() == "true"
    raise _not_of_type(spec, value)


def _number(spec: FieldSpec, value: Any) -> int | float:
    if isinstance(value, bool):
        raise _not_of_type(spec, value)
    if isinstance(value, (int, float)):
        number: int | float = value
    elif isinstance(value, str):
        # Plain decimal notation only (Python would also read "1_000", "١٢" or "infinity").
        text = value.strip(TRIMMED_CHARACTERS)
        if not _NUMBER_TEXT.match(text):
            raise _not_of_type(spec, value)
        number = float(text) if any(c in text for c in ".eE") else int(text)
    else:
        raise _not_of_type(spec, value)
    if not math.isfinite(number):
        raise _not_of_type(spec, value)
    if spec.type == "int":
        # UNVERIFIED: a whole-number field reads whole numbers only ("12", "12.0"; not "1e3").
        whole_text = not isinstance(value, str) or _WHOLE_TEXT.match(value.strip(TRIMMED_CHARACTERS))
        if float(number) != int(number) or not whole_text:
            raise _not_of_type(spec, value)
        if spec.digits and abs(int(number)) >= 10**spec.digits:
            raise _outside_range(spec, number)
        return int(number)
    if not spec.precision:
        return float(number)
    # UNVERIFIED: digits beyond the scale are rounded half up (as Setup rounds what users type);
    # what is left of the decimal point must fit precision - scale digits.
    try:
        rounded = Decimal(str(number)).quantize(Decimal(1).scaleb(-spec.scale), rounding=ROUND_HALF_UP)
    except InvalidOperation:  # more digits than a Decimal holds (1e300): far outside any field's range
        raise _outside_range(spec, number) from None
    if abs(rounded) >= Decimal(10) ** (spec.precision - spec.scale):
        raise _outside_range(spec, number)
    return float(rounded)


def _outside_range(spec: FieldSpec, number: int | float) -> ValueRejected:
    return ValueRejected(
        error(
            "NUMBER_OUTSIDE_VALID_RANGE",
            f"{spec.label}: value outside of valid range on numeric field: {java_double_text(number)}",
            [spec.name],
        )
    )


def java_double_text(number: int | float) -> str:
    """``number`` as Java prints a double (Salesforce's messages do): ``10.0``, ``12.5``,
    ``1.0E19``; plain notation from 0.001 up to 10 million, scientific outside."""
    value = float(number)
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    power = exponent + len(text) - 1
    mantissa = text[0] + "." + (text[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{power}"


def _date(spec: FieldSpec, value: Any) -> str:
    # UNVERIFIED: a date-time given for a date keeps its day; text around it is trimmed.
    text = value.strip(TRIMMED_CHARACTERS) if isinstance(value, str) else None
    if text is None or not _DATETIME.match(text):
        raise _not_of_type(spec, value)
    try:
        dt.date.fromisoformat(text[:10])
    except ValueError:
        raise _not_of_type(spec, value) from None
    return text[:10]


# ISO 8601 as Salesforce reads it: a "T" (no space) between day and time, seconds and a fraction
# optional (milliseconds kept), "Z" or an offset with or without its colon. Without an offset the
# time is UTC; a day alone is midnight UTC (UNVERIFIED, both, and fractions beyond milliseconds).
_DATETIME = re.compile(
    r"^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]+))?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?)?$"
)


def _datetime(spec: FieldSpec, value: Any) -> str:
    match = _DATETIME.match(value.strip(TRIMMED_CHARACTERS)) if isinstance(value, str) else None
    if match is None:
        raise _not_of_type(spec, value)
    day, hour, minute, second, fraction, offset = match.groups()
    millis = (fraction or "0")[:3].ljust(3, "0")
    try:
        moment = dt.datetime.fromisoformat(f"{day}T{hour or '00'}:{minute or '00'}:{second or '00'}.{millis}")
        zone = dt.timezone.utc
        if offset and offset != "Z":
            sign = -1 if offset[0] == "-" else 1
            hours, minutes = int(offset[1:3]), int(offset[-2:])
            zone = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
        return format_datetime(moment.replace(tzinfo=zone))
    except ValueError:
        raise _not_of_type(spec, value) from None


# How the values of the other types are read.
_TYPED: dict[str, Callable[[FieldSpec, Any], Any]] = {
    "int": _number,
    **dict.fromkeys(NUMBER_TYPES, _number),
    "date": _date,
    "datetime": _datetime,
}


def coerce(spec: FieldSpec, value: Any) -> Any:
    """The stored form of ``value`` for ``spec``; raises :class:`ValueRejected` with Salesforce's error."""
    if spec.is_text:
        return None if value is None else _text(spec, value)
    # A number, date, date-time or checkbox given blank text has no value; a checkbox is never
    # null: Salesforce stores null as false.
    blank = value is None or (isinstance(value, str) and salesforce_text(value) is None)
    if spec.type == "boolean":
        return False if blank else _boolean(spec, value)
    if blank:
        return None
    if spec.type == "reference":
        return _reference(spec, value)
    convert = _TYPED.get(spec.type)
    if convert is None:
        raise _not_of_type(spec, value)
    return convert(spec, value)
