"""The segment export through Bulk API 2.0 ingest jobs: choose the API, spool, upload, defer, resume.

1. **Choose** (:func:`resolve_api`): ``api="bulk"``, or ``"auto"`` when nothing needs the REST path
   (``all_or_none``, ``auto_assign=True``, ``duplicate_rule_header``, ``operation="publish"``, a dry
   run) and the export's first pass finds more than :data:`BULK_THRESHOLD_ROWS` rows to send — the
   rows the ``row_filter`` selects less the duplicates, or with a sync state the plan's rows to send
   and exits (rows the second pass refuses are among them). With fewer, the same run sends them over
   REST and concludes as a REST run (:func:`_sent_over_rest`): no extra pass over the segment.
2. **Spool**: the segment runs through the same checks as on REST (client-side rejects, duplicates,
   counts identical); the rows to send become CSV job data in a spool directory
   (:mod:`~airflow_provider_sfcrm.activation.bulk_spool`), one job per 100 MB part. With a sync
   state, the same plan as on REST decides what is sent, and each operation (update by Id, upsert,
   insert) has jobs of its own (:mod:`~airflow_provider_sfcrm.sync.bulk`).
3. **Upload**: per part, create a job, record its id in ``jobs.json`` in the spool directory, upload
   the CSV, record that it was uploaded, close it (``UploadComplete``).
4. **Defer** to :class:`~airflow_provider_sfcrm.triggers.bulk_job.SalesforceBulkJobTrigger`, which
   polls the jobs from the triggerer: no worker slot is held while Salesforce processes them.
5. **Resume** (:func:`bulk_export_complete`): read each job's successful, failed and unprocessed
   results, map them back onto the input rows, write the rejected-rows file (the client-side rejects
   and Salesforce's, with its codes), count, remove the spool directory. With a sync state, what
   Salesforce confirmed is recorded in the state first, each job once, and the fields are marked
   synced once every job is recorded.

Crash safety: the spool directory is keyed by DAG, run, task and map index — not by try — under
``$AIRFLOW_HOME/sfcrm/bulk``. A retry finds the complete spool (``manifest.json``) and the jobs
already created (``jobs.json``): a job recorded as uploaded is closed if still ``Open`` and waited for,
never uploaded again; a job created but not recorded as uploaded is aborted (an ``Open`` job is never
processed) and its part goes into a new job. The local directory is seen only by the worker that
spooled it: with ``bulk_spool_path`` (or ``[sfcrm] bulk_spool_path``) set, a copy of it on an object
store or shared mount (:mod:`._bulk_spool_mirror`) lets a retry or resumption on any worker find it,
and the local directory is removed when the task defers (the resumption restores it).
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_sfcrm.exceptions import (
    SfCrmApiError,
    SfCrmConfigError,
    SfCrmOutcomeUnknownError,
    SfCrmStoppedError,
)

if TYPE_CHECKING:
    from airflow_provider_sfcrm.activation.bulk_spool import JobPart, SpoolManifest
    from airflow_provider_sfcrm.activation.mapping import ExportMapping
    from airflow_provider_sfcrm.activation.segment import ExportCounts
    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
    from airflow_provider_sfcrm.operators._bulk_spool_mirror import SpoolMirror
    from airflow_provider_sfcrm.operators._sync_support import SyncSettings

#: ``api="auto"`` uses Bulk API 2.0 above this many rows to send: REST spends 5 requests per 1,000
#: rows, a Bulk job about 10 whatever its size, and Salesforce advises Bulk beyond a few thousand.
BULK_THRESHOLD_ROWS = 10_000
APIS = ("rest", "bulk", "auto")
#: The trigger's first pause between polls (it doubles up to :data:`MAX_POLL_INTERVAL_S`).
POLL_INTERVAL_S = 1.0
MAX_POLL_INTERVAL_S = 30.0
_JOBS = "jobs.json"


def resolve_api(operator: Any, mapping: ExportMapping, *, dry_run: bool) -> str:
    """``"rest"`` or ``"bulk"`` for this run, or ``"auto"`` when the rows to send decide, once the
    export's first pass has found them (:func:`_auto_choice`; see the module's docstring)."""
    api = str(operator.api).strip().lower()
    if api not in APIS:
        raise SfCrmConfigError(f"api must be one of {', '.join(APIS)}, not {operator.api!r}")
    needs_rest = {
        "all_or_none": bool(operator.all_or_none),
        "auto_assign=True (Bulk jobs run a Lead assignment rule only when given its Id)": operator.auto_assign
        is True,
        # Bulk API 2.0 takes no duplicate-rule header, and events are published in order over REST.
        # The option as checked (a JSON text rendered from a template is parsed there), not as given.
        "duplicate_rule_header": operator._duplicate_rules is not None,
        'operation="publish"': mapping.operation == "publish",
    }
    blockers = [name for name, present in needs_rest.items() if present]
    if api == "bulk" and blockers:
        raise SfCrmConfigError(f'api="bulk" cannot be used with {", ".join(blockers)}; use api="rest"')
    if api == "rest" or dry_run or (api == "auto" and blockers):
        return "rest"
    return api


def _auto_choice(operator: Any, decided: list[str]) -> Callable[[int, int], bool]:
    """``api="auto"``'s ``choose(rows_to_send, segment_rows)``: Bulk above :data:`BULK_THRESHOLD_ROWS`
    rows to send; the choice is logged and appended to ``decided``."""

    def choose(rows_to_send: int, segment_rows: int) -> bool:
        chosen = "bulk" if rows_to_send > BULK_THRESHOLD_ROWS else "rest"
        operator.log.info(
            "api=auto: %d rows to send (%d segment rows), threshold %d: %s",
            rows_to_send,
            segment_rows,
            BULK_THRESHOLD_ROWS,
            chosen,
        )
        decided.append(chosen)
        return chosen == "bulk"

    return choose


def bulk_spool_dir(context: Any) -> Path:
    """``$AIRFLOW_HOME/sfcrm/bulk/<dag_id>/<run_id>/<task_id>[_<map_index>]``: the same for every try."""
    from airflow_provider_sfcrm.operators._export_support import default_rejected_rows_path

    return Path(default_rejected_rows_path(context, "bulk")).with_suffix("")


def bulk_spooled(context: Any) -> bool:
    """Whether this task instance has a complete spool (planned rows awaiting, or in, Bulk jobs)."""
    from airflow_provider_sfcrm.activation.bulk_spool import read_manifest

    return read_manifest(bulk_spool_dir(context)) is not None


def bulk_export(
    operator: Any,
    context: Any,
    hook: SalesforceCrmHook,
    describe: Any,
    mapping: ExportMapping,
    rejected_path: str,
    dry_run: bool,
    sync: Any,
    *,
    started_at: float | None = None,
) -> dict[str, Any] | None:
    """Run the export through Bulk API 2.0 when :func:`resolve_api` says so: spool, upload, defer.

    ``started_at``: when the task's try began (epoch seconds), for the summary's duration: it is kept
    in ``jobs.json``, so a resumed task counts from the try that spooled, checks and spooling included.

    None when REST is chosen up front. Defers (``TaskDeferred``) once the jobs are queued; with
    nothing to send after the checks, or when ``api="auto"`` sent the rows over REST after all,
    concludes at once and returns the summary.
    """
    api = resolve_api(operator, mapping, dry_run=dry_run)
    if api == "rest":
        return None
    from airflow_provider_sfcrm.activation.bulk_spool import read_manifest

    directory = bulk_spool_dir(context)
    mirror = _mirror(operator, directory)
    if mirror is not None:
        mirror.prepare(directory, operator.log.info)
    manifest = read_manifest(directory)
    if manifest is None:  # a spool complete (an earlier try chose Bulk) is resumed whatever ``api``
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        manifest, counts = _spool(
            operator, hook, describe, mapping, directory, sync, rejected_path, auto=api == "auto"
        )
        if manifest is None:
            seconds = time.time() - (started_at or time.time())
            return _sent_over_rest(
                operator, hook, describe, mapping, counts, directory, rejected_path, sync, seconds
            )
    else:
        operator.log.info("Resuming the Bulk API 2.0 export spooled in %s (an earlier try)", directory)
    if mirror is not None:
        mirror.publish(directory)
    if operator._stop.is_set():
        raise SfCrmStoppedError("stopped before the Bulk API 2.0 jobs were queued; a retry resumes the spool")
    jobs = _submit(operator, hook, mapping, directory, manifest, mirror, started_at=started_at)
    state = {"rejected_path": rejected_path, "api_calls": hook.api_calls}
    if not jobs:
        operator.log.info("Nothing to send after the checks: no Bulk API 2.0 job")
        return bulk_export_complete(operator, context, {"status": "success", "jobs": {}}, **state)
    from airflow_provider_sfcrm.operators._wait_deadline import wait_deadline
    from airflow_provider_sfcrm.triggers.bulk_job import SalesforceBulkJobTrigger

    operator.log.info("Bulk API 2.0 jobs queued: %s; deferring until they end", ", ".join(jobs))
    if mirror is not None:  # the task resumes from the copy on any worker: this disk need not keep it
        shutil.rmtree(directory, ignore_errors=True)
    operator.defer(
        trigger=SalesforceBulkJobTrigger(
            sfcrm_conn_id=operator.sfcrm_conn_id,
            job_ids=jobs,
            expected_records=manifest.part_rows,
            poll_interval=POLL_INTERVAL_S,
            max_poll_interval=MAX_POLL_INTERVAL_S,
            deadline=wait_deadline(operator.execution_timeout, started_at or time.time()),
        ),
        method_name="execute_bulk_complete",
        kwargs=state,
        timeout=operator.execution_timeout,
    )
    return None  # pragma: no cover - defer() raises


def _spool(
    operator: Any,
    hook: SalesforceCrmHook,
    describe: Any,
    mapping: ExportMapping,
    directory: Path,
    sync: SyncSettings | None,
    rejected_path: str,
    *,
    auto: bool,
) -> tuple[SpoolManifest | None, ExportCounts]:
    """Run the checks (and the sync plan) and write the job data (the same pipeline as REST, with a
    spooling writer); the manifest and the counts.

    ``auto``: once the first pass has found the rows to send, :func:`_auto_choice` decides; when it
    chooses REST, the same run sends them through the hook instead, and the manifest is None. Either
    way the rows refused go to the spool directory's ``CLIENT_REJECTED`` file.
    """
    from airflow_provider_sfcrm.activation.bulk_spool import (
        CLIENT_REJECTED,
        BulkSpool,
        BulkSpoolExport,
        job_columns,
    )
    from airflow_provider_sfcrm.hooks._bulk2_ingest import MAX_UPLOAD_BYTES
    from airflow_provider_sfcrm.operators._export_support import refuse_overlap

    decided: list[str] = []
    choose = _auto_choice(operator, decided) if auto else None
    write = operator._writer(hook, mapping) if auto else None
    spool: Any
    if sync is None:
        spool = BulkSpool(directory, job_columns(mapping), max_part_bytes=MAX_UPLOAD_BYTES)
        rest = partial(write, external_id_field=mapping.write_key) if write is not None else None

        def export(source: Any, rules: Any, rejected: Any, options: dict[str, Any]) -> Any:
            return BulkSpoolExport(
                source, rules, rejected, spool=spool, write=rest, choose=choose, **options
            ).run()

    else:
        from airflow_provider_sfcrm.operators._sync_support import run_sync
        from airflow_provider_sfcrm.sync.bulk import SyncBulkSpool, job_headers

        spool = SyncBulkSpool(directory, job_headers(mapping), max_part_bytes=MAX_UPLOAD_BYTES)

        def export(source: Any, rules: Any, rejected: Any, options: dict[str, Any]) -> Any:
            return run_sync(
                operator, hook, mapping, source, (rules, rejected), sync, write, options, spool, choose
            )

    def run(source: Any, rules: Any, rejected: Any, options: dict[str, Any]) -> Any:
        if operator.segment_path is not None:  # the rejected rows end there, spooled or not
            refuse_overlap(source, rejected_path)
        return export(source, rules, rejected, options)

    counts = operator._export(
        hook, describe, mapping, str(directory / CLIENT_REJECTED), False, sync, bulk=run
    )
    if decided == ["rest"]:
        return None, counts
    manifest = spool.finish(counts)
    operator.log.info(
        "Spooled %d rows to send in %d Bulk API 2.0 job(s); %d rows refused before sending",
        manifest.spooled,
        len(manifest.part_rows),
        counts.rejected,
    )
    return manifest, counts


def _sent_over_rest(
    operator: Any,
    hook: SalesforceCrmHook,
    describe: Any,
    mapping: ExportMapping,
    counts: ExportCounts,
    directory: Path,
    rejected_path: str,
    sync: SyncSettings | None,
    seconds: float,
) -> dict[str, Any]:
    """Conclude a run ``api="auto"`` sent over REST, as the REST path does: its rejected rows move from
    the spool directory to ``rejected_path`` (whole or not at all), the spool directory goes."""
    from airflow_provider_sfcrm.activation.bulk_spool import CLIENT_REJECTED
    from airflow_provider_sfcrm.operators._export_support import atomic_output

    with atomic_output(rejected_path) as where:
        if isinstance(where, str):
            shutil.move(directory / CLIENT_REJECTED, where)
        else:  # a file on an object store
            with open(directory / CLIENT_REJECTED, "rb") as rejected:
                shutil.copyfileobj(rejected, where)
    shutil.rmtree(directory, ignore_errors=True)
    summary = operator._summarise(hook, mapping, counts, rejected_path, False, seconds, sync)
    return operator._conclude(hook, mapping, describe, summary, False)


def _submit(
    operator: Any,
    hook: SalesforceCrmHook,
    mapping: ExportMapping,
    directory: Path,
    manifest: SpoolManifest,
    mirror: SpoolMirror | None = None,
    *,
    started_at: float | None = None,
) -> list[str]:
    """Create, upload and close one job per part, or resume those an earlier try recorded; their ids.

    ``jobs.json`` is copied to ``mirror`` each time it is written, before anything else is done.
    """
    from airflow_provider_sfcrm.activation.bulk_spool import job_parts, part_data

    jobs = hook.bulk2_ingest_jobs()
    record = _read_jobs(directory, started_at)
    parts: list[dict[str, Any]] = record["parts"]

    def save() -> None:
        from airflow_provider_sfcrm.activation.bulk_spool import write_json_atomically

        write_json_atomically(directory / _JOBS, record)
        if mirror is not None:
            mirror.save(directory, _JOBS)

    if not (directory / _JOBS).is_file():  # when the try began: the summary's duration counts from it
        save()
    spooled = job_parts(directory, manifest, mapping.operation)

    def new_job(part: int) -> str:
        operation = spooled[part].operation
        info = jobs.create(
            mapping.sobject,
            operation,
            external_id_field=mapping.identity_field if operation == "upsert" else None,
            assignment_rule_id=operator.auto_assign if isinstance(operator.auto_assign, str) else None,
        )
        entry = {"job_id": str(info["id"]), "uploaded": False}
        if part < len(parts):
            parts[part] = entry
        else:
            parts.append(entry)
        save()  # before the upload: a retry must know this job exists
        return entry["job_id"]

    for part in range(len(manifest.part_rows)):
        entry = parts[part] if part < len(parts) else None
        if entry is not None and not entry["uploaded"]:
            state = jobs.info(entry["job_id"]).get("state")
            if state == "Open":  # the upload may or may not have arrived: this job can never be closed safely
                operator.log.info(
                    "Job %s of an earlier try was not uploaded for sure; aborting it", entry["job_id"]
                )
                jobs.abort(entry["job_id"])
                entry = None
            else:
                entry["uploaded"] = True
                save()
        if entry is None:
            job_id = new_job(part)
            try:
                jobs.upload(job_id, part_data(spooled[part].directory, spooled[part].part))
            except SfCrmOutcomeUnknownError:
                operator.log.info(
                    "The upload to job %s may not have arrived; aborting it, using a new job", job_id
                )
                jobs.abort(job_id)
                job_id = new_job(part)
                jobs.upload(job_id, part_data(spooled[part].directory, spooled[part].part))
            parts[part]["uploaded"] = True
            save()
            jobs.close(job_id)
        elif jobs.info(entry["job_id"]).get("state") == "Open":
            jobs.close(entry["job_id"])
        else:
            operator.log.info("Job %s of an earlier try is already queued; waiting for it", entry["job_id"])
    return [entry["job_id"] for entry in parts[: len(manifest.part_rows)]]


def _mirror(operator: Any, directory: Path) -> SpoolMirror | None:
    """The copy of the spool under ``bulk_spool_path`` / ``[sfcrm] bulk_spool_path``; None: local only."""
    from airflow_provider_sfcrm.operators._bulk_spool_mirror import spool_mirror

    return spool_mirror(operator.bulk_spool_path, directory, mutable=(_JOBS,))


def _read_jobs(directory: Path, started_at: float | None = None) -> dict[str, Any]:
    """``jobs.json``, or a new record started at ``started_at`` (default now)."""
    import json

    path = directory / _JOBS
    if path.is_file():
        return json.loads(path.read_text())
    return {"parts": [], "started_at": time.time() if started_at is None else started_at}


def bulk_export_complete(
    operator: Any, context: Any, event: dict[str, Any], *, rejected_path: str, api_calls: int = 0
) -> dict[str, Any]:
    """Map the ended jobs' results onto the input rows, write the rejected rows, count, conclude."""
    from airflow_provider_sfcrm.activation.bulk_spool import conclude_sections, job_parts, read_manifest
    from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
    from airflow_provider_sfcrm.operators._export_support import atomic_output, our_errors

    if event.get("status") == "timeout":
        from airflow_provider_sfcrm.operators._wait_deadline import timed_out_note

        # Not aborted: what they write is recorded by the retry, which waits for them (nothing is sent again).
        raise SfCrmApiError(
            f"{event.get('message')}: {timed_out_note(operator.execution_timeout)}. The jobs keep running in "
            "Salesforce and the spool stays: a retry of this task waits for the same jobs, uploading nothing "
            "again (abort them in Setup, Bulk Data Load Jobs, to stop them)",
            error_code="WAIT_TIMEOUT",
        )
    if event.get("status") != "success":
        # The spool and jobs.json stay: a retry waits for the same jobs again.
        raise SfCrmApiError(f"waiting for the Bulk API 2.0 jobs failed: {event.get('message')}")
    directory = bulk_spool_dir(context)
    mirror = _mirror(operator, directory)
    if mirror is not None:
        mirror.prepare(directory, operator.log.info)
    manifest = read_manifest(directory)
    if manifest is None and mirror is not None:
        raise SfCrmConfigError(
            f"the Bulk API 2.0 spool is gone: neither {directory} nor {mirror.setting} "
            f"{mirror.location!r} holds it (was the copy there removed?)"
        )
    if manifest is None:
        raise SfCrmConfigError(
            f"the Bulk API 2.0 spool {directory} is gone: the task resumed on a worker that does not "
            "share $AIRFLOW_HOME/sfcrm/bulk with the one that spooled it. Set bulk_spool_path (or "
            "[sfcrm] bulk_spool_path, AIRFLOW__SFCRM__BULK_SPOOL_PATH) to a location every worker "
            "reaches (s3://…, gs://…, a shared mount) so that any worker can resume the export"
        )
    mapping, _ = operator._checked_arguments()
    hook = SalesforceCrmHook(sfcrm_conn_id=operator.sfcrm_conn_id)
    describe = hook.describe_object(mapping.sobject)
    mapping = operator._checked_against(describe, mapping, hook)
    record = _read_jobs(directory)
    parts = job_parts(directory, manifest, mapping.operation)
    results = _job_results(operator, hook, event, record, parts)
    sync = None
    if manifest.sync is not None:  # recorded first: a crash after it leaves nothing to record again
        from airflow_provider_sfcrm.operators._sync_lock import release_sync_lock
        from airflow_provider_sfcrm.operators._sync_support import open_state, sync_settings
        from airflow_provider_sfcrm.sync.bulk import record_jobs

        sync = sync_settings(operator, context)
        with open_state(sync.conn_id) as state:
            record_jobs(state, manifest.sync, parts, results, log=operator.log.info)
            # The outcome is recorded: another run of the scope may plan now.
            release_sync_lock(state, int(manifest.sync["scope_id"]), operator, context)
    sections: dict[Path, tuple[Path, str, list[Any]]] = {}
    for spooled, outcome in zip(parts, results, strict=True):
        sections.setdefault(spooled.directory, (spooled.directory, spooled.operation, []))[2].extend(outcome)
    with our_errors(operator.segment_path, rejected_path), atomic_output(rejected_path) as where:
        counts = conclude_sections(directory, manifest, list(sections.values()), mapping, where)
    seconds = time.time() - float(record.get("started_at", time.time()))
    summary = operator._summarise(hook, mapping, counts, rejected_path, False, seconds, sync)
    summary = dataclasses.replace(summary, api_calls=summary.api_calls + int(api_calls), api="bulk")
    shutil.rmtree(directory, ignore_errors=True)
    if mirror is not None:  # the remote copy last: until it is gone, a retry can conclude again
        mirror.remove()
    return operator._conclude(hook, mapping, describe, summary, False)


def _job_results(
    operator: Any,
    hook: SalesforceCrmHook,
    event: dict[str, Any],
    record: dict[str, Any],
    parts: list[JobPart],
) -> list[list[Any]]:
    """Each ended job's per-row results (``RecordResult``), in upload order, one list per job."""
    from airflow_provider_sfcrm.activation.bulk_csv import ResultIndex, job_results
    from airflow_provider_sfcrm.activation.bulk_spool import part_hashes

    jobs = hook.bulk2_ingest_jobs()
    results = []
    for part, spooled in enumerate(parts):
        job_id = record["parts"][part]["job_id"]
        info = event["jobs"].get(job_id) or jobs.info(job_id)
        note = f"job {job_id} ended {info.get('state')}" + (
            f": {info['errorMessage']}" if info.get("errorMessage") else ""
        )
        operator.log.info(
            "%s: %s records processed, %s failed",
            note,
            info.get("numberRecordsProcessed"),
            info.get("numberRecordsFailed"),
        )
        results.append(
            job_results(
                ResultIndex(part_hashes(spooled.directory, spooled.part)),
                spooled.rows,
                successful=jobs.results(job_id, "successfulResults"),
                failed=jobs.results(job_id, "failedResults"),
                unprocessed=jobs.results(job_id, "unprocessedrecords"),
                columns=len(spooled.header),
                job_note=note,
            )
        )
    return results
