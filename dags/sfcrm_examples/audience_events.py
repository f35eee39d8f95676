"""The audience changes an activation confirmed, as one Platform Event row each (for
``example_sfcrm_publish_audience_events``).

Imported by a task when it runs, never while DAG files are parsed: it brings pyarrow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

#: The columns of the events file: one row per audience status change.
EVENT_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("audience_field", pa.string()),
        ("status", pa.string()),
        ("message", pa.string()),
        ("severity", pa.string()),
    ]
)
# How loudly each status is announced: a person leaving an audience may need a follow-up.
_SEVERITY = {"realized": "info", "existing": "info", "exited": "warning"}


def change_rows(changes: list[Any], sobject: str) -> list[dict[str, Any]]:
    """One row per status change (``HistoryRow``s of the sync state), in the order given.

    The message names the record by its Salesforce Id and the audience by its field: no personal data.
    """
    return [
        {
            "record_id": change.record_id,
            "audience_field": change.field,
            "status": change.status,
            "message": f"{sobject} {change.record_id}: {change.field} is now {change.status}",
            "severity": _SEVERITY.get(change.status, "info"),
        }
        for change in changes
    ]


def write_changes(
    sync_state_conn_id: str, org_id: str, sobject: str, identity_field: str, as_of: datetime, output: Any
) -> int:
    """Write the status changes the syncs of ``sobject`` as of ``as_of`` confirmed to ``output``
    (Parquet, written whole); returns how many."""
    from airflow_provider_sfcrm.operators._sync_support import open_state

    with open_state(sync_state_conn_id) as state:
        changes = state.status_changes(state.scope(org_id, sobject, identity_field), as_of)
    table = pa.Table.from_pylist(change_rows(changes, sobject), schema=EVENT_SCHEMA)
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("wb") as handle:
        pq.write_table(table, handle)
    return table.num_rows
