"""The provider ships no server: sfcrm-sandbox is a distribution of its own that the provider neither
depends on nor imports (only the tests, the demo and the benchmarks use it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _project() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="tomllib comes with Python 3.11+")
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_dependencies_name_no_server_and_no_sandbox():
    project = _project()["project"]
    names = {dep.split(">")[0].split("=")[0].split("[")[0].strip().lower() for dep in project["dependencies"]}
    assert not names & {"sfcrm-sandbox", "starlette", "uvicorn"}
    assert "scripts" not in project, "the provider installs no command (sfcrm-sandbox is the sandbox's)"


def test_the_package_holds_no_sandbox_and_imports_none():
    package = REPO / "airflow_provider_sfcrm"
    assert not (package / "sandbox").exists()
    importers = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(module.split(".")[0] in ("sfcrm_sandbox", "starlette", "uvicorn") for module in modules):
                importers.append(str(path.relative_to(REPO)))
    assert not importers
