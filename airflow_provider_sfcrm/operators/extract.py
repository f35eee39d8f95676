"""Extracts a Salesforce object into Parquet, one data interval at a time (Salesforce as a source)."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, AssetAlias, BaseOperator

from airflow_provider_sfcrm.assets import SCHEME, extract_alias, salesforce_asset
from airflow_provider_sfcrm.exceptions import SfCrmConfigError, SfCrmQuotaError
from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

# pyarrow, fsspec and the extraction core are imported when the task runs: DAG files that import
# this module must parse fast.
if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_sfcrm.extraction.window import ExtractWindow
    from airflow_provider_sfcrm.operators._extract_run import DeferredRead, ExtractResult, ExtractRun

UTC = dt.timezone.utc
#: The trigger's first pause between polls of a Bulk API 2.0 query job; it doubles up to the second.
POLL_INTERVAL_S = 1.0
MAX_POLL_INTERVAL_S = 30.0


def _now() -> dt.datetime:
    return dt.datetime.now(UTC)


class SalesforceExtractOperator(BaseOperator):
    """Writes the records of one Salesforce object changed in the data interval to a Parquet file set.

    The interval owns the row versions whose ``SystemModstamp`` is in ``[data_interval_start,
    data_interval_end)``: each change lands in exactly one interval, one stamped on a boundary in the
    interval that starts there. Deleted records of the interval come too (``queryAll``), with
    ``IsDeleted`` true. Salesforce stamps a row when its transaction starts and shows it when it
    commits, so the interval is read only once its end is ``settle`` in the past (the task defers until
    then): the overlap between an interval and the next one's run is what catches late commits without
    ever writing a row twice. Keeping the latest version of each Id over all file sets, and dropping
    the deleted ones, gives the object as the org holds it; re-running an interval rewrites its file set
    with the same content while nothing in it changed.

    :param sobject: API name of the object, e.g. ``Contact`` (templated).
    :param output_path: the interval's directory, local or any fsspec / ObjectStoragePath URL
        (templated), e.g. ``s3://lake/salesforce/Contact/{{ data_interval_start | ts_nodash }}``. It
        receives ``part-00000.parquet``... and ``_manifest.json``, replacing any earlier run's set.
    :param columns: fields to extract (templated; a list or a comma-separated text); default every field
        the user can read. Compound fields (addresses) are read as their components. ``Id``,
        ``SystemModstamp`` and ``IsDeleted`` are always included.
    :param where: an extra SOQL condition (templated), e.g. ``"LeadSource = 'Web'"``; validated against
        the object's fields, and anything but a condition is refused.
    :param api: ``"auto"`` (counts first, Bulk API 2.0 from ``bulk_threshold`` rows), ``"rest"`` or
        ``"bulk"``; both write the same bytes. A Bulk read creates a query job and, when deferrable,
        waits for it in the triggerer, then reads its results (``execute_bulk_query_complete``); a retry
        after a crash creates a new job (reading is idempotent).
    :param full_refresh: read every live record stamped before the interval's end instead (templated).
    :param max_api_share: keep the org's daily API usage at or below this fraction of its allocation:
        checked before reading (with the planned calls) and after every page (and every poll of a Bulk
        job polled in the worker); the task stops with ``SfCrmQuotaError`` and writes nothing. None
        (default) does not check.
    :param settle: how long after the interval's end its rows may still appear (long transactions).
    :param bulk_threshold: rows from which ``api="auto"`` reads through Bulk API 2.0.
    :param rows_per_file: rows per Parquet part.
    :param deferrable: wait in the triggerer instead of in a worker slot: for ``settle``, and for the
        Bulk API 2.0 query job to end (the task's ``execution_timeout``, from the try's start, bounds
        that wait; the job is then aborted). ``False`` sleeps, and polls the job, in the worker.
    :param sfcrm_conn_id: the Salesforce CRM connection.
    """

    template_fields: Sequence[str] = ("sobject", "output_path", "columns", "where", "full_refresh")
    template_fields_renderers = {"where": "sql", "columns": "json"}
    ui_color = "#d9e8f5"

    def __init__(
        self,
        *,
        sobject: str,
        output_path: str,
        columns: Sequence[str] | str | None = None,
        where: str | None = None,
        api: str = "auto",
        full_refresh: bool | str = False,
        max_api_share: float | None = None,
        settle: dt.timedelta = dt.timedelta(minutes=10),
        bulk_threshold: int = 100_000,
        rows_per_file: int = 1_000_000,
        deferrable: bool = True,
        sfcrm_conn_id: str = "sfcrm_default",
        **kwargs: Any,
    ) -> None:
        if not kwargs.get("outlets") and "{{" not in sobject:
            # Runs announce themselves on this alias, attached to salesforce://<org id>/<object>.
            kwargs["outlets"] = [extract_alias(sfcrm_conn_id, sobject)]
        super().__init__(**kwargs)
        self.sobject = sobject
        self.output_path = output_path
        self.columns = columns
        self.where = where
        self.api = api
        self.full_refresh = full_refresh
        self.max_api_share = max_api_share
        self.settle = settle
        self.bulk_threshold = bulk_threshold
        self.rows_per_file = rows_per_file
        self.deferrable = deferrable
        self.sfcrm_conn_id = sfcrm_conn_id
        self._lineage: tuple[Any, Any] | None = None

    # -- Airflow entry points -------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        window = self._window(context)
        ready = window.ready_at(self.settle)
        if _now() < ready:
            self._wait_until(ready)
        return self._extract(context, window)

    def execute_complete(self, context: Context, event: Any = None) -> dict[str, Any]:
        """Back from the triggerer: the interval has settled."""
        return self._extract(context, self._window(context))

    def _wait_until(self, ready: dt.datetime) -> None:
        self.log.info("The interval settles at %s; waiting until then", ready.isoformat())
        if self.deferrable:
            from airflow.providers.standard.triggers.temporal import DateTimeTrigger

            self.defer(trigger=DateTimeTrigger(moment=ready), method_name="execute_complete")
        while (left := (ready - _now()).total_seconds()) > 0:
            time.sleep(min(left, 30.0))

    # -- arguments ------------------------------------------------------------------------------

    def _window(self, context: Context) -> ExtractWindow:
        from airflow_provider_sfcrm.extraction.plan import APIS, QuotaGuard
        from airflow_provider_sfcrm.extraction.window import ExtractWindow
        from airflow_provider_sfcrm.operators._export_support import as_bool

        for name, value in (("sobject", self.sobject), ("output_path", self.output_path)):
            if not isinstance(value, str) or not value.strip():
                raise SfCrmConfigError(f"{name} must be a non-empty text, not {value!r}")
        if self.api not in APIS:
            raise SfCrmConfigError(f"api must be one of {', '.join(APIS)}, not {self.api!r}")
        if not isinstance(self.settle, dt.timedelta) or self.settle < dt.timedelta(0):
            raise SfCrmConfigError(f"settle must be a timedelta of zero or more, not {self.settle!r}")
        for name in ("bulk_threshold", "rows_per_file"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SfCrmConfigError(f"{name} must be a positive integer, not {value!r}")
        try:
            QuotaGuard(self.max_api_share)
            return ExtractWindow.of_interval(
                context.get("data_interval_start"),
                context.get("data_interval_end"),
                full_refresh=as_bool(self.full_refresh, "full_refresh"),
            )
        except ValueError as exc:
            raise SfCrmConfigError(str(exc)) from exc

    def _requested_columns(self) -> list[str] | None:
        columns = self.columns
        if columns is None or columns == "" or columns == []:
            return None
        if isinstance(columns, str):
            text = columns.strip()
            columns = json.loads(text) if text.startswith("[") else [c for c in text.split(",") if c.strip()]
        if not isinstance(columns, (list, tuple)) or not all(isinstance(c, str) for c in columns):
            raise SfCrmConfigError(f"columns must be a list of field names, not {self.columns!r}")
        return [c.strip() for c in columns]

    # -- the extract ----------------------------------------------------------------------------

    def _extract(self, context: Context, window: ExtractWindow) -> dict[str, Any]:
        started = time.time()
        hook = SalesforceCrmHook(sfcrm_conn_id=self.sfcrm_conn_id)
        run = self._run(hook, self.sobject.strip(), window, self.output_path.strip())
        with _quota_stops():
            plan = run.plan()
            if plan.api == "bulk" and self.deferrable:
                self._defer_to_query_job(run.start_bulk_read(plan, started_at=started))
            result = run.read(plan)
        return self._conclude(context, hook, run, result, started)

    def _defer_to_query_job(self, deferred: DeferredRead) -> None:
        """Free the worker while Salesforce runs the query job: the triggerer polls it."""
        from airflow_provider_sfcrm.operators._wait_deadline import wait_deadline
        from airflow_provider_sfcrm.triggers.bulk_job import SalesforceBulkJobTrigger

        self.log.info("Deferring until Bulk API 2.0 query job %s ends", deferred.job_id)
        self.defer(
            trigger=SalesforceBulkJobTrigger(
                sfcrm_conn_id=self.sfcrm_conn_id,
                job_ids=[deferred.job_id],
                expected_records=[deferred.expected],
                poll_interval=POLL_INTERVAL_S,
                max_poll_interval=MAX_POLL_INTERVAL_S,
                deadline=wait_deadline(self.execution_timeout, deferred.started_at),
                kind="query",
            ),
            method_name="execute_bulk_query_complete",
            kwargs={"extract": dataclasses.asdict(deferred)},
            timeout=self.execution_timeout,
        )

    def execute_bulk_query_complete(
        self, context: Context, event: Any = None, *, extract: dict[str, Any]
    ) -> dict[str, Any]:
        """Back from the triggerer: the Bulk API 2.0 query job has ended; read its results, write the
        file set, announce it (``extract`` is the :class:`~._extract_run.DeferredRead` the task saved)."""
        from airflow_provider_sfcrm.extraction.window import ExtractWindow
        from airflow_provider_sfcrm.operators._extract_run import DeferredRead

        deferred = DeferredRead(**extract)
        if isinstance(event, dict) and event.get("status") == "timeout":
            from airflow_provider_sfcrm.operators._wait_deadline import timed_out_note

            event = {**event, "message": f"{event.get('message')}: {timed_out_note(self.execution_timeout)}"}
        hook = SalesforceCrmHook(sfcrm_conn_id=self.sfcrm_conn_id)
        window = ExtractWindow.from_description(deferred.interval)
        run = self._run(hook, deferred.sobject, window, deferred.output_path)
        with _quota_stops():
            result = run.resume(deferred, event)
        return self._conclude(context, hook, run, result, deferred.started_at, calls=deferred.api_calls)

    def _run(
        self, hook: SalesforceCrmHook, sobject: str, window: ExtractWindow, output_path: str
    ) -> ExtractRun:
        from airflow_provider_sfcrm.operators._extract_run import ExtractRun

        return ExtractRun(
            hook,
            sobject,
            window,
            output_path=output_path,
            columns=self._requested_columns(),
            where=self.where,
            api=self.api,
            max_api_share=self.max_api_share,
            bulk_threshold=self.bulk_threshold,
            rows_per_file=self.rows_per_file,
            log=self.log,
        )

    def _conclude(
        self,
        context: Context,
        hook: SalesforceCrmHook,
        run: ExtractRun,
        result: ExtractResult,
        started: float,
        calls: int = 0,
    ) -> dict[str, Any]:
        """The summary (``calls``: the worker's API calls before a deferral); the Asset event, lineage and
        log of a written file set."""
        usage = hook.api_usage
        asset = salesforce_asset(hook.org_id, run.sobject)
        summary = {
            "sobject": run.sobject,
            "rows": result.rows,
            "deleted": result.deleted,
            "duplicates_dropped": result.duplicates_dropped,
            "files": result.files,
            "api": result.api,
            # The worker's calls, before a deferral and after it; the triggerer's polls are its own.
            "api_calls": calls + hook.api_calls,
            "api_usage": {"used": usage[0], "max": usage[1]} if usage else None,
            "interval": run.window.describe(),
            "full_refresh": run.window.full_refresh,
            "output_path": result.output_path,
            "asset": asset.uri,
            "duration_s": round(time.time() - started, 3),
        }
        self._announce(context, asset, summary)
        self._lineage = self._lineage_of(hook.instance_url, run.sobject, result)
        self.log.info("Extract summary: %s", summary)
        return summary

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: ``salesforce://<instance host>/<object>`` with the fields read as input (the
        dataset the export writes), the file set as output. None before a run completed, or without
        the OpenLineage provider installed."""
        from airflow_provider_sfcrm.operators._export_lineage import operator_lineage

        return operator_lineage(*self._lineage) if self._lineage is not None else None

    @staticmethod
    def _lineage_of(instance_url: str, sobject: str, result: Any) -> tuple[Any, Any]:
        from airflow_provider_sfcrm.operators._export_lineage import (
            Dataset,
            dataset_of_path,
            salesforce_dataset,
        )

        read = Dataset(*salesforce_dataset(instance_url, sobject), fields=result.fields)
        return [read], [Dataset(*dataset_of_path(result.output_path), rows=result.rows)]

    def _announce(self, context: Mapping[str, Any], asset: Asset, summary: Mapping[str, Any]) -> None:
        """Attach this run's Asset event (with where its file set is) to the task's outlets."""
        events = context.get("outlet_events")
        extra = {
            "output_path": summary["output_path"],
            "interval_start": summary["interval"]["start"],
            "interval_end": summary["interval"]["end"],
            "rows": summary["rows"],
            "deleted": summary["deleted"],
        }
        for outlet in self.outlets or ():
            if isinstance(outlet, AssetAlias) and events is not None:
                events[outlet].add(asset, extra=extra)
            elif isinstance(outlet, Asset) and outlet.uri.startswith(f"{SCHEME}://"):
                if outlet.uri != asset.uri:
                    raise SfCrmConfigError(
                        f"outlet {outlet.uri} does not name what this task extracted ({asset.uri}): "
                        "check its org id and object"
                    )
                if events is not None:
                    events[outlet].extra = extra


@contextlib.contextmanager
def _quota_stops() -> Iterator[None]:
    """The quota guard's stop as the task's error (its message says what was and was not written)."""
    from airflow_provider_sfcrm.extraction.plan import QuotaExceeded

    try:
        yield
    except QuotaExceeded as exc:
        raise SfCrmQuotaError(str(exc)) from None
