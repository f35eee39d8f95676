"""``upsert_records`` and the metadata calls of ``SalesforceCrmHook`` over HTTPS against a sandbox."""

from __future__ import annotations

import pytest
from simple_salesforce import format_soql

from airflow_provider_sfcrm.activation.ids import has_prefix_of, is_well_formed, to18
from airflow_provider_sfcrm.exceptions import SfCrmApiError
from tests.integration._hook_helpers import FAST, ensure_external_id_field, hook_for

pytestmark = pytest.mark.integration


def _contacts(n: int, key: str, prefix: str = "c") -> list[dict]:
    """``n`` valid Contacts keyed by ``key`` (an external-id field, or ``Email`` for inserts)."""
    value = (lambda i: f"{prefix}{i:05d}@example.com") if key == "Email" else (lambda i: f"{prefix}-{i:05d}")
    return [{key: value(i), "LastName": f"Last {i}", "FirstName": f"First {i}"} for i in range(n)]


def test_describe_is_cached_per_hook(monkeypatch, sandbox):
    hook = hook_for(monkeypatch, sandbox)
    describe = hook.describe_object("Contact")
    calls = hook.api_calls
    assert hook.describe_object("Contact") is describe
    assert hook.api_calls == calls
    hook.describe_object("Contact", refresh=True)
    assert hook.api_calls == calls + 1
    assert describe["name"] == "Contact" and any(f["name"] == "LastName" for f in describe["fields"])


@pytest.mark.parametrize("name", ["Contact/../x", "Contact where", "", "1Contact"])
def test_names_are_validated_before_any_request(monkeypatch, sandbox, name):
    hook = hook_for(monkeypatch, sandbox)
    with pytest.raises(ValueError, match="invalid Salesforce"):
        hook.describe_object(name)
    with pytest.raises(ValueError, match="invalid Salesforce"):
        hook.upsert_records(name, [{"LastName": "x"}])
    assert hook.api_calls == 0


def test_unknown_object_is_an_api_error(monkeypatch, sandbox):
    with pytest.raises(SfCrmApiError) as excinfo:
        hook_for(monkeypatch, sandbox).describe_object("NoSuchThing__c")
    assert excinfo.value.status == 404


def test_custom_field_lifecycle_and_permission_set(monkeypatch, sandbox):
    hook = hook_for(monkeypatch, sandbox)
    permission_set_id = hook.get_user_permission_set_id()
    assert is_well_formed(permission_set_id) and has_prefix_of(permission_set_id, "PermissionSet")

    field_id = hook.create_custom_field(
        "Contact",
        "Hook_Lifecycle__c",
        {"type": "LongTextArea", "label": "L", "length": 32768, "visibleLines": 3},
    )
    assert field_id.startswith("00N")
    assert "Hook_Lifecycle__c" not in {
        f["name"] for f in hook.describe_object("Contact", refresh=True)["fields"]
    }
    grant_id = hook.grant_field_access("Contact", "Hook_Lifecycle__c", permission_set_id, edit=False)
    assert is_well_formed(grant_id)
    (field,) = [
        f for f in hook.describe_object("Contact", refresh=True)["fields"] if f["name"] == "Hook_Lifecycle__c"
    ]
    assert field["updateable"] is False

    with pytest.raises(SfCrmApiError) as excinfo:  # creating it twice is Salesforce's error, not ours
        hook.create_custom_field(
            "Contact",
            "Hook_Lifecycle__c",
            {"type": "LongTextArea", "label": "L", "length": 32768, "visibleLines": 3},
        )
    assert excinfo.value.status == 400


def test_upsert_update_and_order_with_concurrency(monkeypatch, sandbox):
    sandbox.reset()
    hook = hook_for(monkeypatch, sandbox)
    ext = ensure_external_id_field(hook, sandbox)
    records = _contacts(1000, ext)
    calls_before, hook_calls_before = sandbox.stats()["api_calls"], hook.api_calls
    finished: list[int] = []
    results = hook.upsert_records(
        "Contact", records, ext, batch_size=37, max_workers=8, progress=finished.append
    )

    assert [r.index for r in results] == list(range(1000))
    assert all(r.success and r.created for r in results), {r.status_codes for r in results if not r.success}
    assert sum(finished) == 1000 and len(finished) == 28
    assert "attributes" not in records[0]
    assert hook.api_calls - hook_calls_before == sandbox.stats()["api_calls"] - calls_before == 28
    rows = hook.query_all(format_soql("SELECT Id, {:literal} FROM Contact", ext))
    by_id = {row["Id"]: row[ext] for row in rows}
    assert [by_id[r.id] for r in results] == [rec[ext] for rec in records]  # result i is record i

    updates = [{"Id": r.id, "LastName": f"Renamed {r.index}"} for r in results]
    again = hook.upsert_records("Contact", updates, "Id", max_workers=4)
    assert all(r.success for r in again) and [r.id for r in again] == [r.id for r in results]
    assert sandbox.stats()["records"]["Contact"] == 1000
    assert hook.api_usage is not None and hook.api_usage[0] > 0


def test_per_record_failures_are_data(monkeypatch, sandbox):
    hook = hook_for(monkeypatch, sandbox)
    results = hook.upsert_records(
        "Contact",
        [{"LastName": "Ok"}, {"FirstName": "No last name"}, {"LastName": "x" * 81}],
        None,
    )
    assert results[0].success and has_prefix_of(results[0].id, "Contact")
    assert results[1].status_codes == ("REQUIRED_FIELD_MISSING",)
    assert results[2].status_codes == ("STRING_TOO_LONG",)


@pytest.mark.parametrize(
    ("auto_assign", "reassigned"), [(False, False), (True, True), (to18("01Qxx0000000001"), True)]
)
def test_auto_assign_controls_lead_assignment(monkeypatch, sandbox, auto_assign, reassigned):
    hook = hook_for(monkeypatch, sandbox)
    (result,) = hook.upsert_records(
        "Lead", [{"LastName": "Lead", "Company": "Acme"}], None, auto_assign=auto_assign
    )
    assert result.success, result.errors
    (row,) = hook.query_all(format_soql("SELECT OwnerId FROM Lead WHERE Id = {}", result.id))
    assert (row["OwnerId"] != hook.user_id) is reassigned


def test_request_limit_stops_and_loses_nothing(monkeypatch, sandbox_factory):
    running = sandbox_factory(daily_api_limit=12)
    hook = hook_for(monkeypatch, running)
    results = hook.upsert_records(
        "Contact", _contacts(4000, "Email", "x"), None, batch_size=100, max_workers=3
    )

    written = [r for r in results if r.success]
    refused = [r for r in results if not r.success]
    assert written and refused
    assert {r.status_codes for r in refused} == {("REQUEST_LIMIT_EXCEEDED",)}
    assert running.stats()["records"].get("Contact", 0) == len(written)  # exactly the unsent ones failed
    assert hook.api_usage is not None and hook.api_usage[0] >= hook.api_usage[1] - 3


def test_insert_with_dropped_connections_is_never_resent(monkeypatch, sandbox_factory):
    running = sandbox_factory(faults={"seed": 3, "drop_connection_rate": 0.2})
    hook = hook_for(monkeypatch, running)
    results = hook.upsert_records(
        "Contact", _contacts(2000, "Email", "d"), None, batch_size=50, max_workers=4
    )

    unknown = [r for r in results if r.status_codes == ("UNKNOWN_OUTCOME",)]
    assert unknown, "the fault rate should have dropped some inserts"
    assert all(r.success or r.status_codes == ("UNKNOWN_OUTCOME",) for r in results)
    assert "not re-sent" in unknown[0].errors[0].message
    # dropped inserts were processed by the org and not sent again: no duplicates, no losses
    assert running.stats()["records"]["Contact"] == len(results)


def test_idempotent_writes_are_retried_through_dropped_connections(monkeypatch, sandbox_factory):
    running = sandbox_factory(faults={"seed": 4, "drop_connection_rate": 0.2, "http_502_rate": 0.05})
    hook = hook_for(monkeypatch, running)
    ext = ensure_external_id_field(hook, running)
    results = hook.upsert_records("Contact", _contacts(1000, ext), ext, batch_size=50, max_workers=4)
    assert all(r.success for r in results), {r.status_codes for r in results if not r.success}
    assert running.stats()["records"]["Contact"] == 1000


@pytest.mark.parametrize(("lock_retries", "all_written"), [(10, True), (0, False)])
def test_locked_rows_are_retried_alone_and_bounded(monkeypatch, sandbox_factory, lock_retries, all_written):
    from dataclasses import replace

    running = sandbox_factory(faults={"seed": 5, "record_lock_rate": 0.1})
    hook = hook_for(monkeypatch, running, retry_policy=replace(FAST, lock_retry_attempts=lock_retries))
    results = hook.upsert_records(
        "Contact", _contacts(500, "Email", "l"), None, batch_size=100, max_workers=2
    )
    assert all(r.success for r in results) is all_written
    assert {r.status_codes for r in results if not r.success} <= {("UNABLE_TO_LOCK_ROW",)}
    assert running.stats()["records"]["Contact"] == sum(r.success for r in results)
