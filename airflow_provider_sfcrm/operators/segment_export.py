"""Activates a segment into any Salesforce object: mapped attributes, parents by external id and
(optionally) audience statuses."""

from __future__ import annotations

import contextlib
import dataclasses
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook, BaseOperator

from airflow_provider_sfcrm.activation.field_check import (
    check_audience_fields,
    found_message,
    problems_message,
    verdicts_as_dicts,
)
from airflow_provider_sfcrm.activation.wording import plural
from airflow_provider_sfcrm.exceptions import (
    SfCrmConfigError,
    SfCrmError,
    SfCrmFieldValidationError,
    SfCrmRejectedRowsError,
    SfCrmStoppedError,
)
from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
from airflow_provider_sfcrm.sync.vanished import DEFAULT_MAX_VANISHED_RATIO

# The streaming core (pandas, pyarrow, fsspec) is imported inside the methods that run it, not
# here: every DAG file that uses this operator imports this module, and parsing must stay fast.

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_sfcrm.activation.mapping import ExportMapping
    from airflow_provider_sfcrm.activation.report import ExportSummary
    from airflow_provider_sfcrm.activation.segment import ExportCounts
    from airflow_provider_sfcrm.operators._export_lineage import ExportLineage
    from airflow_provider_sfcrm.operators._sync_support import SyncSettings
    from airflow_provider_sfcrm.sources import FileSegment


def default_rejected_rows_path(context: Context, kind: str = "rejected") -> str:
    """The run-scoped place of the rejected (or stale) rows when the task does not name one."""
    from airflow_provider_sfcrm.operators._export_support import default_rejected_rows_path as default_path

    return default_path(context, kind)


class SalesforceSegmentExportOperator(BaseOperator):
    """Writes a segment's attributes (and audience statuses) into any object the user can write.

    Leads and Contacts, other standard objects (Account, Opportunity, Campaign, CampaignMember...)
    and custom ones (``Thing__c``) alike. The segment (one row per record: an identity, attributes,
    optionally one status column per audience) is streamed in chunks. Values are typed from the
    object's describe (numbers, checkboxes, dates, date-times in UTC, picklists) and each row is
    checked against it — with the code Salesforce would answer — before any API call;
    rows that fail, duplicates (the last row of an identity wins) and rows Salesforce refuses go
    to a Parquet file of rejected rows with their codes, messages and original columns. Returns a
    summary (``total == written + rejected + filtered + unchanged + stale``; the last two with a
    ``sync_state``). Row numbers are 0-based positions in the input.

    :param sobject: the object written: ``Contact``, ``Lead``, ``Account``, ``Thing__c``... (templated).
    :param segment_path: Parquet or CSV file, directory of parts, or glob; local or any
        fsspec / ObjectStoragePath URL (templated). Exactly one of this and ``sql``.
    :param sql: a query whose rows are the segment (templated; ``.sql`` files are read).
    :param source_conn_id: the Airflow SQL connection ``sql`` runs on (common-sql).
    :param field_mapping: ``{column: field}``; the identity column maps to ``Id`` (update) or to
        ``external_id_field`` (upsert); ``Relationship.Field`` (``Account.Ext_Id__c``) sets a parent
        by its external id in the same request (templated).
    :param audiences: ``{status column: Mapping ID}``, e.g. ``{"aud_vip": "crm_1_seg"}``; optional
        (templated).
    :param status_values: translation of ``realized``/``existing``/``exited``; default as is.
    :param operation: ``update`` (by Id, default), ``upsert`` (on ``external_id_field``; creates
        missing people; its rows must carry the fields required on create) or ``insert`` (creates
        every row, no identity: unlike the other two, running it twice creates twice), or
        ``publish`` for a Platform Event (``…__e``): one event per row, published through sObject
        Collections one batch at a time so that they are published in input order (``max_workers``
        does not apply); no identity, no deduplication, no sync state. ``written`` counts the events
        published (Salesforce answers each with ``OPERATION_ENQUEUED``).
    :param external_id_field: the external-id field of ``upsert`` (templated).
    :param all_or_none: Salesforce's ``allOrNone``, per request.
    :param auto_assign: ``Sforce-Auto-Assign`` (Leads): False (default), True or a rule Id.
    :param batch_size: records per request, 1..200.
    :param max_workers: concurrent requests.
    :param rejected_rows_path: where the rejected rows go (templated); None = run-scoped default
        under ``$AIRFLOW_HOME/sfcrm/rejected`` (use an object-store URL with remote workers).
    :param max_rejected_ratio: the task fails when rejected / total exceeds it — after every other
        row was written and the rejected rows were saved. Default 0.0.
    :param dry_run: validate and plan only; nothing is written (templated, "True"/"False" accepted).
        The rejected file and ``max_rejected_ratio`` apply as in a real run, for the rows refused
        client-side; rows that would be sent count as written.
    :param validate_fields: check the Mapping ID fields (Text Area (Long)) first and fail before any
        write if one is wrong. Mapped and audience fields must exist and be writable either way.
    :param sfcrm_conn_id: the Salesforce CRM connection.
    :param chunk_rows: rows read and validated at a time (memory vs. overhead).
    :param sync_state: None (default): stateless, every row is written. Else the id of an Airflow
        SQL connection (SQLite or PostgreSQL) holding the sync state: only what changed since the
        last confirmed write is sent, boolean status columns are current memberships whose statuses
        are derived (and people who vanished from the segment are exited), older data never
        overwrites newer, and inserts are crash-safe (templated).
    :param as_of: the as-of time of the segment's data (templated); default the data interval's end.
    :param full_resync: with a sync state, send every value again, changed or not (templated).
    :param max_vanished_ratio: with a sync state, the guard against a truncated segment: the task
        fails, without retry, after the plan and before anything is sent or spooled, when more than
        ``airflow_provider_sfcrm.sync.vanished.VANISHED_FLOOR`` (100) people vanished from the
        segment and would be exited and they are more than this share (0..1) of the people of the
        shard the state knew as audience members. Default 0.5; 1.0 never refuses; None disables the
        check (templated: ``"0.5"``, ``"None"`` accepted). ``full_resync`` does not bypass it.
    :param stale_rows_path: where rows older than the state go (templated); None = run-scoped default
        under ``$AIRFLOW_HOME/sfcrm/stale``.
    :param shard_index: with ``shard_count``: this task syncs the people of that shard of the segment
        (split with ``airflow_provider_sfcrm.sync.sharding.shard_numbers``) (templated).
    :param shard_count: how many shards the segment is split into (templated).
    :param row_filter: a boolean expression over the segment's columns (templated), e.g.
        ``country IN ('FR', 'DE') AND score >= 50 AND email IS NOT NULL``: comparisons
        (``= != <> < <= > >=``), ``AND``/``OR``/``NOT``, parentheses, ``[NOT] IN (...)``,
        ``IS [NOT] NULL``, text, number, boolean and null literals. Only the rows it selects (true,
        not unknown) are checked and sent; the others are counted ``filtered``. Parsed, never
        executed; refused before anything is written when malformed or naming an unknown column.
        With ``sync_state``, a filtered-out person is outside this sync's scope: not sent, not
        exited, their state kept as it is.
    :param duplicate_rule_header: ``Sforce-Duplicate-Rule-Header`` options, each True, False or None:
        ``allow_save`` (save records that active alert duplicate rules match, instead of their
        ``DUPLICATES_DETECTED``), ``include_record_details``, ``run_as_current_user``. None
        (default): no header.
    :param api: ``"rest"`` (default: sObject Collections), ``"bulk"`` (Bulk API 2.0 ingest: the task
        defers while Salesforce processes the job — its ``execution_timeout``, from the try's start,
        bounds the wait — and a retry resumes the job instead of uploading again; with a
        ``sync_state``, the same plan and state as on REST, one job per operation) or
        ``"auto"``: when nothing needs REST, Bulk API 2.0 when there are more rows to send than
        ``airflow_provider_sfcrm.operators._bulk_export.BULK_THRESHOLD_ROWS`` (10,000), else REST. The
        rows to send are known after the export's first pass, before anything is sent: the rows the
        ``row_filter`` selects (all without one) less the earlier rows of a repeated identity, or with
        a ``sync_state`` the plan's rows to send and the exits of people who vanished; rows a
        client-side check refuses later are counted among them. No extra pass over the segment; the
        summary's ``api`` says which was used (templated). See the README, "Bulk API 2.0".
    :param bulk_spool_path: with Bulk API 2.0, a location every worker reaches — an object-store URL
        (``s3://bucket/prefix``, ``gs://…``; credentials through Airflow's object storage and its
        connections), ``file:///mnt/shared/…`` or an absolute path on a shared mount — where a copy of
        the task's spool (``<dag>/<run>/<task>[_<map>]`` under it) is kept until the task concludes, so
        that its resumption after the deferral, or a retry, can run on another worker (Celery on several
        machines, Kubernetes). None (default): ``[sfcrm] bulk_spool_path`` from Airflow's configuration
        (``AIRFLOW__SFCRM__BULK_SPOOL_PATH``); when that is not set either, the spool is only on the
        worker that made it (templated).
    """

    template_fields: Sequence[str] = (
        "sobject",
        "segment_path",
        "sql",
        "rejected_rows_path",
        "field_mapping",
        "audiences",
        "external_id_field",
        "dry_run",
        "sync_state",
        "as_of",
        "full_resync",
        "max_vanished_ratio",
        "stale_rows_path",
        "shard_index",
        "shard_count",
        "row_filter",
        "api",
        "bulk_spool_path",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"sql": "sql", "field_mapping": "json", "audiences": "json"}
    ui_color = "#d9f2e6"

    def __init__(
        self,
        *,
        sobject: str,
        field_mapping: Mapping[str, str] | str,
        segment_path: str | None = None,
        sql: str | None = None,
        source_conn_id: str | None = None,
        audiences: Mapping[str, str] | str | None = None,
        status_values: Mapping[str, str] | None = None,
        operation: str = "update",
        external_id_field: str | None = None,
        all_or_none: bool = False,
        auto_assign: bool | str = False,
        batch_size: int = 200,
        max_workers: int = 4,
        rejected_rows_path: str | None = None,
        max_rejected_ratio: float = 0.0,
        dry_run: bool | str = False,
        validate_fields: bool = True,
        sfcrm_conn_id: str = "sfcrm_default",
        chunk_rows: int = 20_000,
        sync_state: str | None = None,
        as_of: str | datetime | None = None,
        full_resync: bool | str = False,
        max_vanished_ratio: float | str | None = DEFAULT_MAX_VANISHED_RATIO,
        stale_rows_path: str | None = None,
        shard_index: int | str = 0,
        shard_count: int | str = 1,
        row_filter: str | None = None,
        duplicate_rule_header: Mapping[str, bool | None] | None = None,
        api: str = "rest",
        bulk_spool_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sobject = sobject
        self.field_mapping = field_mapping
        self.segment_path = segment_path
        self.sql = sql
        self.source_conn_id = source_conn_id
        self.audiences = audiences
        self.status_values = status_values
        self.operation = operation
        self.external_id_field = external_id_field
        self.all_or_none = all_or_none
        self.auto_assign = auto_assign
        self.batch_size = batch_size
        self.max_workers = max_workers
        self.rejected_rows_path = rejected_rows_path
        self.max_rejected_ratio = max_rejected_ratio
        self.dry_run = dry_run
        self.validate_fields = validate_fields
        self.sfcrm_conn_id = sfcrm_conn_id
        self.chunk_rows = chunk_rows
        self.sync_state = sync_state
        self.as_of = as_of
        self.full_resync = full_resync
        self.max_vanished_ratio = max_vanished_ratio
        self.stale_rows_path = stale_rows_path
        self.shard_index = shard_index
        self.shard_count = shard_count
        self.row_filter = row_filter
        self.duplicate_rule_header = duplicate_rule_header
        self.api = api
        self.bulk_spool_path = bulk_spool_path
        self._stop = threading.Event()
        self._lineage: ExportLineage | None = None
        self._row_filter: str | None = None
        self._duplicate_rules: Mapping[str, Any] | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        started, started_at = time.monotonic(), time.time()
        mapping, dry_run = self._checked_arguments()
        self._check_filter_columns()  # before any API call when the segment is a file
        hook = SalesforceCrmHook(sfcrm_conn_id=self.sfcrm_conn_id)
        describe = hook.describe_object(mapping.sobject)
        mapping = self._checked_against(describe, mapping, hook)
        rejected_path = self.rejected_rows_path or default_rejected_rows_path(context)
        sync = None
        if self.sync_state:
            from airflow_provider_sfcrm.operators._sync_support import sync_settings

            sync = sync_settings(self, context)
        from airflow_provider_sfcrm.activation.mapping import mapping_summary

        self.log.info(
            "Exporting a segment into %s (%s, dry_run=%s, sync_state=%s): %s",
            mapping.sobject,
            mapping.operation,
            dry_run,
            self.sync_state,
            mapping_summary(mapping),
        )
        from airflow_provider_sfcrm.operators._bulk_export import bulk_export, bulk_spooled
        from airflow_provider_sfcrm.operators._sync_lock import sync_scope_locked

        # One run at a time per sync scope (a dry run writes nothing: no lock). Bulk API 2.0, when
        # chosen: bulk_export spools and uploads the rows, then defers with the lock held.
        with sync_scope_locked(
            self,
            context,
            hook,
            mapping,
            None if dry_run else sync,
            keep_on_error=lambda: bulk_spooled(context),
        ):
            bulk_summary = bulk_export(
                self, context, hook, describe, mapping, rejected_path, dry_run, sync, started_at=started_at
            )
            if bulk_summary is not None:  # Bulk, but nothing left to send; or api=auto sent over REST
                return bulk_summary
            counts = self._export(hook, describe, mapping, rejected_path, dry_run, sync)
        summary = self._summarise(
            hook, mapping, counts, rejected_path, dry_run, time.monotonic() - started, sync
        )
        return self._conclude(hook, mapping, describe, summary, dry_run)

    def execute_bulk_complete(self, context: Context, event: dict[str, Any], **state: Any) -> dict[str, Any]:
        """Resumed when the Bulk API 2.0 jobs ended: map their results back (``_bulk_export``)."""
        from airflow_provider_sfcrm.operators._bulk_export import bulk_export_complete

        return bulk_export_complete(self, context, event, **state)

    def _conclude(
        self,
        hook: SalesforceCrmHook,
        mapping: ExportMapping,
        describe: Mapping[str, Any],
        summary: ExportSummary,
        dry_run: bool,
    ) -> dict[str, Any]:
        """Lineage, the summary in the log, and the task's verdict (the rejected ratio, a stop)."""
        if not dry_run:
            from airflow_provider_sfcrm.operators._export_lineage import export_lineage

            self._lineage = export_lineage(
                self.segment_path, hook.instance_url, mapping, describe, summary.written
            )
        if summary.stopped:
            self.log.warning("Export stopped before the end; partial summary: %s", summary.to_dict())
            error: SfCrmError = SfCrmStoppedError(summary.stopped_message())
        else:
            self.log.info("Export summary: %s", summary.to_dict())
            if summary.rejected_ratio <= self.max_rejected_ratio:
                return summary.to_dict()
            error = SfCrmRejectedRowsError(summary.rejected_message(self.max_rejected_ratio))
        error.summary = summary.to_dict()  # for callers that catch it (the task fails either way)
        raise error

    def on_kill(self) -> None:
        """Stop sending: requests in flight finish, the rows not sent are saved as rejected.

        Airflow calls this (from a signal handler) when the task is stopped; ``execute`` then
        finishes quickly, saves the rejected-rows file with every unsent row as ``TASK_STOPPED``
        (replay it to finish the job), logs the partial summary and fails the task.
        """
        self._stop.set()
        self.log.warning(
            "Stop requested: no further batch is sent; rows not sent go to the rejected rows as TASK_STOPPED"
        )

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the segment as input, ``salesforce://<org>/<object>`` with its fields as output.

        None before a real (not dry) run completed, or without the OpenLineage provider installed.
        """
        return self._lineage.operator_lineage() if self._lineage is not None else None

    @staticmethod
    def _summarise(
        hook: SalesforceCrmHook,
        mapping: ExportMapping,
        counts: ExportCounts,
        rejected_path: str,
        dry_run: bool,
        seconds: float,
        sync: SyncSettings | None,
    ) -> ExportSummary:
        from airflow_provider_sfcrm.activation.report import ExportSummary

        usage = hook.api_usage
        sync_keys = (
            {
                "sync_state": sync.conn_id,
                "as_of": sync.as_of.isoformat(),
                "full_resync": sync.full_resync,
                "stale_rows_path": sync.stale_rows_path,
            }
            if sync
            else {}
        )
        return ExportSummary(
            **{**dataclasses.asdict(counts), "rejected_by_code": dict(counts.rejected_by_code)},
            sobject=mapping.sobject,
            operation=mapping.operation,
            api_calls=hook.api_calls,
            api_usage={"used": usage[0], "max": usage[1]} if usage else None,
            duration_s=round(seconds, 3),
            rejected_rows_path=rejected_path,
            dry_run=dry_run,
            **sync_keys,
        )

    def _export(
        self,
        hook: SalesforceCrmHook,
        describe: Mapping[str, Any],
        mapping: ExportMapping,
        rejected_path: str,
        dry_run: bool,
        sync: SyncSettings | None = None,
        bulk: Any = None,
    ) -> ExportCounts:
        """Stream the segment through the core; rejected rows are saved before anything is judged.

        ``bulk(source, rules, rejected, options)``, when given, runs the export instead (Bulk API 2.0).
        """
        from airflow_provider_sfcrm.activation.mapping import MappingError, check_columns
        from airflow_provider_sfcrm.activation.report import RejectedRowsWriter
        from airflow_provider_sfcrm.activation.row_validation import rules_from_describe
        from airflow_provider_sfcrm.activation.segment import SegmentExport
        from airflow_provider_sfcrm.operators._destination_options import compiled_row_filter
        from airflow_provider_sfcrm.operators._export_support import atomic_output, our_errors, refuse_overlap

        key = next((f for f in describe.get("fields", ()) if f.get("name") == mapping.identity_field), {})
        with self._segment(mapping) as source:
            try:
                check_columns(mapping, source.schema, describe, memberships=sync is not None)
            except MappingError as exc:
                raise SfCrmConfigError(str(exc)) from exc
            row_filter = compiled_row_filter(self._row_filter, source.schema)
            if self.segment_path is not None:
                refuse_overlap(source, rejected_path)
                if sync is not None:
                    refuse_overlap(source, sync.stale_rows_path, "stale_rows_path")
            write = None if dry_run else self._writer(hook, mapping)
            options = dict(
                batch_size=self.batch_size,
                key_case_sensitive=bool(key.get("caseSensitive")),
                log=self.log.info,
                stop=self._stop,
                row_filter=row_filter,
            )
            with (
                our_errors(self.segment_path, rejected_path),
                atomic_output(rejected_path) as where,
                RejectedRowsWriter(where, source.schema) as rejected,
            ):
                rules = rules_from_describe(mapping, describe)
                if bulk is not None:
                    return bulk(source, rules, rejected, options)
                if sync is None:
                    stateless = None if write is None else partial(write, external_id_field=mapping.write_key)
                    return SegmentExport(source, rules, rejected, write=stateless, **options).run()
                from airflow_provider_sfcrm.operators._sync_support import run_sync

                return run_sync(self, hook, mapping, source, (rules, rejected), sync, write, options)

    def _checked_arguments(self) -> tuple[ExportMapping, bool]:
        """Validate the rendered arguments (templated values arrive only now)."""
        from airflow_provider_sfcrm.activation.mapping import MappingError, build_mapping
        from airflow_provider_sfcrm.operators._export_support import as_bool, as_mapping, check_settings

        if (self.segment_path is None) == (self.sql is None):
            raise SfCrmConfigError("give exactly one of segment_path and sql")
        if self.sql is not None and not self.source_conn_id:
            raise SfCrmConfigError("sql needs source_conn_id (an Airflow SQL connection)")
        check_settings(
            batch_size=self.batch_size,
            max_workers=self.max_workers,
            chunk_rows=self.chunk_rows,
            max_rejected_ratio=self.max_rejected_ratio,
            auto_assign=self.auto_assign,
        )
        self._row_filter, self._duplicate_rules = self._checked_destination_options()
        try:
            mapping = build_mapping(
                sobject=str(self.sobject).strip(),
                operation=self.operation,
                field_mapping=as_mapping(self.field_mapping, "field_mapping"),
                audiences=as_mapping(self.audiences or {}, "audiences"),
                status_values=as_mapping(self.status_values or {}, "status_values"),
                external_id_field=self.external_id_field or None,
            )
        except MappingError as exc:
            raise SfCrmConfigError(str(exc)) from exc
        if mapping.operation == "insert" and bool(self.sync_state) != bool(mapping.identity_field):
            raise SfCrmConfigError(
                'operation="insert" with a sync_state needs external_id_field: the field that tells people '
                "apart (an External ID, or an idLookup field such as Email), to remember who was created "
                "and to find, after a crash, the records whose creation was not confirmed"
                if self.sync_state
                else 'external_id_field is used with operation="insert" only together with sync_state'
            )
        return mapping, as_bool(self.dry_run, "dry_run")

    def _checked_destination_options(self) -> tuple[str | None, Mapping[str, Any] | None]:
        """``row_filter`` (syntax) and ``duplicate_rule_header``, and the operation's object."""
        from airflow_provider_sfcrm.operators._destination_options import (
            check_operation,
            checked_duplicate_rule_header,
            parsed_row_filter,
        )

        check_operation(
            str(self.operation),
            str(self.sobject).strip(),
            sync_state=self.sync_state,
            duplicate_rule_header=self.duplicate_rule_header,
        )
        return parsed_row_filter(self.row_filter), checked_duplicate_rule_header(self.duplicate_rule_header)

    def _check_filter_columns(self) -> None:
        """A file segment's columns are known without any API call: check the filter's at once."""
        if self._row_filter is None or self.segment_path is None:
            return
        from airflow_provider_sfcrm.operators._destination_options import compiled_row_filter
        from airflow_provider_sfcrm.sources import FileSegment

        try:
            schema = FileSegment(str(self.segment_path), chunk_rows=self.chunk_rows).schema
        except (OSError, ValueError):
            return  # reported, with the context it deserves, where the segment is opened
        compiled_row_filter(self._row_filter, schema)

    def _checked_against(
        self, describe: Mapping[str, Any], mapping: ExportMapping, hook: SalesforceCrmHook
    ) -> ExportMapping:
        """Fail before any write when an audience field, a mapped field or a parent reference cannot
        be written."""
        from airflow_provider_sfcrm.activation.mapping import MappingError, check_mapping_against_describe
        from airflow_provider_sfcrm.activation.references import parent_objects

        if self.validate_fields and mapping.audiences:
            try:
                verdicts = check_audience_fields(describe, sorted(set(mapping.audiences.values())))
            except ValueError as exc:
                raise SfCrmConfigError(str(exc)) from exc
            if not all(v.ok for v in verdicts.values()):
                raise SfCrmFieldValidationError(
                    problems_message(mapping.sobject, verdicts),
                    verdicts_as_dicts(verdicts),
                )
            self.log.info("Field check: %s", found_message(mapping.sobject, verdicts))
        parents = {
            name: hook.describe_object(name) for name in parent_objects(mapping.attributes.values(), describe)
        }
        try:
            return check_mapping_against_describe(mapping, describe, parents)
        except MappingError as exc:
            raise SfCrmConfigError(str(exc)) from exc

    @contextlib.contextmanager
    def _segment(self, mapping: ExportMapping) -> Iterator[FileSegment]:
        from airflow_provider_sfcrm.sources import FileSegment, spool_query

        if self.segment_path is not None:
            try:
                segment = FileSegment(str(self.segment_path), chunk_rows=self.chunk_rows)
            except (OSError, ValueError) as exc:
                raise SfCrmConfigError(f"segment_path: {exc}") from exc
            yield segment
            return
        db_hook = BaseHook.get_connection(self.source_conn_id).get_hook()
        with tempfile.TemporaryDirectory(prefix="sfcrm-segment-") as spool_dir:
            spooled = str(Path(spool_dir, "segment.parquet"))
            rows = spool_query(
                db_hook, self.sql, spooled, chunk_rows=self.chunk_rows, columns=mapping.columns
            )
            self.log.info("Read %s from %s", plural(rows, "segment row"), self.source_conn_id)
            yield FileSegment(spooled, chunk_rows=self.chunk_rows)

    def _writer(self, hook: SalesforceCrmHook, mapping: ExportMapping):
        """``write(records, progress, external_id_field, on_batch=None)``: the hook's writes with this
        task's settings."""

        def write(records, progress, external_id_field, on_batch=None):
            return hook.upsert_records(
                mapping.sobject,
                records,
                external_id_field=external_id_field,
                all_or_none=self.all_or_none,
                batch_size=self.batch_size,
                # Events are published in input order: one request at a time.
                max_workers=1 if mapping.operation == "publish" else self.max_workers,
                auto_assign=self.auto_assign,
                progress=progress,
                stop=self._stop,
                duplicate_rule_header=self._duplicate_rules,
                on_batch=on_batch,
            )

        return write
