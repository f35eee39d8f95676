"""Custom fields the Tooling API creates: their metadata rules, and how the store persists them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sfcrm_sandbox.models.fields import FieldSpec

LONG_TEXT_MIN, LONG_TEXT_MAX = 256, 131072


class CustomFieldError(ValueError):
    """A Tooling ``CustomField`` create request that Salesforce would refuse."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


def custom_field_spec(name: str, metadata: dict[str, Any]) -> FieldSpec:
    """Turn Tooling ``Metadata`` of a new field into its :class:`FieldSpec` (raises CustomFieldError)."""
    kind = metadata.get("type")
    label = metadata.get("label") or name[:-3].replace("_", " ")
    external_id = bool(metadata.get("externalId"))
    unique = bool(metadata.get("unique"))
    length = metadata.get("length")
    if kind in ("Text", "LongTextArea", "Html") and not isinstance(length, int):
        raise CustomFieldError(
            "FIELD_INTEGRITY_EXCEPTION", f"Must specify 'length' for a CustomField of type {kind}"
        )
    if kind == "Text":
        if not 1 <= length <= 255:
            raise CustomFieldError("FIELD_INTEGRITY_EXCEPTION", "Length must be between 1 and 255")
        spec = FieldSpec(name, "string", label, length)
    elif kind == "TextArea":
        spec = FieldSpec(name, "textarea", label, 255, extra_type_info="plaintextarea")
    elif kind in ("LongTextArea", "Html"):
        if kind == "LongTextArea" and not isinstance(metadata.get("visibleLines"), int):
            raise CustomFieldError(
                "FIELD_INTEGRITY_EXCEPTION",
                "Must specify 'visibleLines' for a CustomField of type LongTextArea",
            )
        if not LONG_TEXT_MIN <= length <= LONG_TEXT_MAX:
            raise CustomFieldError(
                "FIELD_INTEGRITY_EXCEPTION", f"Length must be between {LONG_TEXT_MIN} and {LONG_TEXT_MAX}"
            )
        rich = kind == "Html"
        spec = FieldSpec(
            name,
            "textarea",
            label,
            length,
            extra_type_info="richtextarea" if rich else "plaintextarea",
            html=rich,
            filterable=False,
        )
    elif kind == "Email":
        spec = FieldSpec(name, "email", label, 80)
    else:
        raise CustomFieldError(
            "FIELD_INTEGRITY_EXCEPTION", f"Unsupported custom field type in this sandbox: {kind!r}"
        )
    if (external_id or unique) and spec.type not in ("string", "email"):
        raise CustomFieldError(
            "FIELD_INTEGRITY_EXCEPTION", f"A field of type {kind} can't be an external ID or unique"
        )
    return replace(spec, custom=True, external_id=external_id, unique=unique)


def field_spec_to_json(spec: FieldSpec) -> dict[str, Any]:
    """Persistable form of a custom field spec (the store keeps them in SQLite)."""
    return {
        "name": spec.name,
        "type": spec.type,
        "label": spec.label,
        "length": spec.length,
        "extra_type_info": spec.extra_type_info,
        "html": spec.html,
        "filterable": spec.filterable,
        "external_id": spec.external_id,
        "unique": spec.unique,
    }


def field_spec_from_json(data: dict[str, Any]) -> FieldSpec:
    return FieldSpec(custom=True, **data)
