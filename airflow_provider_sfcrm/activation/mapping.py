"""How segment columns become Salesforce fields: identity, attributes and audience statuses.

A segment row carries an identity column, attribute columns and, optionally, one status column
per audience. :class:`ExportMapping` says which column goes to which field of which object (any
object the connection's user can write); :func:`check_mapping_against_describe` refuses, before
any write, a mapping the object cannot take (unknown or read-only fields, missing required fields
on create, a parent reference that names no external id) and records each field's type;
:func:`build_records` turns rows into one record per row, each value typed as its field takes it
(:mod:`.typed_values`) and parents set by their external id (:mod:`.references`). Pure: no
Airflow, no HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_sfcrm.activation.field_check import field_api_name
from airflow_provider_sfcrm.activation.json_values import json_value
from airflow_provider_sfcrm.activation.names import validate_api_name
from airflow_provider_sfcrm.activation.references import (
    check_reference,
    is_reference,
    split_reference,
    validate_reference,
)
from airflow_provider_sfcrm.activation.typed_values import FieldType, sendable
from airflow_provider_sfcrm.activation.values import column_type_problems, text_column_problem

#: Audience membership statuses of the reference product.
STATUSES: tuple[str, ...] = ("realized", "existing", "exited")

#: The operations, and the ``external_id_field`` the hook's ``upsert_records`` takes for each.
OPERATIONS: tuple[str, ...] = ("update", "upsert", "insert", "publish")
#: The operations that create every row they write (``publish``: a Platform Event, ``…__e``).
CREATING: tuple[str, ...] = ("insert", "publish")

#: Several audiences may share one field; their statuses are joined with this separator.
SHARED_FIELD_SEPARATOR = ";"


class MappingError(ValueError):
    """The mapping cannot work as configured (raised before any row is read or written)."""


@dataclass(frozen=True)
class ExportMapping:
    """Which segment column goes to which Salesforce field.

    :param sobject: target object (any object the user can write: ``Contact``, ``Account``, ``Thing__c``...).
    :param operation: ``update`` (by Salesforce Id), ``upsert`` (on ``external_id_field``), ``insert``
        or ``publish`` (a Platform Event: created like a record, never updated or deduplicated).
    :param identity_column: the column holding the person's identity (None for ``insert``).
    :param identity_field: ``Id`` for update, the external-id field for upsert, None for insert.
    :param attributes: ``{column: field}`` for every mapped column except the identity; a field
        may be a parent's external id, ``Relationship.Field`` (``Account.Ext_Id__c``).
    :param audiences: ``{status column: field API name}`` (``crm_1_seg`` → ``crm_1_seg__c``).
    :param status_values: translation of ``realized``/``existing``/``exited`` into what is written.
    :param field_types: ``{attribute field: FieldType}`` from the describe (filled by
        :func:`check_mapping_against_describe`); values are sent typed as their field takes them.
    """

    sobject: str
    operation: str
    identity_column: str | None
    identity_field: str | None
    attributes: dict[str, str] = field(default_factory=dict)
    audiences: dict[str, str] = field(default_factory=dict)
    status_values: dict[str, str] = field(default_factory=dict)
    field_types: dict[str, FieldType] = field(default_factory=dict, compare=False)

    @property
    def write_key(self) -> str | None:
        """The ``external_id_field`` argument of ``upsert_records`` for this operation."""
        return None if self.operation in CREATING else self.identity_field

    @property
    def may_create(self) -> bool:
        """Whether a row may create a record (so required-on-create fields must be present)."""
        return self.operation in ("insert", "upsert", "publish")

    @property
    def columns(self) -> list[str]:
        """Every input column the export reads, identity first, without repeats."""
        cols = [self.identity_column] if self.identity_column else []
        for col in [*self.attributes, *self.audiences]:
            if col not in cols:
                cols.append(col)
        return cols


def build_mapping(
    *,
    sobject: str,
    operation: str,
    field_mapping: Mapping[str, str],
    audiences: Mapping[str, str] | None = None,
    status_values: Mapping[str, str] | None = None,
    external_id_field: str | None = None,
) -> ExportMapping:
    """Check the arguments against each other and build an :class:`ExportMapping`.

    The identity column is the one ``field_mapping`` maps to ``Id`` (update) or to
    ``external_id_field`` (upsert, and insert when it names one: the field that tells people apart,
    such as an external id or ``Email``, which a sync state needs); otherwise insert has none.

    :raises MappingError: naming the argument that is wrong.
    """
    try:
        validate_api_name(sobject, "object name")
        for column, target in field_mapping.items():
            what = f"field name (mapped from column {column!r})"
            (validate_reference if is_reference(target) else validate_api_name)(target, what)
        if external_id_field is not None:
            validate_api_name(external_id_field, "external-id field name")
        audience_fields = {column: field_api_name(mid) for column, mid in (audiences or {}).items()}
    except ValueError as exc:
        raise MappingError(str(exc)) from exc
    if operation not in OPERATIONS:
        raise MappingError(f"operation must be one of {', '.join(OPERATIONS)}, not {operation!r}")
    if not field_mapping and not audience_fields:
        raise MappingError("nothing to write: field_mapping and audiences are both empty")
    translation = dict(status_values or {})
    unknown = sorted(set(translation) - set(STATUSES))
    if unknown:
        raise MappingError(f"status_values keys must be among {', '.join(STATUSES)}; unknown: {unknown}")
    overlap = sorted(set(field_mapping) & set(audience_fields))
    if overlap:
        raise MappingError(f"columns {overlap} are both in field_mapping and audiences")

    key = {"update": "Id", "upsert": external_id_field, "insert": external_id_field, "publish": None}[
        operation
    ]
    if operation == "publish" and external_id_field:
        raise MappingError('operation="publish" takes no external_id_field: events have no identity')
    if operation == "upsert" and not external_id_field:
        raise MappingError('operation="upsert" needs external_id_field')
    if operation == "update" and external_id_field:
        raise MappingError('external_id_field is not used with operation="update" (the identity is the Id)')
    identity_column = None
    attributes = dict(field_mapping)
    if key is not None:
        identity_columns = [col for col, target in field_mapping.items() if target.lower() == key.lower()]
        if len(identity_columns) != 1:
            raise MappingError(
                f"operation={operation!r} needs exactly one column mapped to {key!r} in field_mapping "
                f"(the identity); found {len(identity_columns)}"
            )
        identity_column = identity_columns[0]
        del attributes[identity_column]
    elif any(target.lower() == "id" for target in field_mapping.values()):
        raise MappingError(f'operation={operation!r} creates records: no column may be mapped to "Id"')
    clashes = sorted(
        {t for t in attributes.values() if t.lower() in {f.lower() for f in audience_fields.values()}}
    )
    if clashes:
        raise MappingError(f"fields {clashes} are written both from field_mapping and from audiences")
    return ExportMapping(
        sobject=sobject,
        operation=operation,
        identity_column=identity_column,
        identity_field=key,
        attributes=attributes,
        audiences=audience_fields,
        status_values=translation,
    )


def required_on_create(describe: Mapping[str, Any]) -> list[str]:
    """Fields a create must carry: not nillable, createable, and not defaulted by Salesforce."""
    return [
        str(f["name"])
        for f in describe.get("fields") or ()
        if f.get("nillable") is False and f.get("createable") and not f.get("defaultedOnCreate")
    ]


def check_mapping_against_describe(
    mapping: ExportMapping,
    describe: Mapping[str, Any],
    parents: Mapping[str, Mapping[str, Any]] | None = None,
) -> ExportMapping:
    """Refuse a mapping the object cannot take; return it with the org's spelling of each field.

    Unknown fields (or fields hidden by field-level security), fields the user cannot write for
    this operation, an object the user cannot create or update records of, an identity field that
    is not an external id, a reference that names no lookup or no external id of its parent, a
    lookup set twice, and — when rows may create records — required fields left unmapped are
    configuration errors: every row would fail.

    :param parents: ``{object: describe}`` of the parents that reference targets
        (``Account.Ext_Id__c``) point to (see :func:`~.references.parent_objects`).
    :raises MappingError: listing every problem.
    """
    by_name = {str(f.get("name", "")).lower(): f for f in describe.get("fields") or ()}
    needs = _NEEDS[mapping.operation]
    problems: list[str] = [
        f"the connection's user cannot {verb} {mapping.sobject} records (object permissions)"
        for flag, verb in (("createable", "create"), ("updateable", "update"))
        if flag in needs and describe.get(flag) is False
    ]
    field_types: dict[str, FieldType] = {}
    lookups: dict[str, str] = {}  # lookup field (lower case) → the target that sets it

    def canonical(name: str, *, is_key: bool = False) -> str:
        described = by_name.get(name.lower())
        if described is None:
            problems.append(
                f"{mapping.sobject}.{name} does not exist or is not visible to the connection's user"
            )
            return name
        if is_key and name.lower() != "id" and not (described.get("externalId") or described.get("idLookup")):
            problems.append(f"{mapping.sobject}.{described['name']} is not an External ID field")
        if not is_key or name.lower() != "id":
            missing = [flag for flag in needs if not described.get(flag)]
            if missing:
                where = f"{mapping.sobject}.{described['name']}"
                problems.append(f"{where} is not {' and '.join(missing)} for the connection's user")
        field_types[str(described["name"])] = FieldType.from_describe(described)
        return str(described["name"])

    def reference(target: str) -> str:
        spelled, lookup, key, found = check_reference(target, describe, parents or {}, needs)
        problems.extend(found)
        if lookup is not None:
            earlier = lookups.setdefault(str(lookup["name"]).lower(), spelled)
            if earlier != spelled:
                problems.append(
                    f"{mapping.sobject}.{lookup['name']} is set twice: by {earlier} and by {spelled}"
                )
        if key is not None:
            field_types[spelled] = key
        return spelled

    identity_field = canonical(mapping.identity_field, is_key=True) if mapping.identity_field else None
    attributes = {
        col: reference(name) if is_reference(name) else canonical(name)
        for col, name in mapping.attributes.items()
    }
    audiences = {col: canonical(name) for col, name in mapping.audiences.items()}
    plain = {name.lower() for name in attributes.values() if not is_reference(name)}
    problems += [
        f"{mapping.sobject}.{by_name[lookup]['name']} is mapped both directly and through {target}"
        for lookup, target in lookups.items()
        if lookup in plain
    ]
    if mapping.may_create:
        written = {f.lower() for f in [identity_field or "", *attributes.values(), *lookups]}
        unmapped = [name for name in required_on_create(describe) if name.lower() not in written]
        if unmapped:
            problems.append(
                f"{mapping.operation} may create {mapping.sobject} records, which require {unmapped}: "
                "map a column to each"
            )
    if problems:
        raise MappingError("; ".join(problems))
    return ExportMapping(
        sobject=mapping.sobject,
        operation=mapping.operation,
        identity_column=mapping.identity_column,
        identity_field=identity_field,
        attributes=attributes,
        audiences=audiences,
        status_values=mapping.status_values,
        field_types={name: kind for name, kind in field_types.items() if name in attributes.values()},
    )


#: The field flags each operation needs.
_NEEDS = {
    "update": ("updateable",),
    "insert": ("createable",),
    "upsert": ("createable", "updateable"),
    "publish": ("createable",),
}


def membership_columns(mapping: ExportMapping, schema: pa.Schema) -> list[str]:
    """The status columns of boolean type: current membership (true = member), not given statuses."""
    return [column for column in mapping.audiences if pa.types.is_boolean(schema.field(column).type)]


def check_columns(
    mapping: ExportMapping, schema: pa.Schema, describe: Mapping[str, Any], *, memberships: bool = False
) -> None:
    """Refuse a segment whose columns are missing, or of a type their fields can never take.

    ``mapping`` should come from :func:`check_mapping_against_describe` (the org's spelling).
    ``memberships``: whether boolean status columns (current membership) may be given; they need a
    sync state (what a person was before tells ``realized`` from ``existing`` and ``exited``), and
    each needs a field of its own.

    :raises MappingError: listing every problem.
    """
    missing = [column for column in mapping.columns if column not in schema.names]
    if missing:
        raise MappingError(f"the segment has no column(s) {missing}; it has {schema.names}")
    types = {
        str(f.get("name", "")).lower(): str(f.get("type") or "").lower() for f in describe.get("fields") or ()
    }
    types.update({name.lower(): kind.type for name, kind in mapping.field_types.items()})
    problems = []
    if mapping.identity_column:
        problems.append(
            text_column_problem(
                mapping.identity_column, schema.field(mapping.identity_column).type, "identity"
            )
        )
    members = membership_columns(mapping, schema)
    if members and not memberships:
        problems.append(
            f"status columns {members} are boolean (current membership): deriving realized, existing "
            "and exited from membership needs a sync state (sync_state=<an SQL connection id>)"
        )
    fields = audience_fields(mapping)
    for column in members:
        shared = fields[mapping.audiences[column]]
        if len(shared) > 1:
            problems.append(
                f"membership column {column!r} shares field {mapping.audiences[column]} with {shared}: "
                "give each membership its own Mapping ID field"
            )
    problems += [
        text_column_problem(column, schema.field(column).type, "status")
        for column in mapping.audiences
        if column not in members
    ]
    for column, name in mapping.attributes.items():
        key = mapping.field_types.get(name)  # a parent's key names its own object
        where = f"{key.sobject}.{key.name}" if key and key.sobject else f"{mapping.sobject}.{name}"
        problems.append(
            column_type_problems(column, schema.field(column).type, where, types.get(name.lower(), ""))
        )
    found = [problem for problem in problems if problem]
    if found:
        raise MappingError("; ".join(found))


def _blank_to_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, values.type), values)


def _json_ready(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column whose Python values go straight into JSON; None where the field is left as is."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    kind = values.type
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind) or pa.types.is_dictionary(kind):
        values, kind = values.cast(pa.string()), pa.string()
    if pa.types.is_string(kind):
        # An empty string would blank the field; the reference product leaves it untouched instead.
        return _blank_to_null(values)
    if pa.types.is_decimal(kind):
        values, kind = values.cast(pa.float64()), pa.float64()
    if pa.types.is_floating(kind):
        # NaN is how pandas writes a missing number: leave the field as it is, like a null.
        return pc.if_else(pc.is_nan(values), pa.scalar(None, kind), values)
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_null(kind):
        return values
    # Dates, times: their ISO form. Row validation has already refused what JSON cannot carry.
    return pa.array([json_value(v) for v in values.to_pylist()], pa.string())


def _statuses(values: pa.Array | pa.ChunkedArray, translation: Mapping[str, str]) -> pa.Array:
    """Trimmed, lower-cased, translated statuses; null where empty (the field is left as is)."""
    text = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not pa.types.is_string(text.type):
        text = pc.cast(text, pa.string())
    text = _blank_to_null(pc.utf8_lower(pc.utf8_trim_whitespace(text)))
    return translate_statuses(text, translation)


def translate_statuses(text: pa.Array, translation: Mapping[str, str]) -> pa.Array:
    """Statuses (``realized`` ...) as they are written: through ``translation``, part by part when
    several audiences share a field (``realized;exited``)."""
    if not translation:
        return text
    if pc.any(pc.fill_null(pc.match_substring(text, SHARED_FIELD_SEPARATOR), False)).as_py():
        parts = (v.split(SHARED_FIELD_SEPARATOR) if v is not None else None for v in text.to_pylist())
        return pa.array(
            [SHARED_FIELD_SEPARATOR.join(translation.get(p, p) for p in v) if v else None for v in parts],
            pa.string(),
        )
    for status, written in translation.items():
        text = pc.if_else(pc.equal(text, status), pa.scalar(written), text)
    return text


def audience_fields(mapping: ExportMapping) -> dict[str, list[str]]:
    """``{field: [status columns]}``: several audiences may share one field, in audience order."""
    shared: dict[str, list[str]] = {}
    for column, target in mapping.audiences.items():
        shared.setdefault(target, []).append(column)
    return shared


def field_statuses(table: pa.Table, mapping: ExportMapping, *, translate: bool = True) -> dict[str, pa.Array]:
    """``{field: statuses}`` of the status columns of ``table``; null where no status is given.

    Audiences sharing one field have their statuses joined with ``;`` in audience order.
    """
    translation = mapping.status_values if translate else {}
    columns: dict[str, pa.Array] = {}
    for target, status_columns in audience_fields(mapping).items():
        statuses = [_statuses(table.column(col), translation) for col in status_columns]
        if len(statuses) > 1:  # rare: joined in Python (pyarrow's element-wise join mislays all-null rows)
            values = zip(*(s.to_pylist() for s in statuses), strict=True)
            joined = [SHARED_FIELD_SEPARATOR.join(v for v in row if v is not None) or None for row in values]
            columns[target] = pa.array(joined, pa.string())
        else:
            columns[target] = statuses[0]
    return columns


def outgoing_text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each value as the text of what is sent (null where the field is left as is): what the sync
    state keeps a digest of, so that a value is compared with what was last written."""
    ready = _json_ready(values)
    return ready if pa.types.is_string(ready.type) else pc.cast(ready, pa.string())


def build_records(table: pa.Table, mapping: ExportMapping) -> list[dict[str, Any]]:
    """One record per row of ``table``: identity, non-null attributes and non-empty statuses.

    Null attributes and empty statuses are left out, so Salesforce keeps what it has. Values are
    typed from ``mapping.field_types``; a ``Relationship.Field`` target becomes ``{Relationship:
    {Field: value}}``. Audiences
    sharing one field have their (translated) statuses joined with ``;`` in audience order. The
    columns are prepared with pyarrow; Python only assembles the dicts.
    """
    plain = dict(mapping.attributes)
    if mapping.identity_column:
        plain = {mapping.identity_column: mapping.identity_field, **plain}
    columns: dict[str, pa.Array] = {
        target: _typed(table.column(col), mapping.field_types.get(target)) for col, target in plain.items()
    }
    columns.update(field_statuses(table, mapping))
    # Filled column by column: no row dicts with nulls are built only to be filtered again.
    records: list[dict[str, Any]] = [{} for _ in range(table.num_rows)]
    for target, values in columns.items():
        if is_reference(target):  # {"Account": {"Ext_Id__c": value}}
            relationship, key_field = split_reference(target)
            for record, value in zip(records, values.to_pylist(), strict=True):
                if value is not None:
                    record[relationship] = {key_field: value}
            continue
        for record, value in zip(records, values.to_pylist(), strict=True):
            if value is not None:
                record[target] = value
    return records


def _typed(values: pa.Array | pa.ChunkedArray, field_type: FieldType | None) -> pa.Array:
    """The column as sent: typed as its field takes it, else as it comes (:func:`_json_ready`)."""
    typed = sendable(values, field_type) if field_type is not None else None
    return _json_ready(values) if typed is None else typed


def mapping_summary(mapping: ExportMapping) -> dict[str, Sequence[str] | str | None]:
    """Names only (no data) for logging what will be written."""
    return {
        "identity": mapping.identity_field,
        "fields": list(mapping.attributes.values()),
        "audience_fields": sorted(set(mapping.audiences.values())),
    }
