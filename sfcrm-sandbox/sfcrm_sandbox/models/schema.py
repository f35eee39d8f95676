"""The org's schema: its objects (standard ones, custom objects, platform events), their fields
(standard and custom) and the key prefixes that tie record Ids to objects.

What the integration user may see of it — field-level security, object permissions — is the
store's concern (:class:`~sfcrm_sandbox.models.store.OrgStore`); this is the whole schema.
"""

from __future__ import annotations

from sfcrm_sandbox.models.fields import FieldSpec, ObjectSpec
from sfcrm_sandbox.models.ids import KEY_PREFIXES
from sfcrm_sandbox.models.objects import CUSTOMIZABLE, OBJECTS


class Schema:
    """Objects by name (case-insensitive) and key prefix, and their custom fields."""

    def __init__(self) -> None:
        self.objects: dict[str, ObjectSpec] = {}
        self._by_lower: dict[str, ObjectSpec] = {}
        self._by_prefix: dict[str, str] = {}
        self._custom: dict[str, dict[str, FieldSpec]] = {}
        self._required: dict[str, tuple[FieldSpec, ...]] = {}
        for spec in OBJECTS.values():
            self.add_object(spec)

    # --- objects ------------------------------------------------------------------------------

    def add_object(self, spec: ObjectSpec) -> None:
        self.objects[spec.name] = spec
        self._by_lower[spec.name.lower()] = spec
        self._by_prefix[spec.key_prefix] = spec.name
        self._custom.setdefault(spec.name, {})

    def find(self, name: str) -> ObjectSpec | None:
        """The object named ``name`` (any case), whoever may see it."""
        return self._by_lower.get(name.lower())

    def spec(self, sobject: str) -> ObjectSpec:
        """The object of canonical name ``sobject`` (raises KeyError for none)."""
        return self.objects[sobject]

    def object_of_id(self, record_id: str) -> str | None:
        """The object whose key prefix starts ``record_id``, or None."""
        return self._by_prefix.get(record_id[:3])

    def customizable(self, sobject: str) -> bool:
        """Custom fields may be added to it (a few standard objects, every custom object and event)."""
        spec = self.objects.get(sobject)
        return sobject in CUSTOMIZABLE or (spec is not None and spec.custom)

    @property
    def prefixes_in_use(self) -> frozenset[str]:
        return frozenset((*self._by_prefix, *KEY_PREFIXES.values()))

    # --- fields -------------------------------------------------------------------------------

    def all_fields(self, sobject: str) -> list[FieldSpec]:
        """Standard then custom fields of ``sobject``, whatever the user may see."""
        return [*self.objects[sobject].fields, *self._custom[sobject].values()]

    def custom_fields(self, sobject: str) -> dict[str, FieldSpec]:
        """``{lower-case name: spec}`` of the custom fields of ``sobject``."""
        return self._custom[sobject]

    def custom_field(self, sobject: str, name: str) -> FieldSpec | None:
        return self._custom[sobject].get(name.lower())

    def add_field(self, sobject: str, spec: FieldSpec) -> None:
        self._custom[sobject][spec.name.lower()] = spec
        self._required.pop(sobject, None)

    def required_fields(self, sobject: str) -> tuple[FieldSpec, ...]:
        """Fields an insert must set: standard ones and custom ones created required."""
        required = self._required.get(sobject)
        if required is None:
            required = self._required[sobject] = tuple(f for f in self.all_fields(sobject) if f.required)
        return required
