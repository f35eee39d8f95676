"""Custom objects the Tooling API creates (``CustomObject``): their metadata rules, key prefixes and
the name each new record gets.

``Metadata`` follows the Metadata API's ``CustomObject`` (``docs/salesforce-facts.md``, "Custom
objects"): ``label``, ``pluralLabel``, ``nameField`` (``Text``, or ``AutoNumber`` with a
``displayFormat``), ``sharingModel``, ``deploymentStatus``, ``description``. A custom object has the
standard fields every custom object has (Id, OwnerId, Name, IsDeleted, the audit fields), a key
prefix ``a00``, ``a01``, ... in creation order, and takes custom fields like the standard objects.
Nobody but the org's administrators sees it until an ``ObjectPermissions`` grant says so.
"""

from __future__ import annotations

import datetime as dt
import re
import string
from typing import Any

from sfcrm_sandbox.models.custom_fields import MetadataError
from sfcrm_sandbox.models.fields import FieldSpec, ObjectSpec
from sfcrm_sandbox.models.objects import custom_object_fields

_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
#: Sharing models a custom object without a master-detail relationship may have.
SHARING_MODELS = ("Private", "Read", "ReadWrite")
DEPLOYMENT_STATUSES = ("Deployed", "InDevelopment")
# An auto-number's display format: literal text around one {0…} counter, with optional date parts.
_COUNTER = re.compile(r"\{(0+)\}")
_DATE_PARTS = {"{YYYY}": "%Y", "{YY}": "%y", "{MM}": "%m", "{DD}": "%d"}
MAX_AUTO_NUMBER_LENGTH = 30


def custom_key_prefix(position: int, first: str = "a") -> str:
    """The key prefix of the org's ``position``-th custom object (0-based): ``a00``, ``a01``, …,
    ``a0z``, ``a10``, … (the sandbox's choice in the range real orgs give custom objects); with
    ``first="e"``, of its platform events."""
    high, low = divmod(position, 62)
    return first + _BASE62[high] + _BASE62[low]


def _required_text(metadata: dict[str, Any], key: str) -> str:
    value = metadata.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MetadataError("FIELD_INTEGRITY_EXCEPTION", f"Must specify '{key}' for a CustomObject")
    return value.strip()


def _name_field(metadata: dict[str, Any]) -> FieldSpec:
    name_field = metadata.get("nameField")
    if not isinstance(name_field, dict):
        raise MetadataError("FIELD_INTEGRITY_EXCEPTION", "Must specify 'nameField' for a CustomObject")
    label = _required_text(name_field, "label")
    kind = name_field.get("type")
    if kind == "Text":
        # A record inserted without a name is named after its Id (observed), so the field is
        # defaulted on create rather than required.
        return FieldSpec(
            "Name", "string", label, 80, nillable=False, defaulted_on_create=True, name_field=True
        )
    if kind == "AutoNumber":
        display_format = name_field.get("displayFormat")
        if not isinstance(display_format, str) or not _COUNTER.search(display_format):
            raise MetadataError(
                "FIELD_INTEGRITY_EXCEPTION",
                "An AutoNumber name field needs a 'displayFormat' with a counter such as {0000}",
            )
        return FieldSpec(
            "Name",
            "string",
            label,
            MAX_AUTO_NUMBER_LENGTH,
            nillable=False,
            createable=False,
            updateable=False,
            defaulted_on_create=True,
            name_field=True,
            auto_number=True,
            display_format=display_format,
        )
    raise MetadataError(
        "FIELD_INTEGRITY_EXCEPTION", f"The nameField type must be Text or AutoNumber, not {kind!r}"
    )


def custom_object_spec(name: str, metadata: dict[str, Any], prefix: str) -> ObjectSpec:
    """The :class:`ObjectSpec` of custom object ``name`` (``Thing__c``) from its Tooling ``Metadata``;
    raises :class:`MetadataError` for what Salesforce refuses."""
    label = _required_text(metadata, "label")
    plural = _required_text(metadata, "pluralLabel")
    sharing = metadata.get("sharingModel")
    if sharing not in SHARING_MODELS:
        raise MetadataError(
            "FIELD_INTEGRITY_EXCEPTION",
            f"sharingModel must be one of {', '.join(SHARING_MODELS)} for a CustomObject "
            f"without a master-detail relationship, not {sharing!r}",
        )
    deployment = metadata.get("deploymentStatus", "Deployed")
    if deployment not in DEPLOYMENT_STATUSES:
        raise MetadataError(
            "FIELD_INTEGRITY_EXCEPTION",
            f"deploymentStatus must be one of {', '.join(DEPLOYMENT_STATUSES)}, not {deployment!r}",
        )
    return ObjectSpec(
        name,
        label,
        plural,
        custom_object_fields(_name_field(metadata)),
        prefix=prefix,
        custom=True,
    )


def auto_number(display_format: str, number: int, today: dt.date | None = None) -> str:
    """The name an auto-number gives its ``number``-th record: ``T-{0000}`` → ``T-0042``."""
    day = today or dt.datetime.now(dt.timezone.utc).date()
    text = display_format
    for part, code in _DATE_PARTS.items():
        text = text.replace(part, day.strftime(code))
    return _COUNTER.sub(lambda match: str(number).zfill(len(match.group(1))), text, count=1)
