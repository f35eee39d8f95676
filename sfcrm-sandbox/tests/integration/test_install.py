"""sfcrm-sandbox stands alone: installed into a fresh virtual environment with nothing but its own
dependencies, it serves a Salesforce org — and neither Airflow nor the provider is there."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from sfcrm_sandbox.process import start_sandbox

pytestmark = pytest.mark.integration

DISTRIBUTION = Path(__file__).resolve().parents[2]  # sfcrm-sandbox/, with its pyproject.toml


def _run(*command: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(part) for part in command], capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.timeout(600)
def test_installs_and_serves_without_airflow(tmp_path: Path):
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)
    python = venv / ("Scripts" if os.name == "nt" else "bin") / "python"
    _run(python, "-m", "pip", "install", "--quiet", DISTRIBUTION)

    installed = {
        p["name"].lower() for p in json.loads(_run(python, "-m", "pip", "list", "--format=json").stdout)
    }
    assert "sfcrm-sandbox" in installed
    assert not {name for name in installed if "airflow" in name}, installed
    probe = (
        "import importlib.util as u; "
        "print([m for m in ('airflow', 'airflow_provider_sfcrm') if u.find_spec(m)])"
    )
    assert _run(python, "-c", probe).stdout.strip() == "[]"

    with start_sandbox(tmp_path / "org", python=python) as running:
        context = ssl.create_default_context(cafile=str(running.ca_path))
        with urllib.request.urlopen(
            f"{running.base_url}/services/data/", context=context, timeout=30
        ) as response:
            versions = json.loads(response.read())
        token_request = urllib.request.Request(
            f"{running.base_url}/services/oauth2/token",
            data=(
                f"grant_type=password&client_id={running.client_id}&client_secret={running.client_secret}"
                f"&username={running.username}&password={running.password}{running.security_token}"
            ).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        with urllib.request.urlopen(token_request, context=context, timeout=30) as response:
            token = json.loads(response.read())
    assert {"version": "62.0", "label": "Winter '25", "url": "/services/data/v62.0"} in versions
    assert token["access_token"] and token["instance_url"] == running.base_url
