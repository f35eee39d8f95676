"""One extract, start to end: plan (describe, columns, where, count, API, quota), read, write, publish.

Kept apart from the operator, which only deals with Airflow (arguments, the interval, waiting, Assets,
the summary), so the steps read top to bottom here. Planning (:meth:`ExtractRun.plan`) and reading
(:meth:`ExtractRun.read`) are separate steps: a deferrable Bulk read plans, creates its query job
(:meth:`ExtractRun.start_bulk_read`) and hands a :class:`DeferredRead` to the triggerer; the resumed
task re-describes the object, rebuilds the columns by name and reads the job's results through the
same :meth:`ExtractRun.read` (:meth:`ExtractRun.resume`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_sfcrm.activation.progress import ProgressReporter
from airflow_provider_sfcrm.exceptions import SfCrmApiError, SfCrmConfigError
from airflow_provider_sfcrm.extraction.dedup import UniqueRows, count_true
from airflow_provider_sfcrm.extraction.output import FileSetWriter
from airflow_provider_sfcrm.extraction.plan import QuotaGuard, choose_api, planned_calls
from airflow_provider_sfcrm.extraction.schema import Column, ColumnError, arrow_schema, select_columns
from airflow_provider_sfcrm.extraction.soql import build_count, build_query
from airflow_provider_sfcrm.extraction.where import WhereError, validate_where
from airflow_provider_sfcrm.extraction.window import ExtractWindow
from airflow_provider_sfcrm.hooks._bulk2_query import check_complete
from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
from airflow_provider_sfcrm.operators import _extract_readers
from airflow_provider_sfcrm.operators._export_lineage import fields_written
from airflow_provider_sfcrm.sources import resolve_filesystem

#: Identifies the layout of a file set in its manifest.
FORMAT = "sfcrm-extract/1"


@dataclass(frozen=True)
class ExtractResult:
    rows: int
    deleted: int
    duplicates_dropped: int
    files: list[str]
    api: str
    output_path: str
    #: ``(name, type, label)`` of the fields read, for lineage.
    fields: list[tuple[str, str, str]]


@dataclass(frozen=True)
class ExtractPlan:
    """What planning decided: all a read needs.

    :param describe: the object's describe (lineage takes the fields' types and labels from it).
    :param columns: the columns read, in file order.
    :param query: the SOQL, ordered by Id.
    :param expected: the rows the ``COUNT()`` found.
    :param api: ``"rest"`` or ``"bulk"``.
    :param include_deleted: ``queryAll`` (an increment: deletions are news) or ``query`` (a full refresh).
    """

    describe: dict[str, Any]
    columns: list[Column]
    query: str
    expected: int
    api: str
    include_deleted: bool


@dataclass(frozen=True)
class DeferredRead:
    """What crosses the deferral while a Bulk API 2.0 query job runs: plain JSON values only (the
    metadata database keeps them), enough to read the job's results in another worker.

    :param interval: the window's :meth:`~..extraction.window.ExtractWindow.describe`.
    :param columns: the columns' names, in file order; their types come from a new describe.
    :param api_calls: the worker's API calls before the deferral (the summary adds them up).
    :param started_at: when the task started (epoch seconds), for the summary's duration.
    """

    sobject: str
    output_path: str
    interval: dict[str, str | None]
    job_id: str
    query: str
    columns: list[str]
    expected: int
    include_deleted: bool
    api_calls: int
    started_at: float


class ExtractRun:
    """Extracts ``sobject``'s rows of ``window`` into a file set at ``output_path``.

    :param hook: the connection's hook (its API calls are the run's).
    :param columns: requested fields, None for all; ``where`` the user's extra condition.
    :param api: ``auto`` / ``rest`` / ``bulk``; ``max_api_share`` the quota guard's share.
    """

    def __init__(
        self,
        hook: SalesforceCrmHook,
        sobject: str,
        window: ExtractWindow,
        *,
        output_path: str,
        columns: list[str] | None,
        where: str | None,
        api: str,
        max_api_share: float | None,
        bulk_threshold: int,
        rows_per_file: int,
        log: logging.Logger | Any,
    ) -> None:
        self.hook = hook
        self.sobject = sobject
        self.window = window
        self.output_path = output_path
        self.requested = columns
        self.where = where
        self.api = api
        self.guard = QuotaGuard(max_api_share)
        self.bulk_threshold = bulk_threshold
        self.rows_per_file = rows_per_file
        self.log = log
        self.what = f"{sobject} extract"

    def run(self) -> ExtractResult:
        """Plan and read in this process (REST, or Bulk waiting for its job here)."""
        return self.read(self.plan())

    def plan(self) -> ExtractPlan:
        """Describe, choose the columns, check ``where``, count, choose the API, check the quota."""
        describe = self.hook.describe_object(self.sobject)
        try:
            columns = select_columns(describe, self.requested)
            where = validate_where(self.where, describe)
        except (ColumnError, WhereError, ValueError) as exc:
            raise SfCrmConfigError(str(exc)) from exc
        include_deleted = not self.window.full_refresh  # deletions are news to an increment only
        expected = self.hook.count_records(
            build_count(self.sobject, self.window, where), include_deleted=include_deleted
        )
        api = choose_api(self.api, expected, bulk_threshold=self.bulk_threshold)
        if self.guard.max_share is not None:
            used, allocation = self.hook.daily_api_usage()
            self.guard.check_before(used, allocation, planned_calls(expected, api), self.what)
        query = build_query(self.sobject, [c.name for c in columns], self.window, where)
        span = self.window.describe()
        self.log.info(
            "Extracting %s rows stamped in [%s, %s): %d expected, through %s (%s)",
            self.sobject,
            span["start"] or "the beginning",
            span["end"],
            expected,
            api.upper(),
            "queryAll" if include_deleted else "query",
        )
        return ExtractPlan(describe, columns, query, expected, api, include_deleted)

    def start_bulk_read(self, plan: ExtractPlan, *, started_at: float) -> DeferredRead:
        """Create the plan's Bulk API 2.0 query job; what reading it takes once it has ended."""
        job_id = _extract_readers.start_query_job(self.hook, plan.query, include_deleted=plan.include_deleted)
        self._check_quota(f"0 of {plan.expected} rows")
        return DeferredRead(
            sobject=self.sobject,
            output_path=self.output_path,
            interval=self.window.describe(),
            job_id=job_id,
            query=plan.query,
            columns=[c.name for c in plan.columns],
            expected=plan.expected,
            include_deleted=plan.include_deleted,
            api_calls=self.hook.api_calls,
            started_at=started_at,
        )

    def resume(self, deferred: DeferredRead, event: Mapping[str, Any] | None) -> ExtractResult:
        """Read the query job ``deferred`` waited for, once the trigger's ``event`` says it is complete.

        :raises SfCrmApiError: the wait failed or timed out, or the job failed or was aborted (with
            Salesforce's ``errorMessage``); the job is then aborted if it still runs, and deleted.
        :raises SfCrmConfigError: a column of the job is no longer on the object (or visible).
        """
        job_id = deferred.job_id
        with _extract_readers.discarded_on_error(self.hook.bulk2_query_jobs(), job_id):
            info = _completed_job(event, job_id)
            self.log.info(
                "Bulk query job %s complete: %s rows; reading its results",
                job_id,
                info.get("numberRecordsProcessed"),
            )
            describe = self.hook.describe_object(self.sobject)
            columns = _columns_by_name(describe, deferred.columns, job_id)
            self._check_quota(f"0 of {deferred.expected} rows")
        plan = ExtractPlan(
            describe, columns, deferred.query, deferred.expected, "bulk", deferred.include_deleted
        )
        return self.read(plan, job_id=job_id)

    def read(self, plan: ExtractPlan, *, job_id: str | None = None) -> ExtractResult:
        """Read the plan's rows, dedup them and write the file set (it appears once complete).

        :param job_id: a Bulk API 2.0 query job of the plan's query that has ended: read its results
            (a resumed task); None runs the whole read here.
        """
        columns, expected = plan.columns, plan.expected
        schema = arrow_schema(columns, {"sfcrm.sobject": self.sobject, "sfcrm.format": FORMAT})
        fs, target = resolve_filesystem(self.output_path)
        progress = ProgressReporter(expected, self.log.info)
        reader = _extract_readers.reader_for(
            plan.api,
            self.hook,
            columns,
            schema,
            lambda: self._check_quota(f"{progress.done} of {expected} rows"),
        )
        if job_id is None:
            batches = reader.batches(plan.query, include_deleted=plan.include_deleted)
        else:
            assert isinstance(reader, _extract_readers.Bulk2RecordReader)
            batches = reader.results(job_id)
        unique = UniqueRows()
        deleted = 0
        try:
            writer = FileSetWriter(fs, target, schema, rows_per_file=self.rows_per_file)
        except ValueError as exc:
            raise SfCrmConfigError(str(exc)) from exc
        with writer:
            for batch in batches:
                batch = unique(batch)
                writer.write(batch)
                deleted += count_true(batch, "IsDeleted")
                progress.advance(batch.num_rows)
                if progress.done < expected:
                    self._check_quota(f"{progress.done} of {expected} rows")
            names = writer.commit(
                {
                    "format": FORMAT,
                    "sobject": self.sobject,
                    "interval": self.window.describe(),
                    "full_refresh": self.window.full_refresh,
                    "columns": [c.name for c in columns],
                    "soql": plan.query,
                    "deleted": deleted,
                }
            )
        progress.finish()
        files = [f"{self.output_path.rstrip('/')}/{name}" for name in names]
        if writer.rows != expected:
            # Records changed since the count (a later change moves a record out of the window).
            self.log.info("Wrote %d rows where the count said %d", writer.rows, expected)
        return ExtractResult(
            rows=writer.rows,
            deleted=deleted,
            duplicates_dropped=unique.dropped,
            files=files,
            api=plan.api,
            output_path=self.output_path,
            fields=fields_written([c.name for c in columns], plan.describe),
        )

    def _check_quota(self, done: str) -> None:
        usage = self.hook.api_usage
        if usage is not None:
            self.guard.check_during(usage[0], usage[1], self.what, done)


def _completed_job(event: Mapping[str, Any] | None, job_id: str) -> dict[str, Any]:
    """The info of ``job_id`` in the trigger's event, when the job is complete.

    :raises SfCrmApiError: the wait ended in error or timeout, or the job failed or was aborted.
    """
    event = event or {}
    status = event.get("status")
    if status != "success":
        raise SfCrmApiError(
            f"waiting for Bulk API 2.0 query job {job_id} ended in {status or 'no event'}: "
            f"{event.get('message') or 'no reason given'}. A retry of the task creates a new job",
            error_code=f"WAIT_{str(status).upper()}",
        )
    info = (event.get("jobs") or {}).get(job_id)
    if not info:
        raise SfCrmApiError(f"the trigger's event does not report Bulk API 2.0 query job {job_id}")
    return check_complete(job_id, dict(info))


def _columns_by_name(describe: Mapping[str, Any], names: list[str], job_id: str) -> list[Column]:
    """The columns named ``names``, in that order, typed by ``describe``: those of the query job."""
    try:
        found = {c.name.lower(): c for c in select_columns(describe, names)}
    except ColumnError as exc:
        raise SfCrmConfigError(
            f"{exc}: the field changed while Bulk API 2.0 query job {job_id} ran; "
            "a retry of the task plans the extract again"
        ) from exc
    return [found[name.lower()] for name in names]
