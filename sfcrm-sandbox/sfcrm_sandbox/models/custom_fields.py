"""Custom fields the Tooling API creates: their metadata rules, and how the store persists them.

``Metadata`` follows the Metadata API's ``CustomField`` (``docs/salesforce-facts.md``, "Custom
fields"): a ``type`` of the FieldType enumeration and the attributes that type needs — ``length``
for text, ``precision`` and ``scale`` for numbers, ``valueSet`` for picklists, ``visibleLines`` for
long text and multi-select picklists, ``defaultValue`` for checkboxes — plus ``label``,
``required``, ``externalId`` and ``unique``. Each type becomes the :class:`FieldSpec` describe
reports and writes enforce.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields as dataclass_fields
from dataclasses import replace
from typing import Any

from sfcrm_sandbox.models.fields import FieldSpec

LONG_TEXT_MIN, LONG_TEXT_MAX = 256, 131072
MAX_NUMBER_PRECISION = 18
#: How many values a picklist may define (restricted or not) and a multi-select picklist.
MAX_PICKLIST_VALUES, MAX_MULTI_PICKLIST_VALUES = 1000, 500
#: Describe ``length`` of a multi-select picklist (its values joined by ``;``).
MULTI_PICKLIST_LENGTH = 4099
# Types whose values may key an upsert or be unique (Text, Number, Email).
_KEY_TYPES = ("string", "email", "double")


class MetadataError(ValueError):
    """A Tooling create request (``CustomField``, ``CustomObject``) that Salesforce would refuse."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


CustomFieldError = MetadataError


def _refuse(message: str) -> MetadataError:
    return MetadataError("FIELD_INTEGRITY_EXCEPTION", message)


def _need(metadata: dict[str, Any], key: str, kind: str) -> Any:
    value = metadata.get(key)
    if value is None:
        raise _refuse(f"Must specify '{key}' for a CustomField of type {kind}")
    return value


def _whole(metadata: dict[str, Any], key: str, kind: str) -> int:
    value = _need(metadata, key, kind)
    # Metadata sends numbers as JSON numbers or, like the XML it mirrors, as text.
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(f"'{key}' of a CustomField of type {kind} must be a whole number, not {value!r}")
    return value


def _flag(value: Any) -> bool:
    """A Metadata boolean: ``true`` / ``false`` as JSON or as text."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _text(name: str, label: str, metadata: dict[str, Any], kind: str) -> FieldSpec:
    length = _whole(metadata, "length", kind)
    if not 1 <= length <= 255:
        raise _refuse("Length must be between 1 and 255")
    return FieldSpec(name, "string", label, length)


def _text_area(name: str, label: str, metadata: dict[str, Any], kind: str) -> FieldSpec:
    return FieldSpec(name, "textarea", label, 255, extra_type_info="plaintextarea")


def _long_text(name: str, label: str, metadata: dict[str, Any], kind: str) -> FieldSpec:
    length = _whole(metadata, "length", kind)
    lines = _whole(metadata, "visibleLines", kind) if kind == "LongTextArea" else metadata.get("visibleLines")
    if not LONG_TEXT_MIN <= length <= LONG_TEXT_MAX:
        raise _refuse(f"Length must be between {LONG_TEXT_MIN} and {LONG_TEXT_MAX}")
    rich = kind == "Html"
    return FieldSpec(
        name,
        "textarea",
        label,
        length,
        extra_type_info="richtextarea" if rich else "plaintextarea",
        html=rich,
        filterable=False,
        visible_lines=lines if isinstance(lines, int) else 0,
    )


def _number(name: str, label: str, metadata: dict[str, Any], kind: str) -> FieldSpec:
    precision = _whole(metadata, "precision", kind)
    scale = _whole(metadata, "scale", kind) if metadata.get("scale") is not None else 0
    if not 1 <= precision <= MAX_NUMBER_PRECISION:
        raise _refuse(f"Precision must be between 1 and {MAX_NUMBER_PRECISION}")
    if not 0 <= scale <= precision:
        raise _refuse("Scale must be between 0 and the precision")
    describe_type = {"Number": "double", "Currency": "currency", "Percent": "percent"}[kind]
    return FieldSpec(name, describe_type, label, precision=precision, scale=scale)


def _simple(describe_type: str, length: int = 0) -> Callable[..., FieldSpec]:
    def build(name: str, label: str, metadata: dict[str, Any], kind: str) -> FieldSpec:
        return FieldSpec(name, describe_type, label, length)

    return build


def _checkbox(name: str, label: str, metadata: dict[str, Any], kind: str) -> FieldSpec:
    if _flag(metadata.get("required")):
        # UNVERIFIED wording: a checkbox is never empty, so it cannot be required.
        raise _refuse("A CustomField of type Checkbox can't be required")
    default = _flag(metadata.get("defaultValue"))
    return FieldSpec(name, "boolean", label, nillable=False, defaulted_on_create=True, default=default)


def _picklist(name: str, label: str, metadata: dict[str, Any], kind: str) -> FieldSpec:
    multi = kind == "MultiselectPicklist"
    value_set = _need(metadata, "valueSet", kind)
    definition = value_set.get("valueSetDefinition") if isinstance(value_set, dict) else None
    values = definition.get("value") if isinstance(definition, dict) else None
    if not isinstance(values, list) or not values:
        raise _refuse(f"Must specify 'valueSet.valueSetDefinition.value' for a CustomField of type {kind}")
    limit = MAX_MULTI_PICKLIST_VALUES if multi else MAX_PICKLIST_VALUES
    if len(values) > limit:
        raise _refuse(f"A CustomField of type {kind} can have at most {limit} values")
    active: list[str] = []
    inactive: list[str] = []
    defaults: list[str] = []
    seen: set[str] = set()
    for entry in values:
        full_name = entry.get("fullName") if isinstance(entry, dict) else None
        if not isinstance(full_name, str) or not full_name.strip() or len(full_name) > 255:
            raise _refuse(f"Each picklist value needs a 'fullName' of 1 to 255 characters, not {full_name!r}")
        if full_name.lower() in seen:
            # UNVERIFIED wording; values are unique without regard to case.
            raise _refuse(f"Duplicate picklist value: {full_name}")
        seen.add(full_name.lower())
        is_active = entry.get("isActive") is None or _flag(entry.get("isActive"))
        (active if is_active else inactive).append(full_name)
        if _flag(entry.get("default")):
            if not is_active:
                raise _refuse(f"The default value {full_name} must be active")
            defaults.append(full_name)
    if len(defaults) > 1 and not multi:
        raise _refuse("A picklist can have only one default value")
    lines = _whole(metadata, "visibleLines", kind) if multi else 0
    return FieldSpec(
        name,
        "multipicklist" if multi else "picklist",
        label,
        MULTI_PICKLIST_LENGTH if multi else 255,
        picklist=tuple(active),
        inactive_picklist=tuple(inactive),
        restricted_picklist=_flag(value_set.get("restricted")),
        # A default makes the org fill the field on insert (describe: defaultedOnCreate).
        default=";".join(defaults) or None,
        defaulted_on_create=bool(defaults),
        visible_lines=lines,
    )


#: Metadata ``type`` → builder of its spec.
_BUILDERS: dict[str, Callable[[str, str, dict[str, Any], str], FieldSpec]] = {
    "Text": _text,
    "TextArea": _text_area,
    "LongTextArea": _long_text,
    "Html": _long_text,
    "Email": _simple("email", 80),
    "Phone": _simple("phone", 40),
    "Url": _simple("url", 255),
    "Number": _number,
    "Currency": _number,
    "Percent": _number,
    "Date": _simple("date"),
    "DateTime": _simple("datetime"),
    "Checkbox": _checkbox,
    "Picklist": _picklist,
    "MultiselectPicklist": _picklist,
}
#: Every type the sandbox creates.
FIELD_TYPES = tuple(_BUILDERS)


def custom_field_spec(name: str, metadata: dict[str, Any]) -> FieldSpec:
    """Turn Tooling ``Metadata`` of a new field into its :class:`FieldSpec` (raises CustomFieldError)."""
    kind = metadata.get("type")
    build = _BUILDERS.get(kind) if isinstance(kind, str) else None
    if build is None:
        raise _refuse(
            f"Unsupported custom field type in this sandbox: {kind!r} (it creates {', '.join(FIELD_TYPES)})"
        )
    label = metadata.get("label") or name[:-3].replace("_", " ")
    spec = build(name, str(label), metadata, kind)
    external_id = _flag(metadata.get("externalId"))
    unique = _flag(metadata.get("unique"))
    if (external_id or unique) and spec.type not in _KEY_TYPES:
        raise _refuse(f"A field of type {kind} can't be an external ID or unique")
    required = _flag(metadata.get("required"))
    return replace(
        spec,
        custom=True,
        external_id=external_id,
        unique=unique,
        nillable=spec.nillable and not required,
    )


def metadata_type(spec: FieldSpec) -> str:
    """The Metadata ``type`` a field was created with."""
    if spec.type == "textarea":
        if spec.extra_type_info == "richtextarea":
            return "Html"
        return "LongTextArea" if spec.length > 255 else "TextArea"
    return _METADATA_TYPE_OF[spec.type]


_METADATA_TYPE_OF = {
    "string": "Text",
    "email": "Email",
    "phone": "Phone",
    "url": "Url",
    "double": "Number",
    "currency": "Currency",
    "percent": "Percent",
    "date": "Date",
    "datetime": "DateTime",
    "boolean": "Checkbox",
    "picklist": "Picklist",
    "multipicklist": "MultiselectPicklist",
}


def field_metadata(spec: FieldSpec) -> dict[str, Any]:
    """The ``Metadata`` of a custom field as the Tooling API answers it (the attributes of its type)."""
    kind = metadata_type(spec)
    metadata: dict[str, Any] = {
        "label": spec.label,
        "type": kind,
        "required": spec.required,
        "externalId": spec.external_id,
        "unique": spec.unique,
    }
    if spec.is_text and spec.type not in ("picklist", "multipicklist"):
        metadata["length"] = spec.length
    if spec.type in ("double", "currency", "percent"):
        metadata.update(precision=spec.precision, scale=spec.scale)
    if spec.visible_lines:
        metadata["visibleLines"] = spec.visible_lines
    if spec.type == "boolean":
        metadata["defaultValue"] = "true" if spec.default else "false"
    if spec.type in ("picklist", "multipicklist"):
        defaults = set((spec.default or "").split(";"))
        metadata["valueSet"] = {
            "restricted": spec.restricted_picklist,
            "valueSetDefinition": {
                "sorted": False,
                "value": [
                    {"fullName": value, "label": value, "default": value in defaults, "isActive": active}
                    for values, active in ((spec.picklist, True), (spec.inactive_picklist, False))
                    for value in values
                ],
            },
        }
    return metadata


_TUPLE_ATTRIBUTES = {f.name for f in dataclass_fields(FieldSpec) if str(f.type).startswith("tuple")}
_DEFAULTS = {f.name: f.default for f in dataclass_fields(FieldSpec)}


def field_spec_to_json(spec: FieldSpec) -> dict[str, Any]:
    """Persistable form of a custom field spec (the store keeps them in SQLite): what differs from
    the defaults, so specs stored by older sandboxes read back the same."""
    data = {"name": spec.name, "type": spec.type, "label": spec.label}
    for attribute, default in _DEFAULTS.items():
        value = getattr(spec, attribute)
        if attribute not in data and attribute != "custom" and value != default:
            data[attribute] = list(value) if attribute in _TUPLE_ATTRIBUTES else value
    return data


def field_spec_from_json(data: dict[str, Any]) -> FieldSpec:
    values = {key: tuple(value) if key in _TUPLE_ATTRIBUTES else value for key, value in data.items()}
    return FieldSpec(custom=True, **values)
