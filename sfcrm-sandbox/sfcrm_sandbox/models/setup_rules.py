"""The rules of the setup objects that grant access: a ``FieldPermissions`` record must name an
existing field of an object that takes custom fields, an ``ObjectPermissions`` record an existing
object, both on a permission set; a permission needs the ones it builds on (edit needs read, …).
``docs/salesforce-facts.md``, "Field-level security and object permissions".
"""

from __future__ import annotations

from typing import Any

from sfcrm_sandbox.models.fields import ObjectSpec
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.values import error
from sfcrm_sandbox.models.write_plan import Plan

# Each permission of a grant, the ones it depends on, and Setup's names for them (UNVERIFIED wording).
_FIELD_DEPENDENCIES = {"PermissionsEdit": ("PermissionsRead",)}
_FIELD_LABELS = {"PermissionsRead": "Read Field", "PermissionsEdit": "Edit Field"}
_OBJECT_DEPENDENCIES = {
    "PermissionsCreate": ("PermissionsRead",),
    "PermissionsEdit": ("PermissionsRead",),
    "PermissionsDelete": ("PermissionsRead", "PermissionsEdit"),
    "PermissionsViewAllRecords": ("PermissionsRead",),
    "PermissionsModifyAllRecords": (
        "PermissionsRead",
        "PermissionsEdit",
        "PermissionsDelete",
        "PermissionsViewAllRecords",
    ),
}
_OBJECT_LABELS = {
    "PermissionsRead": "Read",
    "PermissionsCreate": "Create",
    "PermissionsEdit": "Edit",
    "PermissionsDelete": "Delete",
    "PermissionsViewAllRecords": "View All",
    "PermissionsModifyAllRecords": "Modify All",
}


def _bad_value(label: str, value: Any, field: str) -> dict[str, Any]:
    return error(
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        f"{label}: bad value for restricted picklist field: {value}",
        [field],
    )


class SetupRules:
    """Checks planned FieldPermissions and ObjectPermissions records.

    :param store: the org.
    """

    def __init__(self, store: OrgStore) -> None:
        self.store = store

    def check(self, plans: list[Plan]) -> None:
        for plan in plans:
            if not plan.ok or plan.sobject not in ("FieldPermissions", "ObjectPermissions"):
                continue
            merged = {**(plan.existing or {}), **plan.values}
            if plan.sobject == "FieldPermissions":
                if plan.action == "insert":
                    self._field_grant(plan, merged)
                self._dependencies(plan, merged, _FIELD_DEPENDENCIES, _FIELD_LABELS)
            else:
                if plan.action == "insert" and self._target(plan, merged, field_grant=False):
                    self._on_permission_set(plan, merged)
                self._dependencies(plan, merged, _OBJECT_DEPENDENCIES, _OBJECT_LABELS)

    def _field_grant(self, plan: Plan, merged: dict[str, Any]) -> None:
        target = self._target(plan, merged, field_grant=True)
        if target is None:
            return
        object_part, _, field_part = (merged.get("Field") or "").partition(".")
        spec = self.store.custom_field(target.name, field_part) or next(
            (
                f
                for f in target.fields
                if f.name.lower() == field_part.lower() and f.nillable and f.name != "Id"
            ),
            None,
        )
        if object_part.lower() != target.name.lower() or spec is None:
            plan.fail(_bad_value("Field Name", merged.get("Field"), "Field"))
            return
        if self._on_permission_set(plan, merged):
            plan.values["Field"] = f"{target.name}.{spec.name}"

    def _target(self, plan: Plan, merged: dict[str, Any], *, field_grant: bool) -> ObjectSpec | None:
        """The object a grant names (setup sees every object, whoever may read it)."""
        name = merged.get("SobjectType") or ""
        target = self.store.find_object(name)
        if target is None or target.event or (field_grant and not self.store.customizable(target.name)):
            plan.fail(_bad_value("Object Type", name, "SobjectType"))
            return None
        plan.values["SobjectType"] = target.name
        return target

    def _on_permission_set(self, plan: Plan, merged: dict[str, Any]) -> bool:
        parent = self.store.get(merged.get("ParentId") or "")
        if parent is None or parent[0] != "PermissionSet":
            plan.fail(error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["ParentId"]))
            return False
        return True

    @staticmethod
    def _dependencies(
        plan: Plan, merged: dict[str, Any], dependencies: dict[str, tuple[str, ...]], labels: dict[str, str]
    ) -> None:
        for permission, needed in dependencies.items():
            missing = [name for name in needed if not merged.get(name)]
            if plan.ok and merged.get(permission) and missing:
                plan.fail(
                    error(
                        "FIELD_INTEGRITY_EXCEPTION",
                        f"Permission {labels[permission]} depends on permission(s): "
                        + ", ".join(labels[name] for name in missing),
                        missing,
                    )
                )
