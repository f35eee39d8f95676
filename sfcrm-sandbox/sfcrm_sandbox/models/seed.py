"""What a new sandbox org holds before anyone writes to it: the organization, a profile, the
integration user and a lead router, and the permission sets that carry field-level security."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sfcrm_sandbox.models.ids import KEY_PREFIXES
from sfcrm_sandbox.models.keys import COMPOSITE_FIELD, key_value
from sfcrm_sandbox.models.objects import OBJECTS

if TYPE_CHECKING:
    from sfcrm_sandbox.models.store import OrgStore

ROUTER_USERNAME = "lead.router@sfcrm-sandbox.local"


def seed_org(store: OrgStore, username: str) -> None:
    """Write the seed records into an empty ``store`` (the caller holds its lock, and no org exists yet)."""
    store.db.execute("BEGIN")
    now = store.clock.stamp()
    ids = {name: store.new_id(KEY_PREFIXES[name]) for name in ("Organization", "Profile")}
    user_id, router_id = store.new_id("005"), store.new_id("005")
    perm_set_id, extra_set_id = store.new_id("0PS"), store.new_id("0PS")
    audit = {
        "CreatedDate": now,
        "CreatedById": user_id,
        "LastModifiedDate": now,
        "LastModifiedById": user_id,
        "SystemModstamp": now,
    }
    seed = [
        (
            "Organization",
            ids["Organization"],
            {
                "Name": "sfcrm sandbox org",
                "OrganizationType": "Enterprise Edition",
                "InstanceName": "LOCAL",
                "IsSandbox": True,
            },
        ),
        (
            "Profile",
            ids["Profile"],
            {
                "Name": "sfcrm Integration",
                "UserType": "Standard",
                "Description": "Profile of the sandbox's API integration user",
            },
        ),
        ("User", user_id, _user_fields(username, "Integration", "User", ids["Profile"])),
        (
            "User",
            router_id,
            _user_fields(ROUTER_USERNAME, "Lead", "Router", ids["Profile"]),
        ),
        # Every profile owns one permission set; FLS granted to it applies to the profile's users.
        (
            "PermissionSet",
            perm_set_id,
            {
                "Name": "X" + ids["Profile"][:15],
                "Label": ids["Profile"],
                "ProfileId": ids["Profile"],
                "IsOwnedByProfile": True,
                "IsCustom": False,
            },
        ),
        (
            "PermissionSet",
            extra_set_id,
            {
                "Name": "Marketing_Audiences",
                "Label": "Marketing Audiences",
                "ProfileId": None,
                "IsOwnedByProfile": False,
                "IsCustom": True,
                "Description": "Not assigned to the integration user",
            },
        ),
    ]
    rows = []
    for sobject, record_id, values in seed:
        data = {"Id": record_id, **values, **audit}
        if OBJECTS[sobject].has_field("IsDeleted"):
            data["IsDeleted"] = False
        rows.append((record_id, sobject, 0, json.dumps(data)))
        store.counts[sobject] += 1
    assignment_id = store.new_id("0Pa")
    rows.append(
        (
            assignment_id,
            "PermissionSetAssignment",
            0,
            json.dumps(
                {
                    "Id": assignment_id,
                    "AssigneeId": user_id,
                    "PermissionSetId": perm_set_id,
                    "SystemModstamp": now,
                }
            ),
        )
    )
    store.counts["PermissionSetAssignment"] += 1
    store.db.executemany("INSERT INTO record (id, sobject, deleted, data) VALUES (?, ?, ?, ?)", rows)
    store.db.executemany(
        "INSERT INTO keyval (sobject, field, value, id) VALUES (?, ?, ?, ?)",
        [
            ("User", "username", key_value(username), user_id),
            ("User", "username", ROUTER_USERNAME, router_id),
            (
                "PermissionSetAssignment",
                COMPOSITE_FIELD,
                key_value(f"{user_id}|{perm_set_id}"),
                assignment_id,
            ),
        ],
    )
    for key, value in (
        ("org_id", ids["Organization"]),
        ("user_id", user_id),
        ("router_user_id", router_id),
        ("profile_id", ids["Profile"]),
        ("permission_set_id", perm_set_id),
    ):
        store._set_meta(key, value)
    store.save_counters()
    store.touch_schema()
    store.db.execute("COMMIT")


def _user_fields(username: str, first: str, last: str, profile_id: str) -> dict[str, Any]:
    return {
        "Username": username,
        "FirstName": first,
        "LastName": last,
        "Name": f"{first} {last}",
        "Alias": (first[:1] + last)[:8].lower(),
        "Email": username if "@" in username else f"{username}@sfcrm-sandbox.local",
        "IsActive": True,
        "ProfileId": profile_id,
        "UserType": "Standard",
        "TimeZoneSidKey": "GMT",
        "LocaleSidKey": "en_US",
        "EmailEncodingKey": "UTF-8",
        "LanguageLocaleKey": "en_US",
    }
