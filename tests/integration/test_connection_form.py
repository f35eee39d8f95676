"""The ``sfcrm`` connection form as Airflow's own UI backend serves it (``GET /ui/connections/hook_meta``)."""

from __future__ import annotations

import pytest

from tests.unit.test_hook_provider_info import EXTRA_FIELDS, SECRETS


@pytest.fixture
def api_client(airflow_db, monkeypatch):
    """Airflow's FastAPI app in-process; the simple auth manager treats every caller as admin."""
    from fastapi.testclient import TestClient

    monkeypatch.setenv(
        "AIRFLOW__CORE__AUTH_MANAGER",
        "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
    )
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
    from airflow.api_fastapi.app import create_app, purge_cached_app

    purge_cached_app()
    with TestClient(create_app()) as client:
        yield client
    purge_cached_app()


def test_hook_meta_serves_the_sfcrm_form(api_client):
    response = api_client.get("/ui/connections/hook_meta")
    assert response.status_code == 200, response.text
    (sfcrm,) = [meta for meta in response.json() if meta["connection_type"] == "sfcrm"]

    assert sfcrm["hook_name"] == "Salesforce CRM"
    assert sfcrm["hook_class_name"] == "airflow_provider_sfcrm.hooks.salesforce_crm.SalesforceCrmHook"

    extra = sfcrm["extra_fields"]
    assert set(extra) == EXTRA_FIELDS
    for name, field in extra.items():
        assert field["schema"]["title"], name
        assert field["description"], name
        assert (field["schema"].get("format") == "password") == (name in SECRETS), name
    assert extra["api_version"]["value"] is None  # the hook's default applies; nothing short is stored
    assert extra["auth_type"]["schema"]["enum"] == ["password", "client_credentials", "jwt"]

    standard = sfcrm["standard_fields"]
    for hidden in ("host", "url_schema", "port"):
        assert standard[hidden]["hidden"] is True, hidden
    assert standard["login"]["title"] == "Username"
    assert standard["login"]["placeholder"]
