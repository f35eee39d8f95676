"""References by external id: a mapping target ``Account.Ext_Id__c`` sets a record's parent.

Salesforce lets a record set a lookup through the parent's external id in the same request:
``{"LastName": "Doe", "Account": {"Ext_Id__c": "A-1"}}`` on a Contact sets ``AccountId`` to the
Account whose ``Ext_Id__c`` is ``A-1`` — on insert, update and upsert alike. The key is the
lookup's *relationship name* (describe's ``relationshipName``: ``AccountId`` → ``Account``, a
custom ``Parent__c`` → ``Parent__r``), and the parent's field must identify it: an External ID, or
an ``idLookup`` field such as a Contact's ``Email``.

Here such targets are recognised, checked against the child's and the parent's describe before
any row is read, and their values checked per row. A parent that does not exist can only be found
out by Salesforce (``INVALID_FIELD`` "Foreign key external ID: … not found …"); a key longer than
the parent's field can never exist, so such a row is refused here with that same answer. Pure: no
Airflow, no HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa

from airflow_provider_sfcrm.activation.names import validate_api_name
from airflow_provider_sfcrm.activation.typed_values import FieldType
from airflow_provider_sfcrm.activation.values import TEXT_TYPES, ValueCheck

#: Salesforce's code when a reference names no parent (also its answer for a key too long to exist).
INVALID_FIELD = "INVALID_FIELD"

_SEPARATOR = "."


def is_reference(target: str) -> bool:
    """Whether a mapping target is ``Relationship.Field`` (a parent by its external id)."""
    return _SEPARATOR in target


def split_reference(target: str) -> tuple[str, str]:
    """``"Account.Ext_Id__c"`` → ``("Account", "Ext_Id__c")``."""
    relationship, _, key_field = target.partition(_SEPARATOR)
    return relationship, key_field


def validate_reference(target: str, what: str) -> None:
    """Refuse a reference target that is not ``Relationship.Field`` of two safe API names.

    :raises ValueError: naming it.
    """
    parts = target.split(_SEPARATOR)
    try:
        for part in parts:
            validate_api_name(part, what)
    except ValueError:
        parts = []
    if len(parts) != 2:
        raise ValueError(
            f"invalid {what} {target!r}: a parent's external id is named Relationship.Field, two "
            "names of letters, digits and underscores (one level, e.g. Account.Ext_Id__c)"
        )


def _lookups(describe: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """``{relationship name in lower case: lookup field}`` of an object's describe."""
    return {
        str(f["relationshipName"]).lower(): f
        for f in describe.get("fields") or ()
        if f.get("relationshipName") and f.get("referenceTo")
    }


def parent_objects(targets: Iterable[str], describe: Mapping[str, Any]) -> list[str]:
    """The parent objects the reference targets among ``targets`` point to (to describe them);
    targets naming no single-object lookup are left to :func:`check_references` to report."""
    lookups = _lookups(describe)
    parents: list[str] = []
    for target in targets:
        if not is_reference(target):
            continue
        lookup = lookups.get(split_reference(target)[0].lower())
        if lookup is not None and len(lookup["referenceTo"]) == 1 and lookup["referenceTo"][0] not in parents:
            parents.append(str(lookup["referenceTo"][0]))
    return parents


def check_reference(
    target: str,
    describe: Mapping[str, Any],
    parents: Mapping[str, Mapping[str, Any]],
    needs: tuple[str, ...],
) -> tuple[str, Mapping[str, Any] | None, FieldType | None, list[str]]:
    """Check one reference target against the child's ``describe`` and its parent's.

    :param parents: ``{object: describe}`` of the parents (:func:`parent_objects`).
    :param needs: the flags the lookup field must have for the operation (``createable``, ...).
    :return: the target in the org's spelling, the lookup field's describe, the parent key's
        :class:`FieldType` (its ``sobject`` the parent object), and the problems found.
    """
    sobject = str(describe.get("name") or "the object")
    relationship, key_field = split_reference(target)
    lookup = _lookups(describe).get(relationship.lower())
    if lookup is None:
        return (
            target,
            None,
            None,
            [
                f"{sobject} has no lookup whose relationship name is {relationship!r} (mapping target "
                f"{target!r}; a parent is named by the lookup's relationship name, e.g. Account for "
                "AccountId, Parent__r for Parent__c), or the connection's user cannot see it"
            ],
        )
    problems = []
    name = str(lookup["name"])
    missing = [flag for flag in needs if not lookup.get(flag)]
    if missing:
        problems.append(f"{sobject}.{name} is not {' and '.join(missing)} for the connection's user")
    targets = list(lookup["referenceTo"])
    if len(targets) != 1:
        problems.append(
            f"{sobject}.{name} may point to {' or '.join(targets)}: a reference by external id needs a "
            "lookup to one object"
        )
        return target, lookup, None, problems
    parent = targets[0]
    described = parents.get(parent)
    fields = {str(f.get("name", "")).lower(): f for f in (described or {}).get("fields") or ()}
    key = fields.get(key_field.lower())
    if key is None:
        problems.append(f"{parent}.{key_field} does not exist or is not visible to the connection's user")
        return target, lookup, None, problems
    if str(key.get("name")) == "Id" or not (key.get("externalId") or key.get("idLookup")):
        problems.append(
            f"{parent}.{key['name']} is not an External ID field: a parent is found by an External ID "
            "(or an idLookup field such as Email)"
        )
    canonical = f"{lookup['relationshipName']}{_SEPARATOR}{key['name']}"
    return canonical, lookup, replace(FieldType.from_describe(key), sobject=parent), problems


def reference_lookups(mapping: Any, describe: Mapping[str, Any]) -> dict[str, str]:
    """``{column: lookup field name}`` of the mapping's reference columns (``AccountId`` for a
    column mapped to ``Account.Ext_Id__c``)."""
    lookups = _lookups(describe)
    found = {}
    for column, target in mapping.attributes.items():
        if is_reference(target):
            lookup = lookups.get(split_reference(target)[0].lower())
            if lookup is not None:
                found[column] = str(lookup["name"])
    return found


def reference_checks(values: pa.Array | pa.ChunkedArray, target: str, key: FieldType) -> list[ValueCheck]:
    """Refuse, as Salesforce would answer them, keys that no parent can have: text longer than the
    parent's key field."""
    if key.type not in TEXT_TYPES or not key.length:
        return []
    # Imported here: row validation builds on this module.
    from airflow_provider_sfcrm.activation.row_validation import as_text, salesforce_lengths

    too_long = np.asarray(salesforce_lengths(as_text(values)) > key.length)

    def message(value: Any) -> str:
        return f"Foreign key external ID: {value} not found for field {key.name} in entity {key.sobject}"

    return [ValueCheck(too_long, INVALID_FIELD, message)]
