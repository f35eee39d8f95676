"""Per-record outcomes of a write, as Salesforce reports them (SaveResult / UpsertResult)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Status codes a write can end with that the caller may act on: replay once the org's daily
# allowance recovers, check in Salesforce before replaying (an insert whose answer was lost), or
# replay what a stopped task (``on_kill``) did not send.
REQUEST_LIMIT_EXCEEDED = "REQUEST_LIMIT_EXCEEDED"
UNKNOWN_OUTCOME = "UNKNOWN_OUTCOME"
TASK_STOPPED = "TASK_STOPPED"


@dataclass(frozen=True)
class RecordError:
    """One error of one record: Salesforce's ``statusCode``, ``message`` and ``fields``."""

    status_code: str
    message: str
    fields: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, error: Mapping[str, Any]) -> RecordError:
        fields = error.get("fields") or ()
        return cls(
            status_code=str(error.get("statusCode") or error.get("errorCode") or "UNKNOWN_ERROR"),
            # A null message must not become the text "None"; a lone field name is not a list of letters.
            message=str(error.get("message") or ""),
            fields=(fields,) if isinstance(fields, str) else tuple(fields),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"status_code": self.status_code, "message": self.message, "fields": list(self.fields)}


@dataclass(frozen=True)
class RecordResult:
    """The outcome of one input record; ``index`` is its position in the caller's input."""

    index: int
    success: bool
    id: str | None = None
    created: bool | None = None
    errors: tuple[RecordError, ...] = field(default_factory=tuple)

    @classmethod
    def from_api(cls, index: int, item: Mapping[str, Any]) -> RecordResult:
        """Build from one item of a collections response (``id`` and ``created`` are optional)."""
        return cls(
            index=index,
            success=bool(item.get("success")),
            id=item.get("id"),
            created=item.get("created"),
            errors=tuple(RecordError.from_api(e) for e in item.get("errors") or ()),
        )

    @classmethod
    def failure(cls, index: int, status_code: str, message: str, fields: Sequence[str] = ()) -> RecordResult:
        """A record that did not succeed for a reason known on this side (e.g. never sent)."""
        return cls(index=index, success=False, errors=(RecordError(status_code, message, tuple(fields)),))

    @property
    def status_codes(self) -> tuple[str, ...]:
        return tuple(e.status_code for e in self.errors)
