"""What REST handlers receive and return, and Salesforce's whole-request error shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NOT_FOUND_MESSAGE = "The requested resource does not exist"


@dataclass
class Reply:
    """A handler's answer: status, JSON body (None → empty), records written (per-record latency)."""

    status: int
    body: Any = None
    written: int = 0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    """One REST request as handlers see it."""

    method: str
    version: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]
    body: Any

    @property
    def auto_assign(self) -> bool:
        # Sforce-Auto-Assign: absent or TRUE → assignment rules run; FALSE → they don't; an
        # AssignmentRule Id (01Q...) → that rule runs, which the sandbox treats like TRUE.
        value = self.headers.get("sforce-auto-assign")
        return value is None or value.strip().lower() != "false"


def api_error(status: int, error_code: str, message: str, fields: list[str] | None = None) -> Reply:
    item: dict[str, Any] = {"message": message, "errorCode": error_code}
    if fields is not None:
        item["fields"] = fields
    return Reply(status, [item])


def not_found(message: str = NOT_FOUND_MESSAGE) -> Reply:
    return api_error(404, "NOT_FOUND", message)
