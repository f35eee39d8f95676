"""How unique and external-id values are indexed: values match case-insensitively, and a few objects
are unique on a combination of fields."""

from __future__ import annotations

from typing import Any

# Composite uniqueness Salesforce enforces (one grant per permission set and field or object, one
# assignment per user and permission set, one relationship per account and contact).
COMPOSITE_KEYS: dict[str, tuple[str, ...]] = {
    "AccountContactRelation": ("AccountId", "ContactId"),
    "FieldPermissions": ("ParentId", "Field"),
    "ObjectPermissions": ("ParentId", "SobjectType"),
    "PermissionSetAssignment": ("AssigneeId", "PermissionSetId"),
}
COMPOSITE_FIELD = "~key"


def key_value(value: Any) -> str:
    """Indexed form of an external-id / unique value: external ids match case-insensitively."""
    return str(value).lower()
