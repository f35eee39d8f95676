"""How an extract reads its rows: through REST query pages, or (later) a Bulk API 2.0 query job.

A reader turns the extract's SOQL into typed Arrow batches of the extract's schema, in Id order. The
operator does not know which API it talks to: it plans, guards the quota between batches, dedups and
writes. :func:`reader_for` picks the reader; ``BULK_READER`` is None until the Bulk API 2.0 query
reader exists, so ``api="bulk"`` is refused and ``api="auto"`` reads through REST.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import pyarrow as pa

from airflow_provider_sfcrm.exceptions import SfCrmApiError, SfCrmConfigError
from airflow_provider_sfcrm.extraction.convert import records_to_batch
from airflow_provider_sfcrm.extraction.schema import Column
from airflow_provider_sfcrm.extraction.soql import resume_query
from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

log = logging.getLogger(__name__)


class RecordReader(Protocol):
    """Reads the rows of one extract query as batches of ``schema``, in Id order."""

    api: str

    def batches(self, query: str, *, include_deleted: bool) -> Iterator[pa.RecordBatch]: ...


class RestRecordReader:
    """Reads through ``query`` / ``queryAll`` and their ``nextRecordsUrl`` pages (2,000 rows each).

    Salesforce drops a query cursor that stays unused (about 15 minutes) or when the user opens too
    many: the next page then answers ``INVALID_QUERY_LOCATOR``. The query is ordered by Id, so the read
    resumes with the rows after the last Id it received (at most ``max_resumes`` times).

    :param hook: the connection's hook.
    :param columns: the extract's columns; ``schema`` their Arrow schema.
    """

    api = "rest"

    def __init__(
        self, hook: SalesforceCrmHook, columns: Sequence[Column], schema: pa.Schema, *, max_resumes: int = 5
    ) -> None:
        self.hook = hook
        self.columns = columns
        self.schema = schema
        self.max_resumes = max_resumes
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


#: The Bulk API 2.0 query reader: not there yet (the sandbox's Bulk 2.0 query is being built).
BULK_READER: Callable[[SalesforceCrmHook, Sequence[Column], pa.Schema], RecordReader] | None = None


def reader_for(
    api: str, hook: SalesforceCrmHook, columns: Sequence[Column], schema: pa.Schema
) -> RecordReader:
    """The reader of ``api`` (``"rest"`` or ``"bulk"``, as :func:`~..extraction.plan.choose_api` chose)."""
    if api == "rest":
        return RestRecordReader(hook, columns, schema)
    if BULK_READER is None:
        raise SfCrmConfigError(
            "api='bulk': this version cannot read through Bulk API 2.0 query jobs yet; "
            "use api='rest' or api='auto'"
        )
    return BULK_READER(hook, columns, schema)
