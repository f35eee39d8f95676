"""The org's metadata model: what a field and an object are, and what writes must respect about them.

Rules only; the standard objects' tables are in :mod:`~sfcrm_sandbox.models.objects`, and what
describe returns for them is rendered by :mod:`~sfcrm_sandbox.responses.describe`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sfcrm_sandbox.models.ids import KEY_PREFIXES

_STRING_TYPES = {"string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox"}
# Types whose values can neither be sorted nor grouped (multi-select picklists: sets of values).
_UNORDERED_TYPES = {"multipicklist"}


@dataclass(frozen=True)
class FieldSpec:
    """One field of an object, with what describe reports about it and what writes must respect.

    :param name: API name (canonical case).
    :param type: describe ``type`` (``string``, ``textarea``, ``email``, ``reference``, ...).
    :param label: UI label (used in error messages such as STRING_TOO_LONG).
    :param length: maximum characters for text types, 0 otherwise.
    :param nillable: may be null; a createable, non-nillable, non-defaulted field is required.
    :param createable: may be set on insert.
    :param updateable: may be set on update.
    :param defaulted_on_create: the org fills it when the insert leaves it empty.
    :param default: value the org fills in (for ``defaulted_on_create`` fields).
    :param unique: values must be unique across the object's live records.
    :param external_id: usable as the key of an upsert.
    :param reference_to: target objects of a lookup.
    :param extra_type_info: ``plaintextarea`` / ``richtextarea`` / ``personname`` / ``imageurl``.
    :param html: ``htmlFormatted`` (rich text).
    :param custom: a custom field (``__c``).
    :param filterable: usable in WHERE (long text areas are not).
    :param picklist: the active picklist values, in order (``default`` names the default one).
    :param name_field: the object's name field.
    :param id_lookup: usable to look a record up (Id, external ids, some standard fields).
    :param precision: digits of a number field, both sides of the decimal point.
    :param scale: digits of a number field after the decimal point.
    :param digits: digits of an integer field (``int``).
    :param restricted_picklist: only the active values may be written.
    :param inactive_picklist: values the picklist still knows but no longer offers.
    :param visible_lines: lines a long text area or multi-select picklist shows (metadata only).
    :param auto_number: the org numbers the field itself (an auto-number name field).
    :param display_format: an auto-number's format (``T-{0000}``).
    :param compound_field_name: the compound field this one is a component of (``MailingAddress``,
        ``Name``).
    :param child_relationship: for a lookup, the name the parent object gives its list of these
        records in SOQL (``Contacts`` for ``Contact.AccountId``); None when it has none.
    """

    name: str
    type: str
    label: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default: Any = None
    unique: bool = False
    external_id: bool = False
    reference_to: tuple[str, ...] = ()
    extra_type_info: str | None = None
    html: bool = False
    custom: bool = False
    filterable: bool = True
    picklist: tuple[str, ...] = ()
    name_field: bool = False
    id_lookup: bool = False
    precision: int = 0
    scale: int = 0
    digits: int = 0
    restricted_picklist: bool = False
    inactive_picklist: tuple[str, ...] = ()
    visible_lines: int = 0
    auto_number: bool = False
    display_format: str | None = None
    compound_field_name: str | None = None
    child_relationship: str | None = None

    @property
    def required(self) -> bool:
        return (
            self.createable and not self.nillable and not self.defaulted_on_create and self.type != "boolean"
        )

    @property
    def is_text(self) -> bool:
        return self.type in _STRING_TYPES

    @property
    def relationship_name(self) -> str | None:
        """The name a lookup's parent goes by in SOQL and in foreign-key references: ``AccountId`` →
        ``Account``, a custom ``Parent__c`` → ``Parent__r``; None for other fields."""
        if not self.reference_to:
            return None
        if self.name.endswith("__c"):
            return self.name[:-3] + "__r"
        return self.name[:-2] if self.name.endswith("Id") else None

    @property
    def sortable(self) -> bool:
        return self.filterable and self.type not in _UNORDERED_TYPES

    @property
    def groupable(self) -> bool:
        """Usable in GROUP BY: not long text, a multi-select picklist, a number with decimals or a
        date-time."""
        return self.filterable and self.type not in (
            "double",
            "currency",
            "percent",
            "datetime",
            "multipicklist",
        )


@dataclass(frozen=True)
class ObjectSpec:
    """An object: its label, key prefix, what may be done with it and its standard fields.

    :param name: API name.
    :param label: singular label.
    :param label_plural: plural label.
    :param fields: standard fields in describe order.
    :param createable: records may be created through the API.
    :param updateable: records may be updated through the API.
    :param deletable: records may be deleted through the API.
    :param data: holds business data that ``/__sandbox/reset`` empties (not setup data).
    :param prefix: the key prefix of an object the org defined (custom objects, platform events);
        standard objects take theirs from :data:`~sfcrm_sandbox.models.ids.KEY_PREFIXES`.
    :param custom: a custom object (``__c``) or platform event (``__e``).
    :param event: a platform event: published, never stored, queried, updated or deleted.
    """

    name: str
    label: str
    label_plural: str
    fields: tuple[FieldSpec, ...]
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    data: bool = True
    prefix: str | None = None
    custom: bool = False
    event: bool = False

    @property
    def key_prefix(self) -> str:
        return self.prefix or KEY_PREFIXES[self.name]

    @property
    def queryable(self) -> bool:
        return not self.event

    @cached_property
    def field_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)

    def has_field(self, name: str) -> bool:
        return name in self.field_names

    @cached_property
    def required_fields(self) -> tuple[FieldSpec, ...]:
        """Standard fields an insert must set (checked for every record written: computed once)."""
        return tuple(f for f in self.fields if f.required)
