"""When the org's daily API allowance runs out mid-export: every unsent row is rejected as such."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
from tests.conftest import set_connection_env
from tests.integration._export_org import renaming_export, renaming_segment

pytestmark = pytest.mark.integration

SEEDED = 2_000
# Seeding spends SEEDED / 200 write calls; the export then gets its describe and five writes.
LIMIT = SEEDED // 200 + 1 + 5


def test_rows_not_sent_for_the_daily_limit_are_rejected(sandbox_factory, monkeypatch, tmp_path):
    org = sandbox_factory(daily_api_limit=LIMIT)
    set_connection_env(monkeypatch, "sfcrm_limited", org)
    segment = renaming_segment(SalesforceCrmHook("sfcrm_limited"), tmp_path / "segment.parquet", SEEDED)
    op = renaming_export(
        segment,
        tmp_path / "rejected.parquet",
        "sfcrm_limited",
        max_rejected_ratio=0.9,
        max_workers=1,
        chunk_rows=500,
    )

    summary = op.execute({})

    assert summary["total"] == SEEDED == summary["written"] + summary["rejected"]
    assert summary["written"] == 5 * 200
    assert summary["rejected_by_code"] == {"REQUEST_LIMIT_EXCEEDED": SEEDED - 1000}
    assert org.stats()["api_calls"] <= LIMIT + 2  # stopped asking once refused, not once per chunk
    rejected = pq.read_table(summary["rejected_rows_path"])
    assert rejected.column("sfcrm_row_number").to_pylist() == list(range(1000, SEEDED))
