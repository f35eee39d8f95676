"""What response handlers receive (a :class:`Call`) and return (a :class:`Reply`), and the shapes of
Salesforce's whole-request errors and record URLs every API area shares.

Handlers are plain synchronous functions of a Call: they never see the web framework, so an API
area is one module under :mod:`sfcrm_sandbox.responses` plus its lines in :mod:`sfcrm_sandbox.urls`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NOT_FOUND_MESSAGE = "The requested resource does not exist"


@dataclass
class Reply:
    """A handler's answer.

    :param status: HTTP status.
    :param body: JSON-serialisable body; None sends no body.
    :param written: records written (drives ``--per-record-latency-ms`` and the stats).
    :param headers: extra response headers.
    :param content: a non-JSON body (bytes), sent with ``media_type`` instead of ``body``.
    :param media_type: the content type of ``content``.
    """

    status: int
    body: Any = None
    written: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    media_type: str | None = None


@dataclass
class Call:
    """One request as handlers see it.

    :param method: HTTP method.
    :param params: values of the route template's ``{placeholders}``.
    :param query: query-string parameters (the last value of a repeated one).
    :param query_lists: every value of each query-string parameter, in order.
    :param headers: request headers, names in lower case.
    :param raw: the request body as sent.
    :param body: the parsed JSON body (REST data API routes only; None otherwise).
    :param version: the API version of a ``/services/data/vXX.X`` route (``"62.0"``), else ``""``.
    :param base_url: ``scheme://host:port`` the client reached the sandbox at.
    """

    method: str
    params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    query_lists: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes = b""
    body: Any = None
    version: str = ""
    base_url: str = ""

    @property
    def bearer_token(self) -> str | None:
        """The token of ``Authorization: Bearer <token>`` (or the legacy ``OAuth <token>``)."""
        scheme, _, token = (self.headers.get("authorization") or "").partition(" ")
        return token.strip() if scheme.lower() in ("bearer", "oauth") and token.strip() else None

    @property
    def auto_assign(self) -> bool:
        # Sforce-Auto-Assign: absent or TRUE → assignment rules run; FALSE → they don't; an
        # AssignmentRule Id (01Q...) → that rule runs, which the sandbox treats like TRUE.
        value = self.headers.get("sforce-auto-assign")
        return value is None or value.strip().lower() != "false"


def api_error(status: int, error_code: str, message: str, fields: list[str] | None = None) -> Reply:
    """A whole-request error: a JSON array of one ``{"message", "errorCode"[, "fields"]}``."""
    item: dict[str, Any] = {"message": message, "errorCode": error_code}
    if fields is not None:
        item["fields"] = fields
    return Reply(status, [item])


def not_found(message: str = NOT_FOUND_MESSAGE) -> Reply:
    return api_error(404, "NOT_FOUND", message)


def record_url(version: str, sobject: str, record_id: str | None, tooling: bool = False) -> str:
    """The ``attributes.url`` of a record."""
    prefix = "tooling/" if tooling else ""
    return f"/services/data/v{version}/{prefix}sobjects/{sobject}/{record_id}"
