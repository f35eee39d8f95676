"""The pure cores import neither Airflow nor an HTTP client: they are unit-tested without either."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "airflow_provider_sfcrm"
FORBIDDEN = {"airflow", "requests", "urllib3", "simple_salesforce", "httpx", "aiohttp"}


@pytest.mark.parametrize("core", ["activation", "extraction"])
def test_the_core_imports_no_airflow_and_no_http(core):
    offenders = []
    for path in sorted((PACKAGE / core).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            offenders += [f"{path.name}: {m}" for m in modules if m.split(".")[0] in FORBIDDEN]
    assert not offenders
