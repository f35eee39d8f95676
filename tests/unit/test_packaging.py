"""The package's metadata: the links Airflow's Providers page and PyPI show must lead somewhere real."""

from __future__ import annotations

from importlib.metadata import metadata
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[2]
HOME = "https://github.com/airflow-provider-sfcrm/airflow-provider-sfcrm"


def test_project_urls_point_at_the_repository_and_files_it_has():
    urls = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]
    assert set(urls) == {"Documentation", "Source", "Issues", "Changelog"}
    assert urls["Source"] == HOME and urls["Issues"] == f"{HOME}/issues"
    assert urls["Documentation"] == f"{HOME}#readme"  # the README, rendered on the repository page
    changelog = urls["Changelog"].removeprefix(f"{HOME}/blob/main/")
    assert (REPO / changelog).is_file()
    assert (REPO / changelog).read_text().startswith("# Changelog")


def test_installed_metadata_carries_the_urls():
    listed = dict(entry.split(", ", 1) for entry in metadata("airflow-provider-sfcrm").get_all("Project-URL"))
    assert listed["Source"] == HOME and listed["Documentation"].startswith(HOME)
