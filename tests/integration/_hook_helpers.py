"""Helpers shared by the hook's integration tests (not a test module)."""

from __future__ import annotations

import pytest
from sfcrm_sandbox.process import RunningSandbox

from airflow_provider_sfcrm.hooks.salesforce_crm import RetryPolicy, SalesforceCrmHook
from tests.conftest import set_connection_env

# Small backoffs keep fault tests quick; the bounds stay real.
FAST = RetryPolicy(
    max_attempts=10, max_retry_time_s=60, backoff_initial_s=0.01, backoff_max_s=0.1, lock_retry_attempts=10
)

EXT_FIELD = "Hook_Ext_Id__c"
_prepared: set[tuple[str, str]] = set()


def hook_for(
    monkeypatch: pytest.MonkeyPatch,
    running: RunningSandbox,
    conn_id: str = "sfcrm_hook_test",
    *,
    retry_policy: RetryPolicy | None = FAST,
    login: str | None = None,
    password: str | None = None,
    **extra,
) -> SalesforceCrmHook:
    """A fresh hook on a connection ``conn_id`` that points at ``running``."""
    set_connection_env(monkeypatch, conn_id, running, **extra)
    if login is not None or password is not None:
        import json

        conn = running.connection_dict(**extra)
        conn["login"] = running.username if login is None else login
        conn["password"] = running.password if password is None else password
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return SalesforceCrmHook(conn_id, retry_policy=retry_policy)


def ensure_external_id_field(
    hook: SalesforceCrmHook, running: RunningSandbox, sobject: str = "Contact"
) -> str:
    """Create (Tooling API) and grant an external-id Text field once per sandbox process."""
    key = (running.base_url, sobject)
    if key not in _prepared:
        hook.create_custom_field(
            sobject, EXT_FIELD, {"type": "Text", "label": "Hook Ext Id", "length": 64, "externalId": True}
        )
        hook.grant_field_access(sobject, EXT_FIELD, hook.get_user_permission_set_id())
        _prepared.add(key)
    return EXT_FIELD
