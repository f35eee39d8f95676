"""Helpers of the extract's integration tests: run one interval, read file sets back (not a test module)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
from airflow_provider_sfcrm.operators.extract import SalesforceExtractOperator
from tests.conftest import set_connection_env
from tests.integration._deferral import run_deferrable

UTC = dt.timezone.utc


@contextlib.contextmanager
def org_at(
    sandbox: Any, moment: dt.datetime, conn_id: str
) -> Iterator[tuple[SalesforceCrmHook, pytest.MonkeyPatch]]:
    """The session sandbox emptied, its clock frozen at ``moment``, connection ``conn_id`` pointing at it:
    a module's org (its hook, and the monkeypatch that undoes it). The clock runs again afterwards."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        set_connection_env(monkeypatch, conn_id, sandbox)
        sandbox.reset()
        sandbox.set_clock(moment, frozen=True)
        try:
            yield SalesforceCrmHook(conn_id), monkeypatch
        finally:
            sandbox.reset_clock()


def extract(
    root: Path,
    sobject: str,
    start: dt.datetime | None,
    end: dt.datetime,
    *,
    conn_id: str = "sfcrm_default",
    deferrals: list[Any] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Run the operator for the interval [start, end) into ``root/<sobject>/<start>`` (as a DAG run would:
    a Bulk read defers, its trigger runs to its event, the task resumes; ``deferrals`` gets each one)."""
    label = "full" if options.get("full_refresh") else f"{start:%Y%m%dT%H%M%S}"
    operator = SalesforceExtractOperator(
        task_id=f"extract_{sobject.lower()}",
        sobject=sobject,
        output_path=str(root / sobject / label),
        sfcrm_conn_id=conn_id,
        **options,
    )
    return run_deferrable(operator, {"data_interval_start": start, "data_interval_end": end}, deferrals)


def rows(path: str | Path) -> list[dict[str, Any]]:
    """Every row of a file set, in file and row order (read part by part, as its manifest lists them)."""
    manifest = json.loads((Path(path) / "_manifest.json").read_text())
    out: list[dict[str, Any]] = []
    for name in manifest["files"]:
        out.extend(pq.read_table(Path(path) / name).to_pylist())
    return out


def union(file_sets: Iterable[str | Path]) -> dict[str, dict[str, Any]]:
    """The latest version of each Id over ``file_sets``, deleted records dropped: the org as extracted."""
    latest: dict[str, dict[str, Any]] = {}
    for path in file_sets:
        for row in rows(path):
            known = latest.get(row["Id"])
            if known is None or row["SystemModstamp"] > known["SystemModstamp"]:
                latest[row["Id"]] = row
    return {record_id: row for record_id, row in latest.items() if not row["IsDeleted"]}


def salesforce_stamp(value: dt.datetime) -> str:
    """A Parquet timestamp back in Salesforce's text form, to compare with what SOQL returns."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
