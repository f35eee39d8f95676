"""Bulk records written through the org's one write path, 200 at a time, results mapped back to rows.

Salesforce processes a Bulk batch in chunks of 200 records, each chunk one transaction
(``docs/salesforce-facts.md``, "Bulk APIs"). Each chunk goes through :class:`~.writes.Writer`, the
same rules and error codes as the REST API; a chunk never rolls back as a whole (``allOrNone`` is a
REST option only). The operations:

- ``insert``, ``update`` (by ``Id``), ``delete`` and ``hardDelete`` (by ``Id``; erased, not
  recycled);
- ``upsert`` on an external-id field, or on ``Id``: a row with an ``Id`` updates that record, a row
  without one inserts.

Lead assignment rules run only when the job names an ``assignmentRuleId`` (the REST API runs them
unless told not to).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sfcrm_sandbox.models.fields import FieldSpec
from sfcrm_sandbox.models.write_plan import RequestRejected
from sfcrm_sandbox.models.writes import Writer

#: Records per transaction (Salesforce's chunk size for both Bulk APIs, API 21.0 and later).
CHUNK = 200
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
QUERY_OPERATIONS = ("query", "queryAll")


@dataclass(frozen=True)
class Target:
    """What a job writes.

    :param sobject: the object's canonical name.
    :param operation: one of :data:`INGEST_OPERATIONS`.
    :param external_id: the upsert key (None for upsert on ``Id`` and for other operations).
    :param assign: run Lead assignment rules (the job named an ``assignmentRuleId``).
    """

    sobject: str
    operation: str
    external_id: FieldSpec | None = None
    assign: bool = False


@dataclass(frozen=True)
class Outcome:
    """One record's result: its Id, whether it was created, or its error (``statusCode``, ...)."""

    record_id: str | None
    created: bool = False
    error: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def error_text(self) -> str:
        """``sf__Error`` of Bulk API 2.0 results: ``CODE:message:fields --`` (``CODE:message:--``
        without fields), as Salesforce writes it (observed)."""
        assert self.error is not None
        fields = " ".join([*self.error.get("fields", []), "--"])
        return f"{self.error['statusCode']}:{self.error['message']}:{fields}"


def _id_of(record: dict[str, Any]) -> Any:
    return next((value for key, value in record.items() if key.lower() == "id"), None)


class BulkWriter:
    """Applies a job's records, one chunk (one transaction) at a time.

    :param writer: the org's write path (the REST API's).
    """

    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self._operations: dict[str, Callable[[Target, list[dict[str, Any]]], list[Outcome]]] = {
            "insert": self._insert,
            "update": self._update,
            "upsert": self._upsert,
            "delete": self._delete,
            "hardDelete": self._delete,
        }

    def apply(self, target: Target, records: list[dict[str, Any]]) -> list[Outcome]:
        """One outcome per record, in order."""
        try:
            return self._operations[target.operation](target, records)
        except RequestRejected as rejected:
            # A malformed record (not an object, say) fails the records of its chunk, not the job.
            err = {"statusCode": rejected.error_code, "message": rejected.message, "fields": []}
            return [Outcome(None, error=err) for _ in records]

    def _save(self, target: Target, records: list[dict[str, Any]], mode: str, **kwargs: Any) -> list[Outcome]:
        typed = [{"attributes": {"type": target.sobject}, **record} for record in records]
        results, _ = self.writer.save(typed, mode=mode, auto_assign=target.assign, **kwargs)
        return [_outcome(result, created=mode == "insert") for result in results]

    def _insert(self, target: Target, records: list[dict[str, Any]]) -> list[Outcome]:
        return self._save(target, records, "insert", sobject=target.sobject)

    def _update(self, target: Target, records: list[dict[str, Any]]) -> list[Outcome]:
        return self._save(target, records, "update")

    def _upsert(self, target: Target, records: list[dict[str, Any]]) -> list[Outcome]:
        if target.external_id is not None:
            return self._save(
                target, records, "upsert", sobject=target.sobject, external_id_field=target.external_id
            )
        # Upsert on Id: rows naming a record update it, the others insert; answers keep row order.
        named = {i for i, record in enumerate(records) if _id_of(record) not in (None, "")}
        with_id = sorted(named)
        without = [i for i in range(len(records)) if i not in named]
        outcomes: list[Outcome | None] = [None] * len(records)
        parts = ((with_id, "update", {}), (without, "insert", {"sobject": target.sobject}))
        for indexes, mode, extra in parts:
            if indexes:
                part = [records[i] for i in indexes]
                if mode == "insert":
                    part = [{k: v for k, v in record.items() if k.lower() != "id"} for record in part]
                for i, outcome in zip(indexes, self._save(target, part, mode, **extra), strict=True):
                    outcomes[i] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    def _delete(self, target: Target, records: list[dict[str, Any]]) -> list[Outcome]:
        results, _ = self.writer.delete(
            [_id_of(record) for record in records],
            sobject=target.sobject,
            hard=target.operation == "hardDelete",
        )
        return [_outcome(result, created=False) for result in results]


def _outcome(result: dict[str, Any], *, created: bool) -> Outcome:
    if not result["success"]:
        return Outcome(result.get("id"), error=result["errors"][0])
    return Outcome(result["id"], created=result.get("created", created))
