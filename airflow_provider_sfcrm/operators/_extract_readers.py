"""How an extract reads its rows: through REST query pages, or a Bulk API 2.0 query job.

A reader turns the extract's SOQL into typed Arrow batches of the extract's schema, in Id order. The
operator does not know which API it talks to: it plans, dedups and writes, and gives the reader a
``checkpoint`` to call after each API request (the quota guard). :func:`reader_for` picks the reader.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import pyarrow as pa

from airflow_provider_sfcrm.exceptions import SfCrmApiError, SfCrmConfigError
from airflow_provider_sfcrm.extraction.convert import csv_to_batches, records_to_batch
from airflow_provider_sfcrm.extraction.plan import BULK_PAGE_ROWS, QuotaExceeded
from airflow_provider_sfcrm.extraction.schema import Column
from airflow_provider_sfcrm.extraction.soql import resume_query, unordered
from airflow_provider_sfcrm.extraction.spool import IdOrderedSpool
from airflow_provider_sfcrm.hooks._bulk2_query import TERMINAL_STATES, Bulk2QueryJobs
from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

log = logging.getLogger(__name__)


Checkpoint = Callable[[], None]


class RecordReader(Protocol):
    """Reads the rows of one extract query as batches of ``schema``, in Id order."""

    api: str

    def batches(self, query: str, *, include_deleted: bool) -> Iterator[pa.RecordBatch]: ...


class _Reader:
    """What every reader holds: the hook, the extract's columns and schema, and its ``checkpoint``.

    :param hook: the connection's hook.
    :param columns: the extract's columns; ``schema`` their Arrow schema.
    :param checkpoint: called after API requests; raises to stop the read (the quota guard).
    """

    api: str

    def __init__(
        self,
        hook: SalesforceCrmHook,
        columns: Sequence[Column],
        schema: pa.Schema,
        checkpoint: Checkpoint = lambda: None,
    ) -> None:
        self.hook = hook
        self.columns = columns
        self.schema = schema
        self.checkpoint = checkpoint


class RestRecordReader(_Reader):
    """Reads through ``query`` / ``queryAll`` and their ``nextRecordsUrl`` pages (2,000 rows each).

    Salesforce drops a query cursor that stays unused (about 15 minutes) or when the user opens too
    many: the next page then answers ``INVALID_QUERY_LOCATOR``. The query is ordered by Id, so the read
    resumes with the rows after the last Id it received (at most ``max_resumes`` times).
    """

    api = "rest"  # each page is one request: the operator checks the quota between batches
    max_resumes = 5

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.resumes = 0

    def batches(self, query: str, *, include_deleted: bool) -> Iterator[pa.RecordBatch]:
        current = query
        last_id: str | None = None
        while True:
            try:
                for records in self.hook.query_pages(current, include_deleted=include_deleted):
                    if records:
                        last_id = records[-1].get("Id") or last_id
                        yield records_to_batch(records, self.columns, self.schema)
                return
            except SfCrmApiError as exc:
                if (
                    exc.error_code != "INVALID_QUERY_LOCATOR"
                    or last_id is None
                    or self.resumes >= self.max_resumes
                ):
                    raise
                self.resumes += 1
                log.info("The query cursor expired; resuming after Id %s (resume %d)", last_id, self.resumes)
                current = resume_query(query, last_id)


class Bulk2RecordReader(_Reader):
    """Reads through a Bulk API 2.0 query job (``queryAll`` with deletions): create it, wait for it,
    read its CSV result pages (:data:`~..extraction.plan.BULK_PAGE_ROWS` rows each), delete it.

    :meth:`batches` does it all in the worker, polling the job; a deferrable extract creates the job
    with :func:`start_query_job`, waits for it in the triggerer, then reads it with :meth:`results`.
    Bulk queries take no ``ORDER BY``: the rows are spooled to disk and given back in Id order
    (:class:`~..extraction.spool.IdOrderedSpool`), so the files are the same as through REST.
    ``checkpoint`` runs after every request of the job, polls included; when it stops the read (the
    quota guard), the job is left for Salesforce to purge rather than spend one more call on it. Any
    other error aborts the job if it still runs and deletes it (:func:`discarded_on_error`).
    """

    api = "bulk"
    page_rows = BULK_PAGE_ROWS

    def batches(self, query: str, *, include_deleted: bool) -> Iterator[pa.RecordBatch]:
        job_id = start_query_job(self.hook, query, include_deleted=include_deleted)
        jobs = self.hook.bulk2_query_jobs()
        with discarded_on_error(jobs, job_id):
            self.checkpoint()
            done = jobs.wait(job_id, on_poll=lambda info: self.checkpoint())
        log.info("Bulk query job %s complete: %s rows", job_id, done.get("numberRecordsProcessed"))
        yield from self.results(job_id)

    def results(self, job_id: str) -> Iterator[pa.RecordBatch]:
        """The rows of the complete job ``job_id``, in Id order; the job is deleted once they are read."""
        jobs = self.hook.bulk2_query_jobs()
        with tempfile.TemporaryDirectory(prefix="sfcrm-bulk-") as spool_dir:
            spool = IdOrderedSpool(spool_dir, self.schema)
            with discarded_on_error(jobs, job_id):
                with spool:
                    for page in jobs.results(job_id, max_records=self.page_rows):
                        for batch in csv_to_batches(page, self.columns, self.schema):
                            spool.write(batch)
                        self.checkpoint()
                jobs.delete(job_id)
            if not spool.in_order:
                log.info("Sorting the %d rows of the Bulk results by Id", spool.rows)
            yield from spool.batches()


def start_query_job(hook: SalesforceCrmHook, query: str, *, include_deleted: bool) -> str:
    """Create the Bulk API 2.0 query job of an extract's SOQL (``queryAll`` with ``include_deleted``),
    without its ``ORDER BY`` (Bulk queries take none); the job's id."""
    job = hook.bulk2_query_jobs().create(unordered(query), include_deleted=include_deleted)
    log.info("Bulk API 2.0 query job %s created", job["id"])
    return str(job["id"])


@contextlib.contextmanager
def discarded_on_error(jobs: Bulk2QueryJobs, job_id: str) -> Iterator[None]:
    """On an error in the block, abort the query job if it has not ended and delete it; then re-raise.

    Not when the quota guard stopped the read (not one more call: Salesforce purges the job and its
    results), and at best effort: the error that led here is the one worth reporting.
    """
    try:
        yield
    except QuotaExceeded:
        raise
    except BaseException:
        try:
            if jobs.info(job_id).get("state") not in TERMINAL_STATES:
                jobs.abort(job_id)
            jobs.delete(job_id)
        except Exception:
            log.warning("Could not delete Bulk query job %s", job_id)
        raise


_READERS: dict[str, Callable[..., RecordReader]] = {"rest": RestRecordReader, "bulk": Bulk2RecordReader}


def reader_for(
    api: str,
    hook: SalesforceCrmHook,
    columns: Sequence[Column],
    schema: pa.Schema,
    checkpoint: Checkpoint = lambda: None,
) -> RecordReader:
    """The reader of ``api`` (``"rest"`` or ``"bulk"``, as :func:`~..extraction.plan.choose_api` chose)."""
    if api not in _READERS:
        raise SfCrmConfigError(f"api must be 'rest' or 'bulk' here, not {api!r}")
    return _READERS[api](hook, columns, schema, checkpoint)
