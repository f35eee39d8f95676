"""The collections write engine against a scripted transport (the seam is ``RestTransport.request``).

The sandbox integration tests cover the same behaviour over HTTPS; these pin down the per-record
bookkeeping exactly (ordering, lock re-sends, limit stop) where a real org is not scriptable.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time

import pytest
import requests

from airflow_provider_sfcrm.exceptions import SfCrmApiError, SfCrmOutcomeUnknownError, SfCrmRequestLimitError
from airflow_provider_sfcrm.hooks import _collections
from airflow_provider_sfcrm.hooks._collections import CollectionsWriter
from airflow_provider_sfcrm.hooks._transport import RetryPolicy

LOG = logging.getLogger("test.collections")


def _response(status: int, body) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    return response


class ScriptedTransport:
    """Answers each request with ``script(call_number, records) -> Response`` (or raises)."""

    def __init__(self, script, policy: RetryPolicy | None = None):
        self.script = script
        self.policy = policy or RetryPolicy(
            backoff_initial_s=0.001, backoff_max_s=0.002, lock_retry_attempts=3
        )
        self.api_calls = 0
        self.api_usage = (1, 100)
        self.requests: list[dict] = []
        self._lock = threading.Lock()

    def request(
        self, method, path, *, json=None, headers=None, idempotent=True, label="", on_lost_answer=None
    ):
        with self._lock:
            self.api_calls += 1
            number = self.api_calls
            self.requests.append(
                {
                    "method": method,
                    "path": path,
                    "headers": dict(headers or {}),
                    "idempotent": idempotent,
                    **json,
                }
            )
        return self.script(number, json["records"])


def _ok(number, records):
    return _response(
        200, [{"id": r["Ext__c"], "success": True, "errors": [], "created": True} for r in records]
    )


def _writer(transport, external_id_field="Ext__c", **options) -> CollectionsWriter:
    options.setdefault("all_or_none", False)
    options.setdefault("auto_assign", False)
    return CollectionsWriter(transport, "Contact", external_id_field, log=LOG, **options)


def _records(n):
    return [{"Ext__c": f"ext-{i}", "LastName": f"Name {i}"} for i in range(n)]


def test_results_keep_input_order_whatever_finishes_first():
    def jittery(number, records):
        time.sleep(random.random() / 100)
        return _ok(number, records)

    transport = ScriptedTransport(jittery)
    records = _records(1000)
    finished: list[int] = []
    calls_at_first_progress: list[int] = []

    def progress(count: int) -> None:
        calls_at_first_progress.append(transport.api_calls)
        finished.append(count)

    results = _writer(transport).write(records, batch_size=7, max_workers=8, progress=progress)

    assert [r.index for r in results] == list(range(1000))
    assert [r.id for r in results] == [r["Ext__c"] for r in records]
    assert sum(finished) == 1000 and len(finished) == len(transport.requests) == 143
    assert calls_at_first_progress[0] < 143  # reported while batches were still being sent
    assert all(len(req["records"]) <= 7 for req in transport.requests)
    assert records[0] == {"Ext__c": "ext-0", "LastName": "Name 0"}  # the caller's dicts are untouched
    assert transport.requests[0]["records"][0]["attributes"] == {"type": "Contact"}


def test_each_requests_results_are_reported_as_it_finishes_in_the_callers_thread():
    def failing_some(number, records):
        body = [{"id": r["Ext__c"], "success": True, "errors": [], "created": True} for r in records]
        body[0] = {"success": False, "errors": [{"statusCode": "INVALID_EMAIL_ADDRESS", "message": "bad"}]}
        return _response(200, body)

    reported: list[tuple[int, list, str]] = []

    def on_batch(first, results):
        reported.append((first, results, threading.current_thread().name))

    results = _writer(ScriptedTransport(failing_some)).write(
        _records(45), batch_size=10, max_workers=3, progress=None, on_batch=on_batch
    )

    assert sorted(first for first, _, _ in reported) == [0, 10, 20, 30, 40]
    assert {thread for _, _, thread in reported} == {threading.current_thread().name}
    for first, batch, _ in reported:  # each request's results, at their input positions
        assert batch == results[first : first + len(batch)]
        assert [r.success for r in batch] == [False] + [True] * (len(batch) - 1)


def test_no_more_than_max_workers_requests_are_ever_sent_and_unreported():
    reported = [0]
    unreported_at_send: list[int] = []

    def counting(number, records):
        unreported_at_send.append(number - reported[0])  # requests sent (this one included) minus reported
        return _ok(number, records)

    def slow_recorder(first, results):
        time.sleep(0.005)  # a state store taking its time: the workers must not run ahead of it
        reported[0] += 1

    _writer(ScriptedTransport(counting)).write(
        _records(400), batch_size=10, max_workers=3, progress=None, on_batch=slow_recorder
    )
    assert reported[0] == 40 and len(unreported_at_send) == 40
    assert max(unreported_at_send) == 3  # what a kill can leave written but unrecorded


def test_a_failing_batch_callback_stops_the_write_and_propagates():
    def on_batch(first, results):
        raise RuntimeError("the state store is gone")

    transport = ScriptedTransport(_ok)
    with pytest.raises(RuntimeError, match="state store is gone"):
        _writer(transport).write(
            _records(2000), batch_size=10, max_workers=2, progress=None, on_batch=on_batch
        )
    assert len(transport.requests) < 200  # the rest was never sent


@pytest.mark.parametrize("with_callback", [False, True], ids=["no-callback", "callback"])
def test_progress_lines_are_logged_unless_the_caller_counts(monkeypatch, caplog, with_callback):
    monkeypatch.setattr(_collections, "_PROGRESS_EVERY_S", 0.0)  # a line after every batch
    counted: list[int] = []
    with caplog.at_level(logging.INFO, logger=LOG.name):
        _writer(ScriptedTransport(_ok)).write(
            _records(10), batch_size=2, max_workers=1, progress=counted.append if with_callback else None
        )
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Progress:")]
    if with_callback:
        assert counted == [2] * 5 and lines == []  # the caller reports its own progress
    else:
        assert len(lines) == 5 and lines[-1].startswith("Progress: 10 of 10 rows (100.0%)")


@pytest.mark.parametrize(
    ("external_id_field", "method", "path", "idempotent"),
    [
        ("Id", "PATCH", "composite/sobjects", True),
        ("Ext__c", "PATCH", "composite/sobjects/Contact/Ext__c", True),
        (None, "POST", "composite/sobjects", False),
    ],
)
def test_operation_picks_method_path_and_idempotency(external_id_field, method, path, idempotent):
    transport = ScriptedTransport(_ok)
    _writer(transport, external_id_field, auto_assign=True).write(
        _records(3), batch_size=200, max_workers=1, progress=None
    )
    (sent,) = transport.requests
    assert (sent["method"], sent["path"], sent["idempotent"]) == (method, path, idempotent)
    assert sent["headers"] == {"Sforce-Auto-Assign": "TRUE"}
    assert sent["allOrNone"] is False


def test_the_duplicate_rule_header_goes_with_every_write_request():
    transport = ScriptedTransport(_ok)
    _writer(transport, None, duplicate_rules={"allow_save": True, "run_as_current_user": False}).write(
        _records(5), batch_size=2, max_workers=2, progress=None
    )
    assert len(transport.requests) == 3
    assert all(
        sent["headers"]["Sforce-Duplicate-Rule-Header"] == "allowSave=true; runAsCurrentUser=false"
        for sent in transport.requests
    )


def test_locked_records_alone_are_resent_until_written():
    locked_once: set[str] = set()

    def locks_each_odd_record_once(number, records):
        items = []
        for r in records:
            key = r["Ext__c"]
            if int(key.split("-")[1]) % 2 and key not in locked_once:
                locked_once.add(key)
                items.append(
                    {"success": False, "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked"}]}
                )
            else:
                items.append({"id": key, "success": True, "errors": []})
        return _response(200, items)

    transport = ScriptedTransport(locks_each_odd_record_once)
    results = _writer(transport).write(_records(10), batch_size=10, max_workers=1, progress=None)
    assert all(r.success for r in results)
    assert [len(req["records"]) for req in transport.requests] == [10, 5]
    assert {r["Ext__c"] for r in transport.requests[1]["records"]} == {f"ext-{i}" for i in (1, 3, 5, 7, 9)}


def test_lock_resends_are_bounded():
    def always_locked(number, records):
        return _response(
            200,
            [{"success": False, "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "x"}]}]
            * len(records),
        )

    transport = ScriptedTransport(always_locked)
    results = _writer(transport).write(_records(4), batch_size=200, max_workers=1, progress=None)
    assert len(transport.requests) == 1 + transport.policy.lock_retry_attempts
    assert [r.status_codes for r in results] == [("UNABLE_TO_LOCK_ROW",)] * 4


def test_request_limit_stops_sending_and_reports_exactly_the_unsent_records():
    def limit_after_three(number, records):
        if number > 3:
            raise SfCrmRequestLimitError(
                "TotalRequests Limit exceeded.", status=403, error_code="REQUEST_LIMIT_EXCEEDED"
            )
        return _ok(number, records)

    transport = ScriptedTransport(limit_after_three)
    results = _writer(transport).write(_records(100), batch_size=10, max_workers=1, progress=None)
    written = {r.index for r in results if r.success}
    assert written == set(range(30))
    assert all(r.status_codes == ("REQUEST_LIMIT_EXCEEDED",) for r in results if not r.success)
    assert len(transport.requests) == 4  # the refused one, then nothing more was sent


def test_insert_with_unknown_outcome_is_reported_not_resent():
    def drop_second(number, records):
        if number == 2:
            raise SfCrmOutcomeUnknownError(
                "connection lost after the request was sent", error_code="UNKNOWN_OUTCOME"
            )
        return _ok(number, records)

    transport = ScriptedTransport(drop_second)
    results = _writer(transport, None).write(_records(30), batch_size=10, max_workers=1, progress=None)
    assert [r.success for r in results] == [True] * 10 + [False] * 10 + [True] * 10
    assert {r.status_codes for r in results[10:20]} == {("UNKNOWN_OUTCOME",)}
    assert "not re-sent" in results[10].errors[0].message
    assert len(transport.requests) == 3


def test_whole_request_refusal_becomes_per_record_data():
    def refuse(number, records):
        return _response(400, [{"errorCode": "INVALID_FIELD", "message": "No such column 'Foo__c'"}])

    results = _writer(ScriptedTransport(refuse)).write(
        _records(3), batch_size=200, max_workers=2, progress=None
    )
    assert [r.status_codes for r in results] == [("INVALID_FIELD",)] * 3


def test_exhausted_transient_retries_become_per_record_data():
    def unavailable(number, records):
        raise SfCrmApiError("gave up", status=503, error_code="SERVER_UNAVAILABLE")

    results = _writer(ScriptedTransport(unavailable)).write(
        _records(3), batch_size=2, max_workers=2, progress=None
    )
    assert [r.status_codes for r in results] == [("SERVER_UNAVAILABLE",)] * 3


def test_a_bug_in_our_own_request_raises():
    def parser_error(number, records):
        return _response(400, [{"errorCode": "JSON_PARSER_ERROR", "message": "Unexpected character"}])

    with pytest.raises(SfCrmApiError, match="JSON_PARSER_ERROR"):
        _writer(ScriptedTransport(parser_error)).write(
            _records(3), batch_size=200, max_workers=1, progress=None
        )


@pytest.mark.parametrize(
    ("value", "code"),
    [(object(), "INVALID_TYPE_ON_FIELD_IN_RECORD"), (float("inf"), "NON_FINITE_NUMBER")],
)
def test_unsendable_value_fails_only_its_record(value, code):
    transport = ScriptedTransport(_ok)
    records = _records(3)
    records[1]["Blob__c"] = value
    results = _writer(transport).write(records, batch_size=200, max_workers=1, progress=None)
    assert [r.success for r in results] == [True, False, True]
    assert (results[1].status_codes, results[1].errors[0].fields) == ((code,), ("Blob__c",))
    assert len(transport.requests[0]["records"]) == 2


class LosingTransport(ScriptedTransport):
    """Like the real transport after a dropped connection: says so, then hands over the resend's answer."""

    def __init__(self, script, lost_calls):
        super().__init__(script)
        self.lost_calls = set(lost_calls)

    def request(self, method, path, *, on_lost_answer=None, **kwargs):
        response = super().request(method, path, **kwargs)
        if self.api_calls in self.lost_calls:
            on_lost_answer()
        return response


@pytest.mark.parametrize(("external_id_field", "unknown"), [("Ext__c", None), ("Id", True)])
def test_an_answer_lost_and_resent_leaves_an_upserts_created_flag_unknown(external_id_field, unknown):
    transport = LosingTransport(_ok, lost_calls={2})
    results = _writer(transport, external_id_field).write(
        _records(30), batch_size=10, max_workers=1, progress=None
    )
    assert all(r.success for r in results)
    assert [r.created for r in results] == [True] * 10 + [unknown] * 10 + [True] * 10


def test_a_stop_lets_the_batch_in_flight_finish_and_sends_nothing_more():
    stop = threading.Event()

    def stop_during_second(number, records):
        if number == 2:
            stop.set()
        return _ok(number, records)

    transport = ScriptedTransport(stop_during_second)
    results = _writer(transport).write(_records(50), batch_size=10, max_workers=1, progress=None, stop=stop)
    assert [r.success for r in results] == [True] * 20 + [False] * 30
    assert {r.status_codes for r in results[20:]} == {("TASK_STOPPED",)}
    assert len(transport.requests) == 2


@pytest.mark.parametrize(
    ("count", "script", "line"),
    [
        (195, _ok, "Contact upsert: 195 records in 1 batch: 195 succeeded, 0 failed; 1 API call in "),
        (1, _ok, "Contact upsert: 1 record in 1 batch: 1 succeeded, 0 failed; 1 API call in "),
        (
            400,
            lambda number, records: _response(
                200,
                [
                    {"success": False, "errors": [{"statusCode": "ENTITY_IS_DELETED", "message": "deleted"}]}
                    if i == 0
                    else {"id": r["Ext__c"], "success": True, "errors": [], "created": True}
                    for i, r in enumerate(records)
                ],
            ),
            "Contact upsert: 400 records in 2 batches: 398 succeeded, 2 failed (ENTITY_IS_DELETED 2); "
            "2 API calls in ",
        ),
    ],
)
def test_the_summary_line_reads_as_english(caplog, count, script, line):
    with caplog.at_level(logging.INFO, logger=LOG.name):
        _writer(ScriptedTransport(script)).write(
            _records(count), batch_size=200, max_workers=1, progress=None
        )
    assert line in caplog.text


def test_max_workers_capped_at_25_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        _writer(ScriptedTransport(_ok)).write(_records(2), batch_size=1, max_workers=100, progress=None)
    assert "capped at 25" in caplog.text


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_bad_max_workers_refused(workers):
    with pytest.raises(ValueError, match="max_workers"):
        _writer(ScriptedTransport(_ok)).write(_records(2), batch_size=1, max_workers=workers, progress=None)


@pytest.mark.parametrize(("sobject", "field"), [("Contact;DROP", "Ext__c"), ("Contact", "Ext__c/../x")])
def test_names_are_validated_before_any_url_is_built(sobject, field):
    with pytest.raises(ValueError, match="invalid Salesforce"):
        CollectionsWriter(
            ScriptedTransport(_ok), sobject, field, all_or_none=False, auto_assign=False, log=LOG
        )


@pytest.mark.parametrize(
    ("external_id_field", "code"), [(None, "UNKNOWN_OUTCOME"), ("Ext__c", "UNREADABLE_RESPONSE")]
)
def test_an_answer_without_one_result_per_record_is_reported(external_id_field, code):
    def short(number, records):
        return _response(200, [{"id": "x", "success": True, "errors": []}])

    results = _writer(ScriptedTransport(short), external_id_field).write(
        _records(3), batch_size=200, max_workers=1, progress=None
    )
    assert [r.status_codes for r in results] == [(code,)] * 3
