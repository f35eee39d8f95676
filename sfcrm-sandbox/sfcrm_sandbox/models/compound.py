"""Compound fields: an address read as one value, built from the component fields the org stores.

Salesforce stores an address as its components (``MailingStreet``, ``MailingCity``, ...); the compound
field (``MailingAddress``, type ``address``) is a read-only view of them that SOQL can select (not
filter on), returned as a JSON object of the components (``docs/salesforce-facts.md``, "Objects").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sfcrm_sandbox.models.fields import FieldSpec

# Component suffix → key in the address object.
_ADDRESS_KEYS = {
    "Street": "street",
    "City": "city",
    "State": "state",
    "PostalCode": "postalCode",
    "Country": "country",
    "Latitude": "latitude",
    "Longitude": "longitude",
    "GeocodeAccuracy": "geocodeAccuracy",
}


def compound_fields(
    visible: Mapping[str, tuple[FieldSpec, bool]], selected: Iterable[str]
) -> dict[str, dict[str, str]]:
    """``{compound name: {component field: address key}}`` for the compound fields ``selected`` names."""
    wanted = {name.lower() for name in selected}
    found: dict[str, dict[str, str]] = {}
    for lower, (spec, _) in visible.items():
        if spec.type == "address" and lower in wanted:
            prefix = spec.name[: -len("Address")]
            found[spec.name] = {f"{prefix}{suffix}": key for suffix, key in _ADDRESS_KEYS.items()}
    return found


def with_compound_values(
    rows: Iterable[dict[str, Any]], compound: Mapping[str, Mapping[str, str]]
) -> Iterator[dict[str, Any]]:
    """``rows`` with each compound field set: an object of its components, or null when all are null."""
    for row in rows:
        for name, components in compound.items():
            value = {key: row.get(field) for field, key in components.items()}
            row[name] = value if any(v is not None for v in value.values()) else None
        yield row
