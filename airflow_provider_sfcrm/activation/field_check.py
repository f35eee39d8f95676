"""Checks the audience-status fields (one per Mapping ID) against an object's describe JSON.

Every activated audience writes its members' status into a custom **Text Area (Long)** field —
on Lead or Contact as in the reference product, or on any other object written — whose name equals
the audience's Mapping ID (``crm_2_seg`` → ``crm_2_seg__c``).
In the reference product a wrong field only shows up at run time as "Unknown errors"; this module
says up front, per Mapping ID, what is wrong and how to fix it. Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

from airflow_provider_sfcrm.activation.names import validate_api_name
from airflow_provider_sfcrm.activation.wording import plural

#: The reference product allows at most this many audience fields active at once per destination.
MAX_AUDIENCE_FIELDS = 25

#: The objects the reference product activates audiences into; their names are put in their usual
#: case. Any other object with the fields will do too.
AUDIENCE_OBJECTS = ("Lead", "Contact")

#: Long and rich text areas hold 256 to 131,072 characters.
MIN_FIELD_LENGTH = 256
MAX_FIELD_LENGTH = 131_072
#: Salesforce allows at most 40 characters before the ``__c`` suffix.
MAX_NAME_LENGTH = 40

_SUFFIX = "__c"
_WANTED = "Text Area (Long)"
_LENGTH_RANGE = f"length {MIN_FIELD_LENGTH}–{MAX_FIELD_LENGTH:,}"
_NAME_CHARS = re.compile(r"^[A-Za-z0-9_]+$")

# Describe ``type`` → the words an admin sees in Setup. Text areas are told apart separately.
_TYPE_LABELS = {
    "string": "Text",
    "encryptedstring": "Text (Encrypted)",
    "email": "Email",
    "phone": "Phone",
    "url": "URL",
    "double": "Number",
    "int": "Number",
    "long": "Number",
    "currency": "Currency",
    "percent": "Percent",
    "boolean": "Checkbox",
    "date": "Date",
    "datetime": "Date/Time",
    "time": "Time",
    "picklist": "Picklist",
    "multipicklist": "Picklist (Multi-Select)",
    "combobox": "Picklist (Combobox)",
    "reference": "Lookup Relationship",
    "id": "ID",
    "address": "Address",
    "location": "Geolocation",
    "base64": "File (base64)",
}


class TooManyAudienceFieldsError(ValueError):
    """More audience fields were asked for than the reference product's limit allows."""


class FieldStatus(str, Enum):
    """What the check found for one Mapping ID."""

    OK = "ok"
    MISSING = "missing"
    WRONG_TYPE = "wrong_type"
    TOO_SHORT = "too_short"
    NOT_UPDATEABLE = "not_updateable"
    INVALID_NAME = "invalid_name"


@dataclass(frozen=True)
class FieldVerdict:
    """The verdict on one Mapping ID's field.

    :param mapping_id: the Mapping ID as given.
    :param field_name: the field's API name (as the org spells it when found), or None when the
        Mapping ID is not a valid field name.
    :param status: the :class:`FieldStatus`.
    :param message: what is wrong (or "ok"), in words an admin understands.
    :param fix: one sentence saying how to fix it; None when ok.
    :param actual_type: the field's type as Setup shows it (e.g. "Text Area (255)"), None when absent.
    :param length: the field's declared length, None when absent or not a text type.
    """

    mapping_id: str
    field_name: str | None
    status: FieldStatus
    message: str
    fix: str | None = None
    actual_type: str | None = None
    length: int | None = None

    @property
    def ok(self) -> bool:
        return self.status is FieldStatus.OK

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (status as its string value), small enough for XCom."""
        data = asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FieldVerdict:
        """Rebuild a verdict from :meth:`to_dict` output (e.g. a trigger event)."""
        return cls(**{**data, "status": FieldStatus(data["status"])})


def _name_problem(base: str) -> str | None:
    """Why ``base`` (the name without ``__c``) is not a valid custom field name, or None."""
    if not base:
        return "is empty"
    if any(ch.isspace() for ch in base):
        return "contains whitespace (Salesforce field names cannot; use underscores)"
    if not _NAME_CHARS.match(base):
        bad = "".join(sorted({ch for ch in base if not (ch.isascii() and (ch.isalnum() or ch == "_"))}))
        return (
            f"contains characters Salesforce does not allow in field names ({bad!r}); "
            "use letters, digits and underscores"
        )
    if not base[0].isalpha():
        return "must start with a letter"
    if "__" in base:
        return "must not contain two consecutive underscores"
    if base.endswith("_"):
        return "must not end with an underscore"
    if len(base) > MAX_NAME_LENGTH:
        return f"is {len(base)} characters long; Salesforce allows at most {MAX_NAME_LENGTH} before '__c'"
    return None


def field_api_name(mapping_id: str) -> str:
    """Return the custom field API name of a Mapping ID: ``crm_2_seg`` or ``crm_2_seg__c`` → ``crm_2_seg__c``.

    :raises ValueError: naming the Mapping ID when it cannot be a Salesforce custom field name.
    """
    if not isinstance(mapping_id, str):
        raise ValueError(f"Mapping ID {mapping_id!r} is not a string")
    base = mapping_id[: -len(_SUFFIX)] if mapping_id.lower().endswith(_SUFFIX) else mapping_id
    problem = _name_problem(base)
    if problem:
        raise ValueError(f"Mapping ID {mapping_id!r} {problem}")
    return base + _SUFFIX


def normalise_audience_request(sobject: object, mapping_ids: object) -> tuple[str, list[str]]:
    """Check the (possibly templated) object and Mapping IDs an operator was given.

    ``sobject`` is any object's API name (Lead and Contact in any case). ``mapping_ids`` is a list
    of strings, or one string holding a JSON list or comma-separated IDs (what a Jinja template
    renders to).

    :return: the object's proper name and the list of Mapping IDs, as given.
    :raises ValueError: naming what is wrong.
    """
    objects = {name.lower(): name for name in AUDIENCE_OBJECTS}
    name = sobject.strip() if isinstance(sobject, str) else sobject
    validate_api_name(name, "object name (sobject)")
    assert isinstance(name, str)
    ids: object = mapping_ids
    if isinstance(mapping_ids, str):
        text = mapping_ids.strip()
        if text.startswith("["):
            try:
                ids = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"mapping_ids {mapping_ids!r} is not a valid JSON list: {exc}") from exc
        else:
            ids = [part.strip() for part in text.split(",")] if text else []
    if not isinstance(ids, Iterable) or isinstance(ids, (str, bytes, Mapping)):
        raise ValueError(f"mapping_ids must be a list of Mapping IDs, got {type(mapping_ids).__name__}")
    ids = list(ids)
    not_strings = [mapping_id for mapping_id in ids if not isinstance(mapping_id, str)]
    if not_strings:
        raise ValueError(f"every Mapping ID must be a string, got {not_strings!r}")
    if not ids:
        raise ValueError("no Mapping IDs given")
    return objects.get(name.lower(), name), ids


def field_type_label(field: Mapping[str, Any]) -> str:
    """Describe a field's type the way Salesforce Setup names it ("Text Area (255)", "Email", ...)."""
    if field.get("calculated"):
        inner = {**field, "calculated": False}
        return f"Formula ({field_type_label(inner)})"
    if field.get("autoNumber"):
        return "Auto Number"
    sf_type = str(field.get("type") or "").lower()
    if sf_type == "textarea":
        if field.get("extraTypeInfo") == "richtextarea" or field.get("htmlFormatted"):
            return "Rich Text Area"
        # A plain Text Area is fixed at 255 and, unlike a long one, filterable and sortable.
        length = field.get("length") or 0
        if field.get("filterable") is False or length > 255:
            return _WANTED
        return "Text Area (255)"
    return _TYPE_LABELS.get(sf_type, sf_type or "unknown type")


def _article(word: str) -> str:
    return "an" if word[:1].upper() in "AEIOU" else "a"


def _verdict_for(
    sobject: str, mapping_id: str, field_name: str, field: Mapping[str, Any] | None
) -> FieldVerdict:
    base = field_name[: -len(_SUFFIX)]
    if field is None:
        return FieldVerdict(
            mapping_id,
            field_name,
            FieldStatus.MISSING,
            message=(
                f"{sobject}.{field_name} is not visible: either it was never created, "
                "or field-level security hides it from the connection's user"
            ),
            fix=(
                f"create a {_WANTED} field named {base} on {sobject} ({_LENGTH_RANGE}), "
                f"or, if it exists, grant Read and Edit on {sobject}.{field_name} to the integration user"
            ),
        )
    name = str(field.get("name") or field_name)
    label = field_type_label(field)
    length = field.get("length")
    length = int(length) if isinstance(length, int) and not isinstance(length, bool) else None
    described = dict(mapping_id=mapping_id, field_name=name, actual_type=label, length=length)
    if label != _WANTED:
        what = f"{label} (length {length})" if label == "Text" and length else label
        return FieldVerdict(
            status=FieldStatus.WRONG_TYPE,
            message=f"{sobject}.{name} is {_article(what)} {what} field, not a {_WANTED} field",
            fix=(
                f"change {sobject}.{name} to {_WANTED} ({_LENGTH_RANGE}), or delete it and create "
                f"a {_WANTED} field named {base} on {sobject}"
            ),
            **described,
        )
    if length is None or length < MIN_FIELD_LENGTH:
        return FieldVerdict(
            status=FieldStatus.TOO_SHORT,
            message=f"{sobject}.{name} holds {length} characters, fewer than the minimum {MIN_FIELD_LENGTH}",
            fix=(
                f"increase the length of {sobject}.{name} to at least {MIN_FIELD_LENGTH} "
                f"(at most {MAX_FIELD_LENGTH:,})"
            ),
            **described,
        )
    if not field.get("updateable", False):
        return FieldVerdict(
            status=FieldStatus.NOT_UPDATEABLE,
            message=f"{sobject}.{name} is read-only for the connection's user (field-level security)",
            fix=f"grant Edit on {sobject}.{name} to the integration user",
            **described,
        )
    return FieldVerdict(
        status=FieldStatus.OK, message=f"{sobject}.{name} is a usable {_WANTED} field", **described
    )


def check_audience_fields(describe: Mapping[str, Any], mapping_ids: Sequence[str]) -> dict[str, FieldVerdict]:
    """Judge each Mapping ID's field in ``describe`` (an sObject describe JSON).

    Names match case-insensitively, as in Salesforce. Several Mapping IDs may share one field.

    :param describe: the ``sobjects/{SObject}/describe`` JSON as the connection's user sees it.
    :param mapping_ids: the audiences' Mapping IDs, with or without ``__c``.
    :return: one verdict per Mapping ID, keyed by the Mapping ID as given, in input order.
    :raises TooManyAudienceFieldsError: when more than :data:`MAX_AUDIENCE_FIELDS` distinct fields
        are asked for.
    """
    if isinstance(mapping_ids, str):
        # A lone string would be checked character by character: refuse it plainly.
        raise TypeError(f"mapping_ids must be a list of Mapping IDs, not the string {mapping_ids!r}")
    sobject = str(describe.get("name") or "the object")
    fields = {str(f.get("name", "")).lower(): f for f in describe.get("fields") or ()}

    names: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    for mapping_id in mapping_ids:
        try:
            names[mapping_id] = field_api_name(mapping_id)
        except ValueError as exc:
            names[mapping_id], problems[mapping_id] = None, str(exc)
    distinct = {(name or str(mid)).lower() for mid, name in names.items()}
    if len(distinct) > MAX_AUDIENCE_FIELDS:
        raise TooManyAudienceFieldsError(
            f"{len(distinct)} audience fields asked for on {sobject}; at most {MAX_AUDIENCE_FIELDS} "
            "audience fields may be active at once (remove old Mapping IDs first)"
        )

    verdicts: dict[str, FieldVerdict] = {}
    for mapping_id, field_name in names.items():
        if field_name is None:
            verdicts[mapping_id] = FieldVerdict(
                mapping_id,
                None,
                FieldStatus.INVALID_NAME,
                message=f"{problems[mapping_id]}, so it cannot name a field on {sobject}",
                fix=(
                    "use a Mapping ID made of letters, digits and single underscores, starting with "
                    f"a letter, at most {MAX_NAME_LENGTH} characters (e.g. crm_1_seg)"
                ),
            )
        else:
            verdicts[mapping_id] = _verdict_for(
                sobject, mapping_id, field_name, fields.get(field_name.lower())
            )
    return verdicts


def verdicts_as_dicts(verdicts: Mapping[str, FieldVerdict]) -> dict[str, dict[str, Any]]:
    """``{mapping_id: verdict.to_dict()}``: the report operators return and errors carry (JSON-safe)."""
    return {mapping_id: verdict.to_dict() for mapping_id, verdict in verdicts.items()}


def problems_message(sobject: str, verdicts: Mapping[str, FieldVerdict]) -> str:
    """A header line, then one line per unusable field with its fix (no problem: :func:`found_message`)."""
    problems = [v for v in verdicts.values() if not v.ok]
    if not problems:
        return found_message(sobject, verdicts)
    lines = [f"{len(problems)} of {plural(len(verdicts), 'audience field')} on {sobject} cannot be used:"]
    lines += [f"- {v.mapping_id}: [{v.status.value}] {v.message}; fix: {v.fix}" for v in problems]
    return "\n".join(lines)


def found_message(sobject: str, verdicts: Mapping[str, FieldVerdict]) -> str:
    """What the check found, one clause per field: "2 audience fields on Contact are usable: ..."."""
    usable = [v for v in verdicts.values() if v.ok]
    found = "; ".join(
        f"{v.field_name} ({v.actual_type}" + (f", {v.length:,} characters)" if v.length else ")")
        for v in usable
    )
    verb = "is" if len(usable) == 1 else "are"
    head = f"{plural(len(usable), 'audience field')} on {sobject} {verb} usable"
    if len(usable) < len(verdicts):
        head = f"{len(usable)} of {plural(len(verdicts), 'audience field')} on {sobject} {verb} usable"
    return f"{head}: {found}" if found else head
