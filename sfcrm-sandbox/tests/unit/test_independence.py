"""The sandbox imports nothing of the provider it tests, nor Airflow: it must stay an independent oracle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DISTRIBUTION = Path(__file__).resolve().parents[2]
FORBIDDEN = ("airflow", "airflow_provider_sfcrm")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


@pytest.mark.parametrize("tree", ["sfcrm_sandbox", "tests"])
def test_no_module_imports_the_provider_or_airflow(tree: str):
    offenders = {
        str(path.relative_to(DISTRIBUTION)): sorted(
            name for name in _imports(path) if name.split(".")[0] in FORBIDDEN
        )
        for path in sorted((DISTRIBUTION / tree).rglob("*.py"))
    }
    assert not {path: names for path, names in offenders.items() if names}


def test_dependencies_name_no_airflow():
    tomllib = pytest.importorskip("tomllib", reason="tomllib comes with Python 3.11+")

    project = tomllib.loads((DISTRIBUTION / "pyproject.toml").read_text())["project"]
    declared = [
        *project["dependencies"],
        *(d for extra in project["optional-dependencies"].values() for d in extra),
    ]
    assert not [d for d in declared if "airflow" in d.lower()]
