"""Which columns an extract reads, and their Arrow types, from the object's describe.

By default every field the running user can read, with compound fields (addresses, geolocations)
flattened: the compound field is left out and its components, which describe lists as fields of their
own, are read instead. A requested compound field is replaced by its components the same way. ``Id``,
``SystemModstamp`` and ``IsDeleted`` are always read: the extract's incremental semantics rest on them.

Types follow describe: text-like fields (strings, picklists, references, e-mails, ...) are strings,
``boolean`` is bool, ``int`` / ``long`` are int64, ``double`` / ``percent`` float64, ``currency`` a
decimal of the field's precision and scale, ``date`` date32, ``datetime`` a UTC timestamp (ms) and
``time`` time32 (ms). ``base64`` fields (file bodies) are not read unless asked for: Bulk queries
cannot read them and they would swamp a table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from airflow_provider_sfcrm.activation.names import validate_api_name
from airflow_provider_sfcrm.activation.values import TEXT_TYPES

#: Always read: the record's identity, the stamp that places it in an interval, and its deletion.
REQUIRED_COLUMNS = ("Id", "SystemModstamp", "IsDeleted")
COMPOUND_TYPES = frozenset({"address", "location"})
# Read as strings: text (as the activation knows it), Ids and lookups, and values with no Arrow type
# of their own (anyType, JSON, base64 bodies).
_TEXT_TYPES = TEXT_TYPES | {"id", "reference", "anyType", "complexvalue", "json", "base64"}
_MAX_DECIMAL_PRECISION = 38


@dataclass(frozen=True)
class Column:
    """One field as the extract reads and writes it.

    :param name: the field's API name (also the Parquet column name).
    :param sf_type: describe ``type``.
    :param arrow_type: the Parquet column's type.
    """

    name: str
    sf_type: str
    arrow_type: pa.DataType

    def arrow_field(self) -> pa.Field:
        # Keep Salesforce's type on the column: picklists and e-mails are plain strings otherwise.
        return pa.field(self.name, self.arrow_type, nullable=True, metadata={"salesforce_type": self.sf_type})


class ColumnError(ValueError):
    """A requested column the object does not have, or cannot be read."""


def arrow_type(field: Mapping[str, Any]) -> pa.DataType:
    """The Arrow type of one describe field entry."""
    kind = field.get("type")
    if kind == "boolean":
        return pa.bool_()
    if kind in ("int", "long"):
        return pa.int64()
    if kind in ("double", "percent"):
        return pa.float64()
    if kind == "currency":
        precision, scale = int(field.get("precision") or 0), int(field.get("scale") or 0)
        if 0 < precision <= _MAX_DECIMAL_PRECISION and 0 <= scale <= precision:
            return pa.decimal128(precision, scale)
        return pa.float64()
    if kind == "date":
        return pa.date32()
    if kind == "datetime":
        return pa.timestamp("ms", tz="UTC")
    if kind == "time":
        return pa.time32("ms")
    if kind in _TEXT_TYPES:
        return pa.string()
    raise ColumnError(f"field {field.get('name')!r} has a type the extract does not know: {kind!r}")


def select_columns(describe: Mapping[str, Any], requested: Sequence[str] | None = None) -> list[Column]:
    """The columns to read from an object, in order, from its describe.

    :param requested: field names (any case) or compound field names; None for every readable field.
    :raises ColumnError: naming the fields the object does not have (or the user cannot see).
    """
    fields = list(describe.get("fields") or ())
    by_lower = {str(f["name"]).lower(): f for f in fields}
    sobject = describe.get("name", "the object")
    missing_required = [name for name in REQUIRED_COLUMNS if name.lower() not in by_lower]
    if missing_required:
        raise ColumnError(
            f"{sobject} has no {', '.join(missing_required)} visible to this user: an incremental "
            "extract needs Id, SystemModstamp and IsDeleted"
        )
    components: dict[str, list[str]] = {}
    for f in fields:
        if f.get("compoundFieldName"):
            components.setdefault(str(f["compoundFieldName"]).lower(), []).append(str(f["name"]))

    if requested is None:
        names = [
            str(f["name"])
            for f in fields
            if f.get("type") not in COMPOUND_TYPES and f.get("type") != "base64"
        ]
    else:
        names = []
        unknown = []
        for raw in requested:
            name = validate_api_name(str(raw).strip(), "column name")
            found = by_lower.get(name.lower())
            if found is None:
                unknown.append(name)
            elif found.get("type") in COMPOUND_TYPES:
                names.extend(components.get(name.lower(), []))
            else:
                names.append(str(found["name"]))
        if unknown:
            raise ColumnError(
                f"{sobject} has no field(s) {', '.join(unknown)} visible to this user "
                "(check the name, and its field-level security)"
            )
        names = ["Id", *names, *(n for n in REQUIRED_COLUMNS if n != "Id")]
    ordered = list(dict.fromkeys(names))  # first occurrence wins; duplicates are read once
    return [
        Column(name, str(by_lower[name.lower()]["type"]), arrow_type(by_lower[name.lower()]))
        for name in ordered
    ]


def arrow_schema(columns: Sequence[Column], metadata: Mapping[str, str] | None = None) -> pa.Schema:
    """The Parquet schema of an extract's file set."""
    return pa.schema([c.arrow_field() for c in columns], metadata=dict(metadata or {}))
