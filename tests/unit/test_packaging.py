"""The package's metadata: it ships no server (sfcrm-sandbox is a distribution of its own that the
provider neither depends on nor imports), and the links Airflow's Providers page and PyPI show lead
somewhere real."""

from __future__ import annotations

import ast
from importlib.metadata import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HOME = "https://github.com/airflow-provider-sfcrm/airflow-provider-sfcrm"


def _project() -> dict:
    tomllib = pytest.importorskip("tomllib", reason="tomllib comes with Python 3.11+")
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_project_urls_point_at_the_repository_and_files_it_has():
    urls = _project()["project"]["urls"]
    assert set(urls) == {"Documentation", "Source", "Issues", "Changelog"}
    assert urls["Source"] == HOME and urls["Issues"] == f"{HOME}/issues"
    assert urls["Documentation"] == f"{HOME}#readme"  # the README, rendered on the repository page
    changelog = urls["Changelog"].removeprefix(f"{HOME}/blob/main/")
    assert (REPO / changelog).is_file()
    assert (REPO / changelog).read_text().startswith("# Changelog")


def test_installed_metadata_carries_the_urls():
    listed = dict(entry.split(", ", 1) for entry in metadata("airflow-provider-sfcrm").get_all("Project-URL"))
    assert listed["Source"] == HOME and listed["Documentation"].startswith(HOME)


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
