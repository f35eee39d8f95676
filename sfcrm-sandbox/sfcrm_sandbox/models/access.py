"""What the integration user may see and do: field-level security and object permissions.

Salesforce grants both through permission sets (``docs/salesforce-facts.md``, "Field-level
security and object permissions"): a ``FieldPermissions`` record lets a set's users read (and
edit) one field, an ``ObjectPermissions`` record lets them read, create, edit or delete one object's
records. The sandbox's profile — a typical integration profile — already has every standard object
and standard field; fields created through the Tooling API and custom objects need a grant. A
required custom field needs none (Salesforce does not let one be hidden), and a platform event's
fields have no field-level security.
"""

from __future__ import annotations

from dataclasses import dataclass

from sfcrm_sandbox.models.fields import FieldSpec
from sfcrm_sandbox.models.schema import Schema


@dataclass(frozen=True)
class ObjectAccess:
    """What the user may do with one object's records."""

    read: bool = False
    create: bool = False
    edit: bool = False
    delete: bool = False

    def merged(self, other: ObjectAccess) -> ObjectAccess:
        """The union of two grants (permissions add up across permission sets)."""
        return ObjectAccess(*(a or b for a, b in zip(self.astuple(), other.astuple(), strict=True)))

    def astuple(self) -> tuple[bool, bool, bool, bool]:
        return self.read, self.create, self.edit, self.delete


#: Field grants ``{(object, field) in lower case: (read, edit)}``.
FieldGrants = dict[tuple[str, str], tuple[bool, bool]]
#: Object grants ``{object in lower case: access}``.
ObjectGrants = dict[str, ObjectAccess]


class Access:
    """The user's view of :class:`Schema`, from the grants of its permission sets.

    :param schema: the org's schema.
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self._fields: FieldGrants | None = None
        self._objects: ObjectGrants = {}
        # Per-object {lower name: (spec, editable)}; rebuilt when fields or grants change.
        self._visible: dict[str, dict[str, tuple[FieldSpec, bool]]] = {}

    def load(self, fields: FieldGrants, objects: ObjectGrants) -> bool:
        """Take the grants read from the org; True when they changed what the user sees."""
        changed = self._fields is not None and (fields != self._fields or objects != self._objects)
        self._fields, self._objects = fields, objects
        self.forget()
        return changed

    def forget(self) -> None:
        """Drop what was computed from the schema (after a field or object was added)."""
        self._visible.clear()

    def object_access(self, sobject: str) -> ObjectAccess:
        spec = self.schema.spec(sobject)
        if spec.event:
            # Platform events are published, never read back through the API.
            return ObjectAccess(read=True, create=True)
        if not spec.custom:
            return ObjectAccess(True, spec.createable, spec.updateable, spec.deletable)
        return self._objects.get(sobject.lower(), ObjectAccess())

    def visible_fields(self, sobject: str) -> dict[str, tuple[FieldSpec, bool]]:
        """``{lower-case name: (spec, editable by the user)}`` of the fields the user can read."""
        cached = self._visible.get(sobject)
        if cached is not None:
            return cached
        spec = self.schema.spec(sobject)
        visible = {field.name.lower(): (field, True) for field in spec.fields}
        for lower, field in self.schema.custom_fields(sobject).items():
            if spec.event or field.required:
                visible[lower] = (field, True)
                continue
            read, edit = (self._fields or {}).get((sobject.lower(), lower), (False, False))
            if read:
                visible[lower] = (field, edit)
        self._visible[sobject] = visible
        return visible
