"""Per-row checks made before any API call, from the object's describe.

Each rule gives a row the Salesforce status code it would have earned (``MALFORMED_ID``,
``REQUIRED_FIELD_MISSING``, ``STRING_TOO_LONG``, ``INVALID_EMAIL_ADDRESS``,
``INVALID_TYPE_ON_FIELD_IN_RECORD``) or one of ours (``MISSING_IDENTITY``, ``INVALID_STATUS``,
``NON_FINITE_NUMBER``), with a message shaped like Salesforce's. The values Salesforce's own rules
judge (required, length, e-mail) are judged as Salesforce will store them: trimmed, and with lengths
in UTF-16 code units. Checks run column-wise on a pyarrow chunk; Python only touches the rows that
fail. Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_sfcrm.activation.ids import KEY_PREFIXES
from airflow_provider_sfcrm.activation.mapping import STATUSES, ExportMapping, required_on_create
from airflow_provider_sfcrm.activation.references import is_reference, reference_checks, reference_lookups
from airflow_provider_sfcrm.activation.results import RecordError
from airflow_provider_sfcrm.activation.typed_values import (
    FieldType,
    choice_checks,
    multi_select_text,
    range_checks,
)
from airflow_provider_sfcrm.activation.values import TEXT_TYPES, ValueCheck, value_checks

MISSING_IDENTITY = "MISSING_IDENTITY"
MALFORMED_ID = "MALFORMED_ID"
REQUIRED_FIELD_MISSING = "REQUIRED_FIELD_MISSING"
STRING_TOO_LONG = "STRING_TOO_LONG"
INVALID_EMAIL_ADDRESS = "INVALID_EMAIL_ADDRESS"
INVALID_STATUS = "INVALID_STATUS"
DUPLICATE_IN_SEGMENT = "DUPLICATE_IN_SEGMENT"

# local@domain.tld, with the characters RFC 5322 allows unquoted in the local part (RE2 syntax).
# Salesforce lets dots repeat and end the local part, but not begin it.
_EMAIL = (
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-][A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]*"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
# Salesforce stores text without what Java's String.trim removes: every code point up to U+0020.
_TRIMMED = "".join(chr(code) for code in range(0x21))
# Characters beyond the Basic Multilingual Plane: two UTF-16 code units each in Salesforce's lengths.
_ASTRAL = r"[\x{10000}-\x{10FFFF}]"
_CHECKSUM_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", dtype=np.uint8)
_CHUNK_WEIGHTS = 1 << (np.arange(15) % 5)
# Salesforce echoes the value in its messages; a huge value is cut so the rejected file stays readable.
_MAX_ECHO = 255


def _echo(value: object) -> str:
    text = str(value)
    return text if len(text) <= _MAX_ECHO else text[:_MAX_ECHO] + "..."


def as_text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The values as one string array (nulls stay null)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not pa.types.is_string(values.type):
        if pa.types.is_large_string(values.type) or pa.types.is_string_view(values.type):
            return values.cast(pa.string())
        values = pc.cast(values, pa.string())
    return values


def salesforce_text(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The values as Salesforce will keep them: trimmed at both ends (nulls stay null)."""
    return pc.utf8_trim(as_text(values), characters=_TRIMMED)


def _empty(text: pa.Array) -> np.ndarray:
    """True where the (trimmed) value is null or empty: Salesforce keeps no value there."""
    return pc.fill_null(pc.equal(text, ""), True).to_numpy(zero_copy_only=False)


def salesforce_lengths(text: pa.Array) -> np.ndarray:
    """Lengths as Salesforce counts them, in UTF-16 code units (a character beyond U+FFFF counts
    twice); nulls count 0."""
    code_points = pc.fill_null(pc.utf8_length(text), 0).to_numpy(zero_copy_only=False)
    astral = pc.fill_null(pc.count_substring_regex(text, _ASTRAL), 0).to_numpy(zero_copy_only=False)
    return code_points + astral


def _blank(text: pa.Array) -> np.ndarray:
    """True where the value is null or only whitespace."""
    empty = pc.equal(pc.utf8_trim_whitespace(text), "")
    return pc.fill_null(pc.or_kleene(pc.is_null(text), empty), True).to_numpy(zero_copy_only=False)


def well_formed_ids(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Vectorised :func:`~airflow_provider_sfcrm.activation.ids.is_well_formed` (nulls are False)."""
    text = as_text(values)
    lengths = pc.fill_null(pc.utf8_length(text), 0).to_numpy(zero_copy_only=False)
    alnum = pc.fill_null(pc.match_substring_regex(text, r"^[0-9A-Za-z]+$"), False).to_numpy(
        zero_copy_only=False
    )
    ok = alnum & ((lengths == 15) | (lengths == 18))
    long_ids = np.flatnonzero(ok & (lengths == 18))
    if long_ids.size:
        raw = np.array(text.take(pa.array(long_ids)).to_pylist(), dtype="S18").view(np.uint8).reshape(-1, 18)
        upper = (raw[:, :15] >= ord("A")) & (raw[:, :15] <= ord("Z"))
        bits = (upper * _CHUNK_WEIGHTS).reshape(-1, 3, 5).sum(axis=2)
        suffix = raw[:, 15:].copy()
        lower = (suffix >= ord("a")) & (suffix <= ord("z"))
        suffix[lower] -= 32  # the checksum is case-insensitive
        ok[long_ids] = (_CHECKSUM_ALPHABET[bits] == suffix).all(axis=1)
    return ok


@dataclass(frozen=True)
class RowRules:
    """What each row is checked against, derived once from the mapping and the describe.

    :param mapping: the export mapping (fields spelled as the org spells them).
    :param object_label: the object's label (``Contact``), used in ``MALFORMED_ID`` messages.
    :param key_prefix: the object's Id prefix (``003``), checked on update.
    :param max_lengths: ``{column: (field label, max length)}`` for text fields.
    :param email_columns: ``{column: field label}`` for email fields.
    :param required: ``[(column, field)]`` that must be non-empty on rows that may create.
    :param field_types: ``{column: (field label, describe type)}`` of every mapped attribute, for
        the type checks of :func:`~.values.value_checks`.
    :param typed: ``{column: FieldType}`` of every mapped attribute, for the checks of what the
        field itself allows (:mod:`.typed_values`: picklist values, number ranges).
    :param references: ``{column: (target, FieldType of the parent's key field)}`` of the columns that
        set a lookup through the parent's external id (:mod:`.references`).
    """

    mapping: ExportMapping
    object_label: str
    key_prefix: str | None
    max_lengths: dict[str, tuple[str, int]] = field(default_factory=dict)
    email_columns: dict[str, str] = field(default_factory=dict)
    required: list[tuple[str, str]] = field(default_factory=list)
    field_types: dict[str, tuple[str, str]] = field(default_factory=dict)
    typed: dict[str, FieldType] = field(default_factory=dict)
    references: dict[str, tuple[str, FieldType]] = field(default_factory=dict)


def rules_from_describe(mapping: ExportMapping, describe: Mapping[str, Any]) -> RowRules:
    """Build :class:`RowRules`; ``mapping`` should come from ``check_mapping_against_describe``.

    On ``upsert`` a row may update an existing record or create one, and which it will be is not
    known before the call: rows are held to the create rules (required fields present), the safe
    side — a row refused here could have been written, but never the other way round.
    """
    by_name = {str(f.get("name", "")).lower(): f for f in describe.get("fields") or ()}
    columns = dict(mapping.attributes)
    if mapping.identity_column and mapping.identity_field:
        columns[mapping.identity_column] = mapping.identity_field
    max_lengths: dict[str, tuple[str, int]] = {}
    emails: dict[str, str] = {}
    field_types: dict[str, tuple[str, str]] = {}
    typed: dict[str, FieldType] = {}
    references: dict[str, tuple[str, FieldType]] = {}
    for column, name in columns.items():
        if is_reference(name):
            parent_key = mapping.field_types.get(name)
            if parent_key is not None:
                references[column] = (name, parent_key)
            continue
        described = by_name.get(name.lower()) or {}
        label = str(described.get("label") or name)
        sf_type = str(described.get("type") or "").lower()
        if column in mapping.attributes:
            field_types[column] = (label, sf_type)
            typed[column] = FieldType.from_describe({**described, "name": name, "label": label})
        length = described.get("length")
        if sf_type in TEXT_TYPES and isinstance(length, int) and length > 0:
            max_lengths[column] = (label, length)
        if sf_type == "email":
            emails[column] = label
    required: list[tuple[str, str]] = []
    if mapping.may_create:
        column_of = {name.lower(): col for col, name in columns.items()}
        column_of.update(
            {lookup.lower(): col for col, lookup in reference_lookups(mapping, describe).items()}
        )
        required = [(column_of[n.lower()], n) for n in required_on_create(describe) if n.lower() in column_of]
    return RowRules(
        mapping=mapping,
        object_label=str(describe.get("label") or mapping.sobject),
        key_prefix=describe.get("keyPrefix") or KEY_PREFIXES.get(mapping.sobject),
        max_lengths=max_lengths,
        email_columns=emails,
        required=required,
        field_types=field_types,
        typed=typed,
        references=references,
    )


def validate_chunk(table: pa.Table, rules: RowRules) -> dict[int, list[RecordError]]:
    """Check every row of ``table``; return ``{position in table: errors}`` for the rows that fail."""
    errors: dict[int, list[RecordError]] = {}

    def add(mask: np.ndarray, make) -> None:
        for pos in np.flatnonzero(mask):
            errors.setdefault(int(pos), []).append(make(int(pos)))

    mapping = rules.mapping
    if mapping.identity_column:
        _check_identity(table, rules, add)
    if rules.required:
        missing = {
            field_name: _empty(salesforce_text(table.column(col))) for col, field_name in rules.required
        }
        any_missing = np.logical_or.reduce(list(missing.values()))

        def required_error(pos: int) -> RecordError:
            names = [name for name, mask in missing.items() if mask[pos]]
            return RecordError(
                REQUIRED_FIELD_MISSING, f"Required fields are missing: [{', '.join(names)}]", tuple(names)
            )

        add(any_missing, required_error)
    # Per field, the checks come in the order Salesforce applies them (its first error is the one
    # it answers): picklist values, length, e-mail form, kind of value, range.
    for column, typed in rules.typed.items():
        _add_checks(add, table.column(column), choice_checks(table.column(column), typed), typed.name)
    for column, (label, max_length) in rules.max_lengths.items():
        values = table.column(column)
        if column in rules.typed and rules.typed[column].type == "multipicklist":
            values = multi_select_text(values)  # Salesforce measures what it stores
        text = salesforce_text(values)
        too_long = salesforce_lengths(text) > max_length
        name = _field_of(mapping, column)
        add(
            too_long,
            lambda pos, text=text, label=label, n=max_length, name=name: RecordError(
                STRING_TOO_LONG,
                f"{label}: data value too large: {_echo(text[pos].as_py())} (max length={n})",
                (name,),
            ),
        )
    for column, label in rules.email_columns.items():
        text = salesforce_text(table.column(column))
        bad = ~_empty(text) & ~pc.fill_null(pc.match_substring_regex(text, _EMAIL), True).to_numpy(
            zero_copy_only=False
        )
        name = _field_of(mapping, column)
        add(
            bad,
            lambda pos, text=text, label=label, name=name: RecordError(
                INVALID_EMAIL_ADDRESS, f"{label}: invalid email address: {_echo(text[pos].as_py())}", (name,)
            ),
        )
    for column, (label, sf_type) in rules.field_types.items():
        _add_checks(
            add,
            table.column(column),
            value_checks(table.column(column), label, sf_type),
            _field_of(mapping, column),
        )
    for column, typed in rules.typed.items():
        _add_checks(add, table.column(column), range_checks(table.column(column), typed), typed.name)
    for column, (target, key) in rules.references.items():
        _add_checks(add, table.column(column), reference_checks(table.column(column), target, key), target)
    allowed = pa.array(STATUSES)
    for column, name in mapping.audiences.items():
        text = as_text(table.column(column))
        normal = pc.utf8_lower(pc.utf8_trim_whitespace(text))
        unknown = ~_blank(text) & ~pc.fill_null(pc.is_in(normal, value_set=allowed), True).to_numpy(
            zero_copy_only=False
        )
        add(
            unknown,
            lambda pos, text=text, column=column, name=name: RecordError(
                INVALID_STATUS,
                f"{column}: status {_echo(text[pos].as_py())!r} is not one of {', '.join(STATUSES)}",
                (name,),
            ),
        )
    return errors


def _add_checks(add, values: pa.Array | pa.ChunkedArray, checks: list[ValueCheck], name: str) -> None:
    """Add each failing row of each check as an error on field ``name``."""
    for check in checks:
        add(
            check.mask,
            lambda pos, check=check: RecordError(check.code, check.message(values[pos].as_py()), (name,)),
        )


def _field_of(mapping: ExportMapping, column: str) -> str:
    if column == mapping.identity_column:
        return mapping.identity_field or column
    return mapping.attributes.get(column, column)


def _check_identity(table: pa.Table, rules: RowRules, add) -> None:
    mapping = rules.mapping
    text = as_text(table.column(mapping.identity_column))
    missing = _blank(text)
    key = mapping.identity_field
    add(
        missing,
        lambda pos: RecordError(
            MISSING_IDENTITY,
            f"no {key} in column {mapping.identity_column!r}: the row has no identity",
            (key,),
        ),
    )
    if mapping.operation != "update":
        return
    well_formed = well_formed_ids(text)
    add(
        ~missing & ~well_formed,
        lambda pos: RecordError(MALFORMED_ID, f"malformed id {_echo(text[pos].as_py())}", ("Id",)),
    )
    if rules.key_prefix:
        right_prefix = pc.fill_null(pc.starts_with(text, rules.key_prefix), False).to_numpy(
            zero_copy_only=False
        )
        add(
            well_formed & ~right_prefix,
            lambda pos: RecordError(
                MALFORMED_ID,
                f"{rules.object_label} ID: id value of incorrect type: {text[pos].as_py()}",
                ("Id",),
            ),
        )
