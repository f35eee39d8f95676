"""Helpers for the segment-export integration tests: an org with audience fields, seeding, segments."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sfcrm_sandbox.process import RunningSandbox, start_sandbox
from simple_salesforce import format_soql

from airflow_provider_sfcrm.activation.ids import KEY_PREFIXES, to18
from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

CONN_ID = "sfcrm_export"
AUDIENCE_FIELDS = ("crm_1_seg", "crm_2_seg")
STATUS_VALUES = {"realized": "Realized", "exited": "Exited"}  # "existing" is written as is


@dataclass
class ExportOrg:
    """A sandbox of its own (so API calls are counted for these tests alone) and a hook on it."""

    sandbox: RunningSandbox
    hook: SalesforceCrmHook

    def api_calls(self) -> int:
        return int(self.sandbox.stats()["api_calls"])

    def write_calls(self) -> int:
        """Calls on the collections routes (the writes)."""
        return self.sandbox.calls_to("composite")


def start_export_org(tmp: Path, monkeypatch, **sandbox_options: Any) -> Iterator[ExportOrg]:
    """Start a sandbox, point ``CONN_ID`` at it, create and grant the audience and external-id fields.

    ``sandbox_options`` go to ``start_sandbox`` (``faults={...}``, ``latency_ms=...``).
    """
    with start_sandbox(tmp, **sandbox_options) as running:
        monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(running.connection_dict()))
        hook = SalesforceCrmHook(sfcrm_conn_id=CONN_ID)
        permission_set = hook.get_user_permission_set_id()
        for sobject in ("Contact", "Lead"):
            add_audience_fields(hook, sobject, AUDIENCE_FIELDS, permission_set)
            metadata = {"type": "Text", "label": "Ext Id", "length": 64, "externalId": True, "unique": True}
            hook.create_custom_field(sobject, "Ext_Id__c", metadata)
            hook.grant_field_access(sobject, "Ext_Id__c", permission_set)
        yield ExportOrg(running, SalesforceCrmHook(sfcrm_conn_id=CONN_ID))


def add_audience_fields(
    hook: SalesforceCrmHook, sobject: str, mapping_ids: Iterable[str], permission_set: str
) -> None:
    """Create (Tooling API) one Text Area (Long) field per Mapping ID and grant it to the user."""
    for name in mapping_ids:
        metadata = {"type": "LongTextArea", "label": name, "length": 32768, "visibleLines": 3}
        hook.create_custom_field(sobject, f"{name}__c", metadata)
        hook.grant_field_access(sobject, f"{name}__c", permission_set)


def insert(
    hook: SalesforceCrmHook, sobject: str, records: list[dict[str, Any]], *, max_workers: int = 4
) -> list[str]:
    results = hook.upsert_records(sobject, records, external_id_field=None, max_workers=max_workers)
    failed = [r for r in results if not r.success]
    assert not failed, failed[:3]
    return [r.id for r in results]


def delete(hook: SalesforceCrmHook, ids: list[str]) -> None:
    sf = hook.get_conn()
    for start in range(0, len(ids), 200):
        chunk = ",".join(ids[start : start + 200])
        results = sf.restful(f"composite/sobjects?ids={chunk}&allOrNone=false", method="DELETE")
        assert all(r["success"] for r in results), results[:3]


def snapshot(hook: SalesforceCrmHook, sobject: str, key: str = "Id") -> dict[str, dict[str, Any]]:
    fields = "Id, FirstName, LastName, Email, Ext_Id__c, crm_1_seg__c, crm_2_seg__c"
    if sobject == "Lead":
        fields += ", Company"
    rows = hook.query_all(format_soql(f"SELECT {fields} FROM {sobject}"))
    return {row[key]: {k: v for k, v in row.items() if k != "attributes"} for row in rows}


def status_cycle(i: int, shift: int) -> str | None:
    return ["realized", "existing", "exited", None, "", " Existing "][(i + shift) % 6]


def written_status(status: str | None) -> str | None:
    if status is None or not status.strip():
        return None
    status = status.strip().lower()
    return STATUS_VALUES.get(status, status)


def bad_positions(n: int, kinds: list[str], per_kind: int, seed: int, *, not_after: int) -> dict[int, str]:
    """Spread ``per_kind`` rows of each kind over positions ``< not_after`` (duplicates need a later twin)."""
    assert not_after <= n
    positions = random.Random(seed).sample(range(not_after), per_kind * len(kinds))
    return {pos: kinds[k // per_kind] for k, pos in enumerate(positions)}


def write_segment(path: Path, rows: list[dict[str, Any]], schema: pa.Schema) -> str:
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path, row_group_size=10_000)
    return str(path)


def next_good(pos: int, bad: dict[int, str], n: int) -> int:
    j = pos + 1
    while j in bad:
        j += 1
    assert j < n
    return j


def lead_prefixed(contact_id: str) -> str:
    return to18(KEY_PREFIXES["Lead"] + contact_id[3:15])


def renaming_segment(hook: SalesforceCrmHook, path: Path, n: int) -> str:
    """Insert ``n`` Contacts, then write a segment that renames them (``New<i>``) by Id."""
    ids = insert(hook, "Contact", [{"LastName": f"Old{i}"} for i in range(n)])
    return write_segment(
        path,
        [{"sfid": sfid, "last": f"New{i}"} for i, sfid in enumerate(ids)],
        pa.schema([("sfid", pa.string()), ("last", pa.string())]),
    )


def renaming_export(segment: str, rejected: Path, conn_id: str, **options: Any):
    """The export of a :func:`renaming_segment` (update by Id)."""
    from airflow_provider_sfcrm.operators.segment_export import SalesforceSegmentExportOperator

    return SalesforceSegmentExportOperator(
        task_id="export",
        sobject="Contact",
        segment_path=segment,
        field_mapping={"sfid": "Id", "last": "LastName"},
        rejected_rows_path=str(rejected),
        sfcrm_conn_id=conn_id,
        **options,
    )
