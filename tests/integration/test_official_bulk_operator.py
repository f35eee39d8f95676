"""Acceptance: Airflow's official ``SalesforceBulkOperator`` (apache-airflow-providers-salesforce,
Bulk API 1.0 through simple-salesforce's ``bulk``), unmodified, against the sandbox.

The operator cannot take a session id: its hook logs in. Its connection is what
``sfcrm-sandbox connection --for salesforce`` prints — a ``salesforce`` connection whose ``proxies``
extra sends Salesforce's hosts to the sandbox, with ``REQUESTS_CA_BUNDLE`` naming the sandbox's CA —
once per login flow (SOAP with the security token, OAuth username-password, client credentials).
Nothing of the operator, its hook or simple-salesforce is changed.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sfcrm_sandbox.recipes import AUTH_FLOWS

from tests.integration._hook_helpers import ensure_external_id_field, hook_for

pytestmark = pytest.mark.integration

SalesforceBulkOperator = pytest.importorskip(
    "airflow.providers.salesforce.operators.bulk",
    reason="apache-airflow-providers-salesforce is a test dependency",
).SalesforceBulkOperator


@pytest.fixture(params=AUTH_FLOWS)
def official_conn(request, monkeypatch, proxied_sandbox) -> str:
    """A ``salesforce`` connection the official hook logs in with, reaching the sandbox by its proxy."""
    connection = proxied_sandbox.salesforce_connection_dict(request.param)
    monkeypatch.setenv("AIRFLOW_CONN_SALESFORCE_OFFICIAL", json.dumps(connection))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(proxied_sandbox.ca_path))
    return "salesforce_official"


def run(conn_id, operation, payload, **kwargs):
    operator = SalesforceBulkOperator(
        task_id=f"bulk_{operation}",
        operation=operation,
        object_name="Contact",
        payload=payload,
        salesforce_conn_id=conn_id,
        **kwargs,
    )
    return operator.execute(context={})


def test_insert_update_upsert_leave_the_org_as_described(monkeypatch, proxied_sandbox, official_conn):
    hook = hook_for(monkeypatch, proxied_sandbox)
    key = ensure_external_id_field(hook, proxied_sandbox)
    name = f"Official{uuid.uuid4().hex[:8]}"
    batches_before = proxied_sandbox.calls_to("POST /async/job/{job}/batch")

    inserted = run(
        official_conn,
        "insert",
        [{"LastName": name, "FirstName": f"F{i}", key: f"{name}-{i}"} for i in range(5)]
        + [{"FirstName": "no last name"}],
        batch_size=2,
    )
    assert [r["success"] for r in inserted] == [True] * 5 + [False]
    assert inserted[5]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    ids = [r["id"] for r in inserted[:5]]

    updated = run(
        official_conn, "update", [{"Id": ids[0], "Title": "Updated"}, {"Id": ids[1], "Title": "Updated"}]
    )
    assert all(r["success"] for r in updated)

    upserted = run(
        official_conn,
        "upsert",
        [{key: f"{name}-2", "Title": "Upserted"}, {key: f"{name}-9", "LastName": name, "FirstName": "F9"}],
        external_id_field=key,
    )
    assert [(r["success"], r["created"]) for r in upserted] == [(True, False), (True, True)]

    rows = hook.query_all(
        f"SELECT FirstName, Title, {key} FROM Contact WHERE LastName = '{name}' ORDER BY FirstName"
    )
    assert [(r["FirstName"], r["Title"]) for r in rows] == [
        ("F0", "Updated"),
        ("F1", "Updated"),
        ("F2", "Upserted"),
        ("F3", None),
        ("F4", None),
        ("F9", None),
    ]
    # It went through Bulk API 1.0: batches of at most batch_size records (3), then one each.
    assert proxied_sandbox.calls_to("POST /async/job/{job}/batch") - batches_before == 3 + 1 + 1
