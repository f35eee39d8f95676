"""One authenticated REST channel to Salesforce: token upkeep, fault retries, call accounting.

Every REST request of the hook goes through :meth:`RestTransport.request`, so the fault policy
lives in one place and is expressed with tenacity (no hand-written retry loops):

* 502 / 503 / 504, connection errors and timeouts are retried with exponential backoff and
  jitter, bounded by attempts and total time;
* a request that must not be sent twice (an insert) is never resent once it may have reached
  Salesforce (connection lost after sending, read timeout, 504): ``SfCrmOutcomeUnknownError``;
* 401 ``INVALID_SESSION_ID`` → one new login for that failure, then the request is retried;
* 403 ``REQUEST_LIMIT_EXCEEDED`` → ``SfCrmRequestLimitError`` at once (retrying only burns calls);
* 404 / 410 on a versioned path → the org's version list (``GET /services/data/``, no
  authentication, not counted against the allowance) is read once; a version the org does not
  serve is a configuration error naming the versions it does serve.

When an idempotent request is sent again after an attempt that may have been processed (its
answer lost), the caller's ``on_lost_answer`` is told: the answer it finally gets describes the
second attempt, not the first (an upsert's ``created`` flag, for one, is then unknowable).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

import requests
import urllib3
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)

from airflow_provider_sfcrm.activation.batching import parse_limit_info
from airflow_provider_sfcrm.activation.results import REQUEST_LIMIT_EXCEEDED, UNKNOWN_OUTCOME
from airflow_provider_sfcrm.exceptions import (
    SfCrmApiError,
    SfCrmAuthError,
    SfCrmConfigError,
    SfCrmOutcomeUnknownError,
    SfCrmRequestLimitError,
)
from airflow_provider_sfcrm.hooks._auth import TRANSIENT_STATUSES, Credentials, OAuthToken, request_token


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the fault handling; every field can also be set in the connection's extra.

    :param max_attempts: attempts per request (first try included) for transient faults.
    :param max_retry_time_s: give up retrying a request after this many seconds.
    :param backoff_initial_s: first backoff; doubles per retry, plus up to as much jitter.
    :param backoff_max_s: longest single backoff.
    :param lock_retry_attempts: re-sends of records that failed with ``UNABLE_TO_LOCK_ROW``.
    :param connect_timeout_s: TCP/TLS connect timeout.
    :param read_timeout_s: wait for a response this long before treating the request as lost.
    """

    max_attempts: int = 8
    max_retry_time_s: float = 300.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    lock_retry_attempts: int = 5
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 120.0

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any]) -> RetryPolicy:
        """Defaults overridden by any of the field names present in a connection's extra."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = extra.get(item.name)
            if raw in (None, ""):
                continue
            try:
                values[item.name] = int(raw) if item.type == "int" else float(raw)
            except (TypeError, ValueError):
                raise SfCrmConfigError(
                    f"connection extra {item.name!r} must be a number, got {raw!r}"
                ) from None
        return cls(**values)

    def backoff(self) -> Callable[[RetryCallState], float]:
        """Exponential backoff (initial, doubling, capped) plus up to ``backoff_initial_s`` of jitter."""
        return wait_exponential(multiplier=self.backoff_initial_s, max=self.backoff_max_s) + wait_random(
            0, self.backoff_initial_s
        )


def _nothing() -> None:
    """The default ``on_lost_answer``."""


class _Retryable(Exception):
    """A fault after which the same request may be sent again."""

    def __init__(self, reason: str, error_code: str, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.error_code = error_code
        self.status = status


class _SessionExpired(_Retryable):
    """401 INVALID_SESSION_ID: a new token was fetched, send again at once."""


def checked_request(
    transport: RestTransport, method: str, path: str, label: str, **kwargs: Any
) -> requests.Response:
    """``transport.request(...)``; an answer of 300 or more raises ``SfCrmApiError`` (Salesforce's code)."""
    response = transport.request(method, path, label=label, **kwargs)
    if response.status_code >= 300:
        code, message = api_error(response)
        raise SfCrmApiError(f"{label}: {code}: {message}", status=response.status_code, error_code=code)
    return response


def api_error(response: requests.Response) -> tuple[str, str]:
    """``(errorCode, message)`` of a REST error body (array or object), or ``HTTP_<status>``."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP_{response.status_code}", (response.reason or "")[:200]
    first = body[0] if isinstance(body, list) and body else body
    if isinstance(first, dict):
        code = first.get("errorCode") or first.get("error") or f"HTTP_{response.status_code}"
        return str(code), str(first.get("message") or first.get("error_description") or "")
    return f"HTTP_{response.status_code}", ""


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the request provably never left this process (connection could not be opened)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _is_tls_verification_failure(exc: Exception) -> bool:
    text = str(exc).lower()
    return "certificate verify failed" in text or "doesn't match" in text


class RestTransport:
    """Authenticated requests to one org's REST API, shared by all threads of one hook.

    :param session: the ``requests.Session`` (TLS verification configured) to send with.
    :param credentials: the token grant to use, now and whenever the session expires.
    :param api_version: REST API version, e.g. ``"62.0"``.
    :param policy: retry bounds.
    :param on_login: called with each new token (the hook masks it and updates its client).
    """

    def __init__(
        self,
        session: requests.Session,
        credentials: Credentials,
        api_version: str,
        policy: RetryPolicy,
        *,
        on_login: Callable[[OAuthToken], None] = lambda token: None,
        log: logging.Logger | None = None,
    ):
        self.session = session
        self.credentials = credentials
        self.api_version = api_version
        self.policy = policy
        self.on_login = on_login
        self.log = log or logging.getLogger(__name__)
        self.api_calls = 0
        self.logins = 0
        self.api_usage: tuple[int, int] | None = None
        self._token: OAuthToken | None = None
        self._token_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._served_versions: list[str] | None = None

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.policy.connect_timeout_s, self.policy.read_timeout_s)

    # -- tokens -------------------------------------------------------------------------------

    def token(self) -> OAuthToken:
        """The current token, logging in first when there is none."""
        with self._token_lock:
            if self._token is None:
                self._token = self._login()
            return self._token

    def renew(self, stale: OAuthToken) -> None:
        """Log in again unless another thread already replaced ``stale`` (one login per failure)."""
        with self._token_lock:
            if self._token is None or self._token.access_token == stale.access_token:
                self._token = self._login()

    def _login(self) -> OAuthToken:
        def transient(exc: BaseException) -> bool:
            if isinstance(exc, requests.HTTPError):
                return True  # request_token raises it for TRANSIENT_STATUSES only
            return isinstance(exc, (requests.ConnectionError, requests.Timeout)) and not (
                isinstance(exc, requests.exceptions.SSLError) and _is_tls_verification_failure(exc)
            )

        retrying = self._retrying(retry_if_exception(transient), "login")
        try:
            token = retrying(request_token, self.session, self.credentials, timeout=self.timeout[1])
        except requests.exceptions.SSLError as exc:
            raise SfCrmConfigError(
                f"TLS verification of {self.credentials.base_url} failed ({exc.__class__.__name__}); "
                "set the connection's ca_bundle to the CA that signed its certificate"
            ) from None
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            raise SfCrmAuthError(
                f"http_{status}", "the token endpoint is unavailable", status=status
            ) from None
        except requests.RequestException as exc:
            raise SfCrmAuthError(
                "connection_error", f"cannot reach {self.credentials.base_url}: {exc.__class__.__name__}"
            ) from None
        self.logins += 1
        self.on_login(token)
        return token

    # -- requests -----------------------------------------------------------------------------

    def url(self, path: str, token: OAuthToken) -> str:
        """Absolute URL of ``path``: relative to ``/services/data/vXX.X/``, or a ``/services/...`` path."""
        instance = token.instance_url
        if path.startswith("/services/"):
            return instance + path
        return f"{instance}/services/data/v{self.api_version}/{path}"

    def request(
        self,
        method: str,
        path: str,
        *,
        label: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
        on_lost_answer: Callable[[], None] | None = None,
        data: bytes | None = None,
    ) -> requests.Response:
        """Send one REST request under the fault policy; returns any response not handled here.

        :param label: names the request in logs and errors, e.g. ``"Contact batch 3"``.
        :param idempotent: False for inserts: a request that may have reached Salesforce is
            then never resent and ``SfCrmOutcomeUnknownError`` is raised instead.
        :param on_lost_answer: called when an attempt may have been processed but its answer was
            lost, before the request is sent again.
        :param data: a raw body instead of ``json`` (Bulk CSV uploads; set its ``Content-Type``).
        """
        retrying = self._retrying(retry_if_exception_type(_Retryable), label)
        try:
            response = retrying(
                self._send_once,
                method,
                path,
                json,
                params,
                headers,
                idempotent,
                on_lost_answer or _nothing,
                data,
            )
        except _SessionExpired:
            raise SfCrmAuthError(
                "INVALID_SESSION_ID", f"{label}: the session kept expiring right after each new login"
            ) from None
        except _Retryable as exc:
            raise SfCrmApiError(
                f"{label}: gave up after {self.policy.max_attempts} attempts or "
                f"{self.policy.max_retry_time_s:g}s: {exc.reason}",
                status=exc.status,
                error_code=exc.error_code,
            ) from None
        if response.status_code in (404, 410) and not path.startswith(("/", "http")):
            self._check_api_version()
        return response

    def _check_api_version(self) -> None:
        """Raise ``SfCrmConfigError`` when the org does not serve ``api_version`` (read once)."""
        if self._served_versions is None:
            try:
                reply = self.session.get(
                    f"{self.token().instance_url}/services/data/",
                    headers={"Accept": "application/json"},
                    timeout=self.timeout,
                )
                self._served_versions = [str(v["version"]) for v in reply.json()]
            except (requests.RequestException, ValueError, TypeError, KeyError):
                return  # the version list is a diagnosis, not a requirement: keep the original error
        if self.api_version in self._served_versions:
            return
        served = sorted(self._served_versions, key=lambda v: float(v))
        span = f"{served[0]} to {served[-1]} (latest {served[-1]})" if served else "none"
        raise SfCrmConfigError(
            f"api_version {self.api_version} is not served by {self.token().instance_url}: it serves "
            f"versions {span}. Set the connection's API Version to one of them"
        )

    def _send_once(
        self,
        method: str,
        path: str,
        json: Any,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        idempotent: bool,
        on_lost_answer: Callable[[], None],
        data: bytes | None = None,
    ) -> requests.Response:
        token = self.token()
        all_headers = {"Authorization": f"Bearer {token.access_token}", "Accept": "application/json"}
        all_headers.update(headers or {})
        try:
            response = self.session.request(
                method,
                self.url(path, token),
                json=json,
                data=data,
                params=params,
                headers=all_headers,
                timeout=self.timeout,
            )
        except requests.exceptions.InvalidJSONError as exc:
            # Records are made JSON-safe per record before this point; any other body is ours to fix.
            raise SfCrmConfigError(
                f"{method} {path}: the request body cannot be sent as JSON ({exc})"
            ) from None
        except requests.exceptions.SSLError as exc:
            if _is_tls_verification_failure(exc):
                raise SfCrmConfigError(
                    f"TLS verification of {token.instance_url} failed; set the connection's ca_bundle"
                ) from None
            self._on_connection_lost(exc, idempotent, on_lost_answer)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            self._on_connection_lost(exc, idempotent, on_lost_answer)
        self._count(response)
        status = response.status_code
        if status in TRANSIENT_STATUSES:
            if status == 504:
                # A gateway timeout says nothing about whether the instance processed the request.
                if not idempotent:
                    raise SfCrmOutcomeUnknownError(
                        "HTTP 504 after the request was sent", status=504, error_code=UNKNOWN_OUTCOME
                    )
                on_lost_answer()
            code, _ = api_error(response)
            raise _Retryable(f"HTTP {status} {code}", code, status)
        if status == 401:
            code, message = api_error(response)
            if code == "INVALID_SESSION_ID":
                self.log.info("Salesforce session expired; logging in again")
                self.renew(token)
                raise _SessionExpired("session expired", code, status)
            raise SfCrmAuthError(code, message, status=status)
        if status == 403:
            code, message = api_error(response)
            if code == REQUEST_LIMIT_EXCEEDED:
                raise SfCrmRequestLimitError(
                    f"Salesforce refused the call: {message}", status=403, error_code=code
                )
        return response

    def _on_connection_lost(
        self, exc: requests.RequestException, idempotent: bool, on_lost_answer: Callable[[], None]
    ) -> None:
        if _never_sent(exc):
            raise _Retryable(f"cannot connect ({exc.__class__.__name__})", "CONNECTION_ERROR") from None
        with self._count_lock:
            self.api_calls += 1  # it may well have reached Salesforce and been counted there
        if idempotent:
            on_lost_answer()
            raise _Retryable(f"connection lost ({exc.__class__.__name__})", "CONNECTION_ERROR") from None
        raise SfCrmOutcomeUnknownError(
            f"connection lost after the request was sent ({exc.__class__.__name__})",
            error_code=UNKNOWN_OUTCOME,
        ) from None

    def _count(self, response: requests.Response) -> None:
        usage = parse_limit_info(response.headers.get("Sforce-Limit-Info"))
        with self._count_lock:
            self.api_calls += 1
            if usage is not None:
                self.api_usage = usage

    # -- tenacity -----------------------------------------------------------------------------

    def _retrying(self, retry: Any, label: str) -> Retrying:
        backoff = self.policy.backoff()

        def wait(state: RetryCallState) -> float:
            # A fresh token needs no cooling down; everything else backs off with jitter.
            exc = state.outcome.exception() if state.outcome else None
            return 0.0 if isinstance(exc, _SessionExpired) else backoff(state)

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            reason = getattr(exc, "reason", exc.__class__.__name__)
            self.log.info(
                "%s: %s; retry %d of %d in %.2fs",
                label,
                reason,
                state.attempt_number,
                self.policy.max_attempts - 1,
                state.next_action.sleep if state.next_action else 0.0,
            )

        return Retrying(
            retry=retry,
            stop=stop_after_attempt(self.policy.max_attempts)
            | stop_after_delay(self.policy.max_retry_time_s),
            wait=wait,
            before_sleep=before_sleep,
            reraise=True,
        )
