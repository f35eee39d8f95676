"""What one record of a write turns into while the org checks it: its plan, or the request's rejection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class RequestRejected(Exception):
    """The whole request is malformed (HTTP 4xx with a JSON error array), not one record."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message


@dataclass
class Plan:
    """What one input record turned into: an insert or update of one object, or errors."""

    sobject: str | None = None
    action: str = "insert"
    record_id: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    existing: dict[str, Any] | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    # Id to show on a rolled-back item (Salesforce shows it when the record was valid and known).
    shown_id: str | None = None
    # The EventUuid of a published platform event message.
    enqueued: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def fail(self, err: dict[str, Any]) -> None:
        if not self.errors:
            self.errors.append(err)
