"""`airflow connections add` and `airflow connections test` with the sfcrm type (real CLI)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def _airflow(*args: str) -> subprocess.CompletedProcess:
    # tests/conftest.py pins AIRFLOW__CORE__FERNET_KEY, so each CLI process reads what another stored.
    env = dict(os.environ, AIRFLOW__CORE__TEST_CONNECTION="Enabled")
    return subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=180)


def _add(sandbox, password: str) -> str:
    conn_id = f"sb_{uuid.uuid4().hex[:8]}"
    added = _airflow(
        "connections", "add", conn_id,
        "--conn-type", "sfcrm",
        "--conn-login", sandbox.username,
        "--conn-password", password,
        "--conn-extra", json.dumps(sandbox.connection_extra()),
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    return conn_id


@pytest.mark.parametrize("wrong", [False, True], ids=["right-password", "wrong-password"])
def test_cli_connection_test(airflow_db, sandbox, wrong):
    password = "Not-The-Pa55word" if wrong else sandbox.password
    tested = _airflow("connections", "test", _add(sandbox, password))
    output = tested.stdout + tested.stderr
    assert "Traceback" not in output
    assert sandbox.security_token not in output and sandbox.client_secret not in output
    assert password not in output
    if wrong:
        assert tested.returncode == 1, output
        assert "Connection failed!" in tested.stdout
        assert "invalid_grant: " in tested.stdout  # Salesforce's own reason
    else:
        assert tested.returncode == 0, output
        assert "Connection success!" in tested.stdout


def test_cli_connection_test_of_an_environment_variable_connection(airflow_db, sandbox, monkeypatch):
    # What the README recommends: the connection never enters the metadata database or its audit log.
    monkeypatch.setenv("AIRFLOW_CONN_SFCRM_DEFAULT", json.dumps(sandbox.connection_dict()))
    tested = _airflow("connections", "test", "sfcrm_default")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert "Connection success!" in tested.stdout
    assert sandbox.client_secret not in tested.stdout + tested.stderr
