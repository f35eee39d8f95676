"""One extract, start to end: plan (describe, columns, where, count, API, quota), read, write, publish.

Kept apart from the operator, which only deals with Airflow (arguments, the interval, waiting, Assets,
the summary), so the steps read top to bottom here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from airflow_provider_sfcrm.activation.progress import ProgressReporter
from airflow_provider_sfcrm.exceptions import SfCrmConfigError
from airflow_provider_sfcrm.extraction.dedup import UniqueRows, count_true
from airflow_provider_sfcrm.extraction.output import FileSetWriter
from airflow_provider_sfcrm.extraction.plan import QuotaGuard, choose_api, planned_calls
from airflow_provider_sfcrm.extraction.schema import ColumnError, arrow_schema, select_columns
from airflow_provider_sfcrm.extraction.soql import build_count, build_query
from airflow_provider_sfcrm.extraction.where import WhereError, validate_where
from airflow_provider_sfcrm.extraction.window import ExtractWindow
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
        schema = arrow_schema(columns, {"sfcrm.sobject": self.sobject, "sfcrm.format": FORMAT})
        fs, target = resolve_filesystem(self.output_path)
        progress = ProgressReporter(expected, self.log.info)
        reader = _extract_readers.reader_for(
            api, self.hook, columns, schema, lambda: self._check_quota(f"{progress.done} of {expected} rows")
        )
        unique = UniqueRows()
        deleted = 0
        try:
            writer = FileSetWriter(fs, target, schema, rows_per_file=self.rows_per_file)
        except ValueError as exc:
            raise SfCrmConfigError(str(exc)) from exc
        with writer:
            for batch in reader.batches(query, include_deleted=include_deleted):
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
                    "soql": query,
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
            api=api,
            output_path=self.output_path,
            fields=fields_written([c.name for c in columns], describe),
        )

    def _check_quota(self, done: str) -> None:
        usage = self.hook.api_usage
        if usage is not None:
            self.guard.check_during(usage[0], usage[1], self.what, done)
