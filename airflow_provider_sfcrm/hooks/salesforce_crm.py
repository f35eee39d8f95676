"""``SalesforceCrmHook``: authentication, transport and the Salesforce calls of the provider.

The hook logs in itself (OAuth password, client-credentials or JWT bearer grant against
``<base>/services/oauth2/token``) instead of letting simple-salesforce do it, so that one
policy covers custom domains, CA bundles, session renewal and secret masking. Requests go
through :class:`~airflow_provider_sfcrm.hooks._transport.RestTransport` with ``requests`` on the
client's own session rather than ``Salesforce.restful``: simple-salesforce cannot renew a
session it did not open, its own retry drops custom headers such as ``Sforce-Auto-Assign``, and
the fault policy needs the raw status, headers and connection errors.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

import requests
from airflow.sdk import BaseHook
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce, format_soql

from airflow_provider_sfcrm.activation.batching import MAX_WORKERS
from airflow_provider_sfcrm.activation.ids import has_prefix_of, is_well_formed, to18
from airflow_provider_sfcrm.activation.names import validate_api_name
from airflow_provider_sfcrm.activation.results import RecordError, RecordResult
from airflow_provider_sfcrm.exceptions import (
    SfCrmApiError,
    SfCrmAuthError,
    SfCrmConfigError,
    SfCrmError,
    SfCrmOutcomeUnknownError,
)
from airflow_provider_sfcrm.hooks._auth import AUTH_TYPES, Credentials, OAuthToken, resolve_base_url
from airflow_provider_sfcrm.hooks._bulk2_ingest import Bulk2IngestJobs
from airflow_provider_sfcrm.hooks._bulk2_query import Bulk2QueryJobs
from airflow_provider_sfcrm.hooks._collections import CollectionsWriter
from airflow_provider_sfcrm.hooks._jwt import JwtKey
from airflow_provider_sfcrm.hooks._transport import RestTransport, RetryPolicy, api_error

try:
    from airflow.sdk.log import mask_secret
except ImportError:  # pragma: no cover - older Task SDK layouts
    from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]

__all__ = ["RecordError", "RecordResult", "RetryPolicy", "SalesforceCrmHook"]

DEFAULT_API_VERSION = "62.0"


class _CaBundleAdapter(HTTPAdapter):
    """Verify TLS with the connection's CA bundle on every request sent through the session.

    ``requests`` lets ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` override ``Session.verify``
    for calls that do not pass ``verify=`` themselves (simple-salesforce's don't), which would
    silently ignore the connection's ``ca_bundle``; the adapter has the last word.
    """

    def __init__(self, ca_bundle: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ca_bundle = ca_bundle

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["verify"] = self.ca_bundle
        return super().send(request, **kwargs)


def _checked_ca_bundle(value: Any) -> str | None:
    """The ``ca_bundle`` extra when it names a readable PEM file of CAs; else a config error naming it."""
    if not value:
        return None
    path = Path(str(value)).expanduser()
    if not path.is_file():
        raise SfCrmConfigError(
            f"connection extra ca_bundle {str(value)!r} does not exist on this worker (or is not a file); "
            "give the path of a PEM file of CA certificates present on every worker and triggerer"
        )
    try:
        ssl.create_default_context(cafile=str(path))
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise SfCrmConfigError(
            f"connection extra ca_bundle {str(value)!r} is not a readable PEM file of CA certificates "
            f"({exc.__class__.__name__})"
        ) from None
    return str(path)


class SalesforceCrmHook(BaseHook):
    """Talk to one Salesforce org through an ``sfcrm`` connection.

    Nothing happens on construction; the first call logs in. Connection fields: ``login``
    (username), ``password``, and in ``extra``: ``security_token``, ``custom_domain``,
    ``client_id``, ``client_secret``, ``api_version`` (default ``62.0``), ``ca_bundle``,
    ``auth_type`` (``password``, ``client_credentials`` or ``jwt``), ``private_key`` /
    ``private_key_path`` (``jwt``) and optionally the fields of :class:`RetryPolicy`.

    :param sfcrm_conn_id: id of the ``sfcrm`` connection.
    :param retry_policy: fault-handling bounds; default: from the connection's extra, else
        :class:`RetryPolicy` defaults.
    """

    conn_name_attr = "sfcrm_conn_id"
    default_conn_name = "sfcrm_default"
    conn_type = "sfcrm"
    hook_name = "Salesforce CRM"

    def __init__(
        self,
        sfcrm_conn_id: str = default_conn_name,
        *,
        retry_policy: RetryPolicy | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sfcrm_conn_id = sfcrm_conn_id
        self.retry_policy = retry_policy
        self._describes: dict[str, dict] = {}

    # -- connection and client ----------------------------------------------------------------

    @cached_property
    def _connection(self) -> Any:
        return self.get_connection(self.sfcrm_conn_id)

    @cached_property
    def _extras(self) -> dict[str, Any]:
        """The connection's extra, parsed here rather than with ``extra_dejson``.

        ``extra_dejson`` hands every value to the secrets masker, which warns about "a secret"
        too short to mask for values such as ``api_version`` "62.0": only the real secrets are
        masked, by :attr:`_credentials`.
        """
        raw = self._connection.extra
        try:
            extra = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            raise SfCrmConfigError(
                f"the extra of connection {self.sfcrm_conn_id!r} is not valid JSON"
            ) from None
        if not isinstance(extra, dict):
            raise SfCrmConfigError(f"the extra of connection {self.sfcrm_conn_id!r} must be a JSON object")
        return extra

    def _extra(self, name: str) -> Any:
        extra = self._extras
        # The Airflow 3 UI stores form fields under their plain names; older forms used a prefix.
        value = extra.get(name, extra.get(f"extra__sfcrm__{name}"))
        return None if value == "" else value

    @cached_property
    def _credentials(self) -> Credentials:
        auth_type = self._extra("auth_type") or "password"
        if auth_type not in AUTH_TYPES:
            raise SfCrmConfigError(f"auth_type {auth_type!r} is not one of {', '.join(AUTH_TYPES)}")
        credentials = Credentials(
            auth_type=auth_type,
            base_url=resolve_base_url(self._extra("custom_domain")),
            username=self._connection.login or None,
            password=self._connection.password or None,
            security_token=self._extra("security_token"),
            client_id=self._extra("client_id"),
            client_secret=self._extra("client_secret"),
            jwt_key=JwtKey(self._extra("private_key"), self._extra("private_key_path")),
        )
        for secret in credentials.secrets():
            mask_secret(secret)
        return credentials

    @property
    def api_version(self) -> str:
        version = str(self._extra("api_version") or DEFAULT_API_VERSION).strip().lstrip("vV")
        if not re.fullmatch(r"\d{2,3}\.\d", version):  # it becomes part of every request path
            raise SfCrmConfigError(f"api_version {version!r} is not a version such as '62.0'")
        return version

    @cached_property
    def _transport(self) -> RestTransport:
        credentials = self._credentials
        session = requests.Session()
        ca_bundle = _checked_ca_bundle(self._extra("ca_bundle"))
        # Room for every concurrent batch worker, so connections are reused, not discarded.
        pool = {"pool_connections": 4, "pool_maxsize": MAX_WORKERS}
        if ca_bundle:
            session.verify = str(ca_bundle)
            session.mount("https://", _CaBundleAdapter(str(ca_bundle), **pool))
        else:
            session.mount("https://", HTTPAdapter(**pool))
        policy = self.retry_policy or RetryPolicy.from_extra(self._extras)
        return RestTransport(
            session, credentials, self.api_version, policy, on_login=self._on_login, log=self.log
        )

    def _on_login(self, token: OAuthToken) -> None:
        mask_secret(token.access_token)
        client = self.__dict__.get("_client")
        if client is not None:  # keep a client handed out by get_conn() usable after a renewal
            client.session_id = token.access_token
            client.headers["Authorization"] = f"Bearer {token.access_token}"

    @cached_property
    def _client(self) -> Salesforce:
        token = self._transport.token()
        return Salesforce(
            instance_url=token.instance_url,
            session_id=token.access_token,
            version=self.api_version,
            session=self._transport.session,
        )

    def get_conn(self) -> Salesforce:
        """An authenticated ``simple_salesforce.Salesforce`` client (cached; TLS per ``ca_bundle``)."""
        return self._client

    @property
    def api_calls(self) -> int:
        """REST calls this hook instance made so far (logins not included)."""
        transport = self.__dict__.get("_transport")
        return transport.api_calls if transport else 0

    @property
    def api_usage(self) -> tuple[int, int] | None:
        """``(used, max)`` daily API requests, from the last ``Sforce-Limit-Info`` seen."""
        transport = self.__dict__.get("_transport")
        return transport.api_usage if transport else None

    @property
    def instance_url(self) -> str:
        """The org's instance URL, as the token endpoint gave it (logs in when needed)."""
        return self._transport.token().instance_url

    @property
    def user_id(self) -> str:
        """The 18-character Id of the user the connection logs in as."""
        return self._transport.token().user_id

    @property
    def org_id(self) -> str:
        """The 18-character Id of the org the connection logs in to (from the token's identity URL).

        A refreshed sandbox org has a new Id, so whatever is keyed by it (the sync state) starts afresh.
        """
        org_id = self._transport.token().org_id
        if org_id is None:
            raise SfCrmApiError(
                "the token endpoint's answer names no org: its identity URL ('id') is not "
                ".../id/<orgId>/<userId>"
            )
        return to18(org_id)

    # -- simple calls -----------------------------------------------------------------------

    def _json(self, method: str, path: str, *, label: str = "", **kwargs: Any) -> Any:
        label = label or f"{method} {path.split('?', 1)[0]}"
        response = self._transport.request(method, path, label=label, **kwargs)
        if response.status_code >= 300:
            code, message = api_error(response)
            raise SfCrmApiError(f"{label}: {code}: {message}", status=response.status_code, error_code=code)
        return response.json() if response.content else None

    def test_connection(self) -> tuple[bool, str]:
        """Log in and read the org's limits; ``(False, <Salesforce's reason>)`` instead of raising."""
        transport = None
        try:
            transport = self._transport
            # Someone is waiting on the Test button: a few quick retries, not a long backoff.
            policy = transport.policy
            transport.policy = replace(
                policy,
                max_attempts=min(policy.max_attempts, 3),
                max_retry_time_s=min(policy.max_retry_time_s, 15),
            )
            token = transport.token()
            used, maximum = self.daily_api_usage()
            username = self._credentials.username or self._username_of(token.user_id)
            return True, (
                f"Connected to {token.instance_url} as {username}; API v{self.api_version}, "
                f"{used} of {maximum} daily API requests used"
            )
        except SfCrmAuthError as exc:
            return False, self._scrub(f"{exc.error}: {exc.description}")
        except SfCrmError as exc:
            return False, self._scrub(str(exc))
        except Exception as exc:  # the UI's Test button must always get an answer
            return False, self._scrub(f"{exc.__class__.__name__}: {exc}")
        finally:
            if transport is not None:
                transport.policy = policy

    def _scrub(self, text: str) -> str:
        credentials = self.__dict__.get("_credentials")
        for secret in credentials.secrets() if credentials else ():
            if len(secret) >= 4:  # shorter values would mangle ordinary words
                text = text.replace(secret, "***")
        return text

    def _username_of(self, user_id: str) -> str:
        rows = self.query_all(format_soql("SELECT Username FROM User WHERE Id = {}", user_id))
        return str(rows[0]["Username"]) if rows else user_id

    def describe_object(self, sobject: str, *, refresh: bool = False) -> dict:
        """The describe JSON of ``sobject`` (fields visible to the user), cached per hook."""
        validate_api_name(sobject, "object name")
        if refresh or sobject not in self._describes:
            self._describes[sobject] = self._json("GET", f"sobjects/{sobject}/describe/")
        return self._describes[sobject]

    def query_all(self, soql: str) -> list[dict]:
        """All records of a SOQL query, following ``nextRecordsUrl`` pages.

        Build ``soql`` with ``simple_salesforce.format_soql`` so that literals are escaped.
        """
        return [record for page in self.query_pages(soql) for record in page]

    def query_pages(self, soql: str, *, include_deleted: bool = False) -> Iterator[list[dict]]:
        """The records of a SOQL query, one REST page (up to 2,000) at a time, as they are fetched.

        :param include_deleted: ``queryAll``: also records in the recycle bin (``IsDeleted`` true).
        """
        resource = "queryAll/" if include_deleted else "query/"
        label = f"GET {resource.rstrip('/')}"
        page = self._json("GET", resource, params={"q": soql}, label=label)
        yield list(page.get("records", []))
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            page = self._json("GET", page["nextRecordsUrl"], label=f"{label} (next page)")
            yield list(page.get("records", []))

    def count_records(self, soql: str, *, include_deleted: bool = False) -> int:
        """The ``totalSize`` of a ``SELECT COUNT() ...`` query (one call)."""
        resource = "queryAll/" if include_deleted else "query/"
        page = self._json("GET", resource, params={"q": soql}, label=f"GET {resource.rstrip('/')} (count)")
        return int(page.get("totalSize", 0))

    def bulk2_query_jobs(self) -> Bulk2QueryJobs:
        """Bulk API 2.0 query jobs through this hook's session (create, wait, read results, delete)."""
        return Bulk2QueryJobs(self._transport)

    def bulk2_ingest_jobs(self) -> Bulk2IngestJobs:
        """Bulk API 2.0 ingest jobs through this hook's session (create, upload, close, results, abort)."""
        return Bulk2IngestJobs(self._transport)

    def daily_api_usage(self) -> tuple[int, int]:
        """``(used, max)`` of the org's daily API requests, from the ``limits`` resource."""
        daily = (self._json("GET", "limits/") or {}).get("DailyApiRequests") or {}
        maximum = int(daily.get("Max", 0))
        return maximum - int(daily.get("Remaining", 0)), maximum

    def get_user_permission_set_id(self) -> str:
        """Id of the profile-owned PermissionSet of the connection's user (target of FLS grants)."""
        users = self.query_all(format_soql("SELECT ProfileId FROM User WHERE Id = {}", self.user_id))
        if not users or not users[0].get("ProfileId"):
            raise SfCrmApiError(f"the connection's user {self.user_id} has no profile visible to SOQL")
        sets = self.query_all(
            format_soql(
                "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true AND ProfileId = {}",
                users[0]["ProfileId"],
            )
        )
        if not sets:
            raise SfCrmApiError(f"no profile-owned PermissionSet found for profile {users[0]['ProfileId']}")
        return str(sets[0]["Id"])

    def create_custom_field(self, sobject: str, field_name: str, metadata: Mapping[str, Any]) -> str:
        """Create ``sobject.field_name`` through the Tooling API; returns the new ``00N`` Id.

        :param metadata: CustomField metadata, e.g. ``{"type": "LongTextArea", "label": "...",
            "length": 32768, "visibleLines": 3}``.
        """
        validate_api_name(sobject, "object name")
        validate_api_name(field_name, "field name")
        body = {"FullName": f"{sobject}.{field_name}", "Metadata": dict(metadata)}
        developer_name = field_name[:-3] if field_name.endswith("__c") else field_name

        def existing() -> list[dict]:
            soql = format_soql(
                "SELECT Id FROM CustomField WHERE TableEnumOrId = {} AND DeveloperName = {}",
                sobject,
                developer_name,
            )
            return self._json("GET", "tooling/query/", params={"q": soql}, label="GET tooling query")[
                "records"
            ]

        return self._create_once("tooling/sobjects/CustomField", body, existing)

    def _create_once(self, path: str, body: dict, existing: Callable[[], list[dict]]) -> str:
        """POST a create; if its answer is lost, look it up instead of blindly creating it twice."""
        try:
            return str(self._json("POST", path, json=body, idempotent=False)["id"])
        except SfCrmOutcomeUnknownError:
            found = existing()
            if found:
                self.log.info("%s: the lost create did happen; using %s", path, found[0]["Id"])
                return str(found[0]["Id"])
            self.log.info("%s: the lost create did not happen; sending it again", path)
            return str(self._json("POST", path, json=body, idempotent=False)["id"])

    def grant_field_access(
        self, sobject: str, field_name: str, permission_set_id: str, *, read: bool = True, edit: bool = True
    ) -> str:
        """Grant field-level security on ``sobject.field_name``; returns the FieldPermissions Id."""
        validate_api_name(sobject, "object name")
        validate_api_name(field_name, "field name")
        if not is_well_formed(permission_set_id) or not has_prefix_of(permission_set_id, "PermissionSet"):
            raise SfCrmConfigError(f"{permission_set_id!r} is not a PermissionSet Id (0PS...)")
        body = {
            "ParentId": permission_set_id,
            "SobjectType": sobject,
            "Field": f"{sobject}.{field_name}",
            "PermissionsRead": bool(read or edit),
            "PermissionsEdit": bool(edit),
        }
        soql = format_soql(
            "SELECT Id FROM FieldPermissions WHERE ParentId = {} AND Field = {}",
            permission_set_id,
            body["Field"],
        )
        return self._create_once("sobjects/FieldPermissions", body, lambda: self.query_all(soql))

    # -- writes -----------------------------------------------------------------------------

    def upsert_records(
        self,
        sobject: str,
        records: Sequence[Mapping[str, Any]],
        external_id_field: str | None = "Id",
        *,
        all_or_none: bool = False,
        batch_size: int = 200,
        max_workers: int = 4,
        auto_assign: bool | str = False,
        progress: Callable[[int], None] | None = None,
        stop: threading.Event | None = None,
        duplicate_rule_header: Mapping[str, bool | None] | None = None,
        on_batch: Callable[[int, list[RecordResult]], None] | None = None,
    ) -> list[RecordResult]:
        """Write ``records`` through sObject Collections; one result per record, in input order.

        :param sobject: object API name, e.g. ``Contact`` or ``Lead``.
        :param records: field dicts (not modified); ``attributes.type`` is added on the wire.
        :param external_id_field: ``"Id"`` updates by Salesforce Id, another field upserts on
            that external-id field, ``None`` inserts (never resent when its outcome is unknown:
            those records come back with status code ``UNKNOWN_OUTCOME``).
        :param all_or_none: Salesforce's ``allOrNone`` per batch.
        :param batch_size: records per request, 1..200.
        :param max_workers: concurrent requests, capped at 25.
        :param auto_assign: ``Sforce-Auto-Assign``: False (default, assignment rules do not run),
            True, or an AssignmentRule Id.
        :param progress: called with the number of records just finished after each batch.
        :param stop: once set, no further batch is sent; requests in flight finish, and the
            records not sent come back with status code ``TASK_STOPPED`` (safe to re-send).
        :param duplicate_rule_header: ``Sforce-Duplicate-Rule-Header`` options: ``allow_save``
            (save records that active *alert* duplicate rules match; block rules still block),
            ``include_record_details``, ``run_as_current_user`` — each True, False or None (not
            sent). None (default): no header, the org's duplicate rules apply as configured.
        :param on_batch: called in the calling thread as each request finishes, with the position of
            its first record and its records' results — to record what Salesforce confirmed at once
            rather than when the whole list is done (a task killed mid-list then loses the record of
            at most the requests in flight). An exception it raises stops the write and propagates.
        """
        if not isinstance(records, Sequence):  # e.g. a generator: batches need len() and indexing
            records = list(records)
        writer = CollectionsWriter(
            self._transport,
            sobject,
            external_id_field,
            all_or_none=all_or_none,
            auto_assign=auto_assign,
            log=self.log,
            duplicate_rules=duplicate_rule_header,
        )
        return writer.write(
            records,
            batch_size=batch_size,
            max_workers=max_workers,
            progress=progress,
            stop=stop,
            on_batch=on_batch,
        )
