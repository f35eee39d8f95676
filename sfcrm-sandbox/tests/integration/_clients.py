"""Clients of a running sandbox for its tests: raw ``requests`` and an unmodified simple-salesforce."""

from __future__ import annotations

import uuid
from typing import Any

import requests
from simple_salesforce import Salesforce

from sfcrm_sandbox.process import RunningSandbox

VERSION = "62.0"


def http(running: RunningSandbox) -> requests.Session:
    """A session that trusts the sandbox's CA.

    ``trust_env = False``: with ``REQUESTS_CA_BUNDLE`` set in the environment, requests would
    otherwise ignore ``session.verify`` and check the sandbox against the system CAs.
    """
    session = requests.Session()
    session.verify = str(running.ca_path)
    session.trust_env = False
    return session


def token_form(running: RunningSandbox, **overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "password",
        "client_id": running.client_id,
        "client_secret": running.client_secret,
        "username": running.username,
        "password": running.password + running.security_token,
    }
    form.update(overrides)
    return form


def login(running: RunningSandbox, session: requests.Session | None = None) -> str:
    response = (session or http(running)).post(
        f"{running.base_url}/services/oauth2/token", data=token_form(running)
    )
    response.raise_for_status()
    return response.json()["access_token"]


def authed(running: RunningSandbox) -> requests.Session:
    """A raw session with a fresh bearer token."""
    session = http(running)
    session.headers["Authorization"] = f"Bearer {login(running, session)}"
    return session


def api(running: RunningSandbox, path: str = "") -> str:
    return f"{running.base_url}/services/data/v{VERSION}{path}"


def salesforce(running: RunningSandbox) -> Salesforce:
    """simple-salesforce on the sandbox, with a token from the sandbox's OAuth endpoint."""
    session = http(running)
    return Salesforce(
        instance_url=running.base_url, session_id=login(running, session), session=session, version=VERSION
    )


def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def contact(**fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Contact"}, "LastName": unique("Last"), **fields}


def lead(**fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": "Lead"}, "LastName": unique("Last"), "Company": "Acme", **fields}


def first_error(result: dict[str, Any]) -> tuple[str, str, list[str]]:
    err = result["errors"][0]
    return err["statusCode"], err["message"], err["fields"]


def create_custom_field(
    sf: Salesforce, sobject: str, metadata: dict[str, Any], *, grant: str | None = "edit"
) -> str:
    """Create ``<unique>__c`` on ``sobject`` through Tooling, optionally grant FLS; return its name."""
    name = unique("f") + "__c"
    sf.toolingexecute(
        "sobjects/CustomField", method="POST", data={"FullName": f"{sobject}.{name}", "Metadata": metadata}
    )
    if grant:
        grant_access(sf, sobject, name, edit=grant == "edit")
    return name


def permission_set_id(sf: Salesforce) -> str:
    return sf.query("SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true")["records"][0]["Id"]


def grant_access(sf: Salesforce, sobject: str, name: str, *, edit: bool = True) -> dict[str, Any]:
    return sf.FieldPermissions.create(
        {
            "ParentId": permission_set_id(sf),
            "SobjectType": sobject,
            "Field": f"{sobject}.{name}",
            "PermissionsRead": True,
            "PermissionsEdit": edit,
        }
    )
