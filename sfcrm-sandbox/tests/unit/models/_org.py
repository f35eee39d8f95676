"""Setting up an org for the models' tests (no server)."""

from __future__ import annotations

from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.writes import Writer


def grant(store: OrgStore, writer: Writer, sobject: str, name: str) -> None:
    """Let the integration user read and edit ``sobject.name`` (a FieldPermissions record)."""
    results, _ = writer.save(
        [
            {
                "attributes": {"type": "FieldPermissions"},
                "ParentId": store.permission_set_id,
                "SobjectType": sobject,
                "Field": f"{sobject}.{name}",
                "PermissionsRead": True,
                "PermissionsEdit": True,
            }
        ],
        mode="insert",
    )
    assert results[0]["success"], results
