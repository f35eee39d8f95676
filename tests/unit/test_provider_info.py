"""Packaging: the provider metadata Airflow reads must be valid, or it breaks every provider listing.

Everything is checked against what is installed and what ``get_provider_info()`` returns right now —
Airflow's own JSON schemas, the distribution's metadata, the entry point, Airflow's ProvidersManager and
the ``airflow providers list`` command — never against a copy of the metadata.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
from packaging.utils import canonicalize_name

import airflow_provider_sfcrm
from airflow_provider_sfcrm.get_provider_info import get_provider_info

ENTRY_POINT_GROUP = "apache_airflow_provider"
# Connection attributes every Airflow connection form has; anything else must be a declared conn-field.
STANDARD_CONN_FIELDS = {"host", "schema", "login", "password", "port", "extra", "description"}


def _airflow_schema(name: str) -> dict:
    """One of the JSON schemas that ship inside the installed ``airflow`` package."""
    return json.loads(files("airflow").joinpath(name).read_text(encoding="utf-8"))


def _validate(schema: dict, instance: object) -> None:
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator_class(schema).validate(instance)


@pytest.fixture(scope="module")
def info() -> dict:
    return get_provider_info()


@pytest.fixture(scope="module")
def entry_point() -> importlib.metadata.EntryPoint:
    ours = [
        ep
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        if ep.value.split(":")[0].split(".")[0] == airflow_provider_sfcrm.__name__
    ]
    assert len(ours) == 1, f"expected one {ENTRY_POINT_GROUP} entry point for this package, got {ours}"
    return ours[0]


@pytest.fixture(scope="module")
def connection_types(info: dict) -> list[dict]:
    types = info.get("connection-types") or []
    assert types, "the provider declares no connection type"
    return types


def test_provider_info_is_valid_against_airflows_schema(info):
    _validate(_airflow_schema("provider_info.schema.json"), info)


def test_package_name_is_the_installed_distribution_name(info, entry_point):
    # Airflow compares these verbatim (after canonicalising the distribution's name); a mismatch
    # makes provider discovery raise for the whole installation.
    distribution_name = entry_point.dist.metadata["Name"]
    assert info["package-name"] == canonicalize_name(distribution_name)
    assert distribution_name in importlib.metadata.packages_distributions()[airflow_provider_sfcrm.__name__]


def test_entry_point_resolves_to_get_provider_info(entry_point):
    assert entry_point.load() is get_provider_info


def test_declared_version_is_the_installed_version(info, entry_point):
    assert info["versions"][0] == airflow_provider_sfcrm.__version__ == entry_point.dist.version


def test_hook_classes_exist_and_agree_with_their_connection_type(connection_types):
    from airflow.sdk import BaseHook

    for conn in connection_types:
        module_name, _, class_name = conn["hook-class-name"].rpartition(".")
        hook_class = getattr(importlib.import_module(module_name), class_name)
        assert issubclass(hook_class, BaseHook)
        assert hook_class.conn_type == conn["connection-type"]
        assert hook_class.hook_name == conn["hook-name"]


def test_conn_fields_are_valid_json_schemas(connection_types):
    for conn in connection_types:
        for name, field in (conn.get("conn-fields") or {}).items():
            assert name not in STANDARD_CONN_FIELDS, f"conn-field {name!r} shadows a standard field"
            assert isinstance(field.get("label"), str) and field["label"], name
            assert isinstance(field.get("description"), str), name
            schema = field["schema"]
            jsonschema.validators.validator_for(schema).check_schema(schema)
            if "default" in schema:
                _validate(schema, schema["default"])
            if any(word in name for word in ("secret", "token", "password")):
                assert schema.get("format") == "password", f"secret conn-field {name!r} is not masked"


def test_ui_field_behaviour_names_only_existing_fields(connection_types):
    for conn in connection_types:
        behaviour = conn.get("ui-field-behaviour")
        if not behaviour:
            continue
        known = STANDARD_CONN_FIELDS | set(conn.get("conn-fields") or {})
        named = (
            set(behaviour.get("hidden-fields", []))
            | set(behaviour.get("relabeling", {}))
            | set(behaviour.get("placeholders", {}))
        )
        assert named <= known, f"ui-field-behaviour names unknown fields: {sorted(named - known)}"


def test_airflow_registers_the_connection_form(info, connection_types):
    """Airflow's ProvidersManager turns conn-fields and ui-field-behaviour into the connection form."""
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert info["package-name"] in manager.providers
    widgets = manager.connection_form_widgets
    behaviours = manager.field_behaviours  # only filled when Airflow's form-behaviour schema accepts it
    for conn in connection_types:
        conn_type = conn["connection-type"]
        for name, field in (conn.get("conn-fields") or {}).items():
            widget = widgets[f"extra__{conn_type}__{name}"]
            assert widget.package_name == info["package-name"]
            assert widget.is_sensitive == (field["schema"].get("format") == "password")
        if conn.get("ui-field-behaviour"):
            assert conn_type in behaviours, "Airflow rejected ui-field-behaviour (see its warning log)"
            _validate(_airflow_schema("customized_form_field_behaviours.schema.json"), behaviours[conn_type])


def test_airflow_providers_list_shows_the_provider(info, entry_point):
    airflow_cli = Path(sys.executable).with_name("airflow")
    # The environment carries the isolated AIRFLOW_HOME that tests/conftest.py set up.
    completed = subprocess.run(
        [str(airflow_cli), "providers", "list", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=180,
        env=dict(os.environ),
    )
    assert completed.returncode == 0, completed.stderr
    for marker in ("Traceback", "ERROR", "do not match"):
        assert marker not in completed.stderr, completed.stderr
    # In unit-test mode Airflow logs a line to stdout before the JSON document.
    document = next(line for line in completed.stdout.splitlines() if line.startswith("["))
    listed = {row["package_name"]: row for row in json.loads(document)}
    assert listed[info["package-name"]]["version"] == entry_point.dist.version


def test_airflows_configuration_knows_the_sfcrm_section(info):
    """``[sfcrm] bulk_spool_path`` is documented by Airflow (``airflow config list``) and unset by default."""
    from airflow.configuration import conf

    option = conf.configuration_description["sfcrm"]["options"]["bulk_spool_path"]
    assert option == info["config"]["sfcrm"]["options"]["bulk_spool_path"]
    assert "every worker reaches" in option["description"] and option["default"] is None
    assert conf.get("sfcrm", "bulk_spool_path", fallback=None) is None
