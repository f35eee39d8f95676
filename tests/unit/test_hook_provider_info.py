"""The ``sfcrm`` connection type as declared to Airflow and as its ProvidersManager reads it."""

from __future__ import annotations

from airflow_provider_sfcrm.get_provider_info import get_provider_info

EXTRA_FIELDS = {
    "security_token",
    "custom_domain",
    "client_id",
    "client_secret",
    "api_version",
    "ca_bundle",
    "auth_type",
    "private_key",
    "private_key_path",
}
SECRETS = {"security_token", "client_secret", "private_key"}


def _sfcrm() -> dict:
    (conn_type,) = [c for c in get_provider_info()["connection-types"] if c["connection-type"] == "sfcrm"]
    return conn_type


def test_every_connection_field_has_label_description_and_example():
    fields = _sfcrm()["conn-fields"]
    assert set(fields) == EXTRA_FIELDS
    for name, field in fields.items():
        assert field["label"], name
        assert "e.g." in field["description"], name
        assert field["schema"].get("format") == ("password" if name in SECRETS else None), name


def test_defaults_and_auth_type_enum():
    fields = _sfcrm()["conn-fields"]
    assert "default" not in fields["api_version"]["schema"]  # the hook's own default applies
    assert fields["auth_type"]["schema"]["enum"] == ["password", "client_credentials", "jwt"]
    assert fields["auth_type"]["schema"]["default"] == "password"


def test_ui_behaviour_hides_unused_fields_and_relabels_login():
    behaviour = _sfcrm()["ui-field-behaviour"]
    assert set(behaviour["hidden-fields"]) >= {"host", "schema", "port"}
    assert behaviour["relabeling"] == {"login": "Username"}
    assert {"login", "password", "custom_domain"} <= set(behaviour["placeholders"])


def test_providers_manager_builds_exactly_these_form_widgets():
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    widgets = {
        key.removeprefix("extra__sfcrm__"): widget
        for key, widget in manager.connection_form_widgets.items()
        if key.startswith("extra__sfcrm__")
    }
    assert set(widgets) == EXTRA_FIELDS
    assert {name for name, widget in widgets.items() if widget.is_sensitive} == SECRETS
    assert manager.field_behaviours["sfcrm"]["relabeling"] == {"login": "Username"}
