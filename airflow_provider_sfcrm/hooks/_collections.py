"""The sObject Collections write engine behind ``SalesforceCrmHook.upsert_records``.

Batches of at most 200 records go out concurrently; every input record comes back as exactly
one ``RecordResult`` at its input position. Whole-request faults are handled by the transport;
this module adds the per-record policy: ``UNABLE_TO_LOCK_ROW`` records are re-sent (bounded,
with backoff), ``REQUEST_LIMIT_EXCEEDED`` stops all further sending, a caller's ``stop`` event
lets the requests in flight finish and sends no more (the rest come back ``TASK_STOPPED``), and
anything that cannot be written becomes a failed result with a status code — never an
exception, never a gap. An upsert answered only after a resend (the first answer lost) reports
``created=None``: the second answer says "updated" for a record the first attempt may have created.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from typing import Any

from tenacity import Retrying, retry_if_result, stop_after_attempt

from airflow_provider_sfcrm.activation.batching import (
    MAX_WORKERS,
    auto_assign_header,
    batch_ranges,
    count_by_code,
    duplicate_rule_header,
    to_api_record,
)
from airflow_provider_sfcrm.activation.json_values import UnsendableValueError
from airflow_provider_sfcrm.activation.names import validate_api_name
from airflow_provider_sfcrm.activation.progress import ProgressReporter
from airflow_provider_sfcrm.activation.results import (
    REQUEST_LIMIT_EXCEEDED,
    TASK_STOPPED,
    UNKNOWN_OUTCOME,
    RecordResult,
)
from airflow_provider_sfcrm.activation.wording import plural
from airflow_provider_sfcrm.exceptions import SfCrmApiError, SfCrmOutcomeUnknownError, SfCrmRequestLimitError
from airflow_provider_sfcrm.hooks._transport import RestTransport, api_error

LOCKED = "UNABLE_TO_LOCK_ROW"
ROLLED_BACK = "ALL_OR_NONE_OPERATION_ROLLED_BACK"
# Whole-request errors that can only come from a bug in how we build requests: raise, don't report.
_OUR_BUGS = {"JSON_PARSER_ERROR", "EXCEEDED_ID_LIMIT", "HTTP_415", "METHOD_NOT_ALLOWED"}
_PROGRESS_EVERY_S = 10.0


class CollectionsWriter:
    """Write one list of records of one sObject type (see ``SalesforceCrmHook.upsert_records``)."""

    def __init__(
        self,
        transport: RestTransport,
        sobject: str,
        external_id_field: str | None,
        *,
        all_or_none: bool,
        auto_assign: bool | str,
        log: logging.Logger,
        duplicate_rules: Mapping[str, Any] | None = None,
    ):
        self.transport = transport
        self.sobject = validate_api_name(sobject, "object name")
        self.all_or_none = bool(all_or_none)
        self.log = log
        self.headers = {"Sforce-Auto-Assign": auto_assign_header(auto_assign)}
        duplicates = duplicate_rule_header(duplicate_rules)
        if duplicates is not None:
            self.headers["Sforce-Duplicate-Rule-Header"] = duplicates
        if external_id_field is None:
            self.operation, self.path = "insert", "composite/sobjects"
        elif external_id_field == "Id":
            self.operation, self.path = "update", "composite/sobjects"
        else:  # upsert on an external-id field
            field = validate_api_name(external_id_field, "external-id field name")
            self.operation, self.path = "upsert", f"composite/sobjects/{self.sobject}/{field}"
        # An insert (POST) must never be sent twice; updates and upserts (PATCH) may be resent.
        self.idempotent = self.operation != "insert"
        self.method = "PATCH" if self.idempotent else "POST"
        self._limit_reached = threading.Event()
        self._stopped = threading.Event()

    def write(
        self,
        records: Sequence[Mapping[str, Any]],
        *,
        batch_size: int,
        max_workers: int,
        progress: Callable[[int], None] | None,
        stop: threading.Event | None = None,
        on_batch: Callable[[int, list[RecordResult]], None] | None = None,
    ) -> list[RecordResult]:
        if stop is not None:
            self._stopped = stop
        ranges = batch_ranges(len(records), batch_size)
        if isinstance(max_workers, bool) or not isinstance(max_workers, int) or max_workers < 1:
            raise ValueError(f"max_workers must be a positive integer, got {max_workers!r}")
        if max_workers > MAX_WORKERS:
            self.log.warning(
                "max_workers=%d capped at %d: Salesforce refuses more concurrent long-running requests",
                max_workers,
                MAX_WORKERS,
            )
            max_workers = MAX_WORKERS
        started, calls_before = time.monotonic(), self.transport.api_calls
        results: list[RecordResult | None] = [None] * len(records)
        if progress is None:  # nobody above counts: log progress lines here (a caller's callback does)
            progress = ProgressReporter(len(records), self.log.info, interval_s=_PROGRESS_EVERY_S).advance
        pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="sfcrm-batch")
        # A window of max_workers requests: the next one is submitted only once a finished one has been
        # reported, so at any moment at most max_workers requests are written but not yet reported —
        # what a caller recording results in on_batch can lose when the process is killed.
        waiting = iter(enumerate(ranges, start=1))
        running: dict[Future, range] = {}

        def submit_next() -> None:
            batch = next(waiting, None)
            if batch is not None:
                number, indices = batch
                running[pool.submit(self._write_batch, number, records, indices, results)] = indices

        try:
            for _ in range(max_workers):
                submit_next()
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()  # a bug or an auth failure: raise, after cancelling the rest
                    indices = running.pop(future)
                    if on_batch is not None:  # in the caller's thread: it may record to its own connection
                        on_batch(indices.start, results[indices.start : indices.stop])  # type: ignore[arg-type]
                    progress(len(indices))
                    submit_next()
        except BaseException:
            self._limit_reached.set()  # stop the other workers before their next request
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        final = [result for result in results if result is not None]
        if len(final) != len(records):  # pragma: no cover - guarded by construction
            raise SfCrmApiError(f"internal error: {len(records) - len(final)} records have no result")
        self._log_summary(
            final, len(ranges), self.transport.api_calls - calls_before, time.monotonic() - started
        )
        return final

    # -- one batch ------------------------------------------------------------------------------

    def _write_batch(
        self, number: int, records: Sequence[Mapping[str, Any]], indices: range, results: list
    ) -> None:
        if self._halted():
            for index in indices:
                results[index] = self._not_sent(index)
            return
        payload: dict[int, dict[str, Any]] = {}
        for index in indices:
            try:
                payload[index] = to_api_record(records[index], self.sobject)
            except UnsendableValueError as exc:
                results[index] = RecordResult.failure(index, exc.code, f"record {index}: {exc}", [exc.field])
        to_send = list(payload)
        label = f"{self.sobject} batch {number}"
        policy = self.transport.policy

        def send_round() -> list[int]:
            nonlocal to_send
            to_send = self._send(label, to_send, payload, results) if to_send else []
            return to_send

        if not to_send:
            return
        # First round plus `lock_retry_attempts` re-sends of the records that were locked.
        Retrying(
            retry=retry_if_result(bool),
            stop=stop_after_attempt(policy.lock_retry_attempts + 1),
            wait=policy.backoff(),
            before_sleep=lambda state: self.log.info(
                "%s: %s locked (UNABLE_TO_LOCK_ROW); re-sending, retry %d of %d",
                label,
                plural(len(to_send), "record"),
                state.attempt_number,
                policy.lock_retry_attempts,
            ),
            retry_error_callback=lambda state: state.outcome.result(),
        )(send_round)

    def _send(self, label: str, indices: list[int], payload: dict[int, dict], results: list) -> list[int]:
        """Send ``indices`` once; fill their results; return those to re-send (locked rows)."""
        if self._halted():
            for index in indices:
                results[index] = self._not_sent(index)
            return []
        body = {"allOrNone": self.all_or_none, "records": [payload[index] for index in indices]}
        answer_lost = threading.Event()
        try:
            response = self.transport.request(
                self.method,
                self.path,
                json=body,
                headers=self.headers,
                idempotent=self.idempotent,
                label=label,
                on_lost_answer=answer_lost.set,
            )
        except SfCrmRequestLimitError:
            self._limit_reached.set()  # no further batch is sent; those records come back as not sent
            self.log.warning("%s: REQUEST_LIMIT_EXCEEDED; stopping all further writes", label)
            for index in indices:
                results[index] = self._not_sent(index)
            return []
        except SfCrmOutcomeUnknownError as exc:
            for index in indices:
                results[index] = RecordResult.failure(
                    index,
                    UNKNOWN_OUTCOME,
                    f"insert not confirmed: {exc}. Salesforce may or may not have created this record; "
                    "it was not re-sent to avoid a duplicate — check before writing it again",
                )
            return []
        except SfCrmApiError as exc:
            if exc.error_code in _OUR_BUGS:
                raise
            for index in indices:
                results[index] = RecordResult.failure(index, exc.error_code or "UNKNOWN_ERROR", str(exc))
            return []
        if response.status_code in (200, 201):
            try:
                items = response.json()
            except ValueError:
                items = None
            if not isinstance(items, list) or len(items) != len(indices):
                # Written or not, we cannot tell which: say so per record rather than guess.
                code = UNKNOWN_OUTCOME if not self.idempotent else "UNREADABLE_RESPONSE"
                for index in indices:
                    results[index] = RecordResult.failure(
                        index, code, f"{label}: Salesforce's answer did not list one result per record"
                    )
                return []
            for index, item in zip(indices, items, strict=True):
                result = RecordResult.from_api(index, item)
                if answer_lost.is_set() and self.operation == "upsert" and result.success:
                    result = replace(result, created=None)  # the lost first answer may have said "created"
                results[index] = result
            return self._to_retry(indices, results)
        code, message = api_error(response)
        if code in _OUR_BUGS or response.status_code == 415:
            raise SfCrmApiError(f"{label}: {code}: {message}", status=response.status_code, error_code=code)
        # The whole request was refused for a reason about the data or the org: report it per record.
        for index in indices:
            results[index] = RecordResult.failure(index, code, message)
        return []

    def _to_retry(self, indices: list[int], results: list) -> list[int]:
        locked = [index for index in indices if LOCKED in results[index].status_codes]
        if not self.all_or_none or not locked:
            return locked
        # allOrNone: a lock rolled the others back; re-send all if nothing else went wrong.
        failed = [results[index] for index in indices if not results[index].success]
        if all(set(result.status_codes) <= {LOCKED, ROLLED_BACK} for result in failed):
            return list(indices)
        return []

    def _halted(self) -> bool:
        return self._limit_reached.is_set() or self._stopped.is_set()

    def _not_sent(self, index: int) -> RecordResult:
        if self._limit_reached.is_set():
            return RecordResult.failure(
                index,
                REQUEST_LIMIT_EXCEEDED,
                "not written: Salesforce refused further API calls (REQUEST_LIMIT_EXCEEDED); safe to re-send",
            )
        return RecordResult.failure(
            index, TASK_STOPPED, "not sent: the task was stopped before this record was sent; safe to re-send"
        )

    def _log_summary(self, results: list[RecordResult], batches: int, calls: int, elapsed: float) -> None:
        failures = count_by_code(
            [
                result.status_codes[0] if result.errors else "UNKNOWN_ERROR"
                for result in results
                if not result.success
            ]
        )
        usage = self.transport.api_usage
        failed = sum(failures.values())
        by_code = ", ".join(f"{code} {count:,}" for code, count in failures.items())
        self.log.info(
            "%s %s: %s in %s: %s succeeded, %s failed%s; %s in %.1fs; daily API usage %s",
            self.sobject,
            self.operation,
            plural(len(results), "record"),
            plural(batches, "batch"),
            f"{len(results) - failed:,}",
            f"{failed:,}",
            f" ({by_code})" if by_code else "",
            plural(calls, "API call"),
            elapsed,
            f"{usage[0]:,} of {usage[1]:,}" if usage else "unknown",
        )
