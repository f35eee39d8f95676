"""REST routing under ``/services/data/vXX.X/``, plus discovery, limits and describe resources.

Handlers are synchronous and short (SQLite on the event loop); :mod:`app` wraps them with auth,
limits, faults and latency. Each returns a :class:`Reply`; whole-request errors are JSON arrays
``[{"message", "errorCode"[, "fields"]}]`` as Salesforce sends them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from email.utils import formatdate, parsedate_to_datetime

from sfcrm_sandbox.protocol import Call, Reply, not_found
from sfcrm_sandbox.query import SoqlResource
from sfcrm_sandbox.records import RecordResources
from sfcrm_sandbox.schema import (
    OBJECTS,
    object_describe,
    object_summary,
)
from sfcrm_sandbox.store import OrgStore
from sfcrm_sandbox.tooling import ToolingResources
from sfcrm_sandbox.writes import Writer

OLDEST_VERSION, LATEST_VERSION = 31, 67
_SEASONS = ("Winter", "Spring", "Summer")


def version_label(major: int) -> str:
    index = major - 59  # v59.0 = Winter '24; three releases a year
    return f"{_SEASONS[index % 3]} '{24 + index // 3:02d}"


def versions() -> list[dict[str, str]]:
    return [
        {"label": version_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(OLDEST_VERSION, LATEST_VERSION + 1)
    ]


class RestApi:
    """The REST resources of one org.

    :param store: the org's data.
    :param writer: applies writes (with fault-injected record locks).
    :param usage: returns ``(used, max)`` of the daily API allocation (for ``limits``).
    """

    def __init__(self, store: OrgStore, writer: Writer, usage: Callable[[], tuple[int, int]]) -> None:
        self.store = store
        self.usage = usage
        self.soql = SoqlResource(store)
        records, tooling = RecordResources(store, writer), ToolingResources(store)
        self.routes: list[tuple[str, re.Pattern[str], str, Callable[[Call], Reply]]] = []
        for method, template, handler in (
            ("GET", "", self.resources),
            ("GET", "/limits", self.limits),
            ("GET", "/sobjects", self.global_describe),
            ("GET", "/sobjects/{sobject}", self.sobject_info),
            ("POST", "/sobjects/{sobject}", records.create_record),
            ("GET", "/sobjects/{sobject}/describe", self.describe),
            ("GET", "/sobjects/{sobject}/{id}", records.get_record),
            ("PATCH", "/sobjects/{sobject}/{id}", records.update_record),
            ("DELETE", "/sobjects/{sobject}/{id}", records.delete_record),
            ("GET", "/sobjects/{sobject}/{field}/{value}", records.get_by_external_id),
            ("PATCH", "/sobjects/{sobject}/{field}/{value}", records.upsert_record),
            ("DELETE", "/sobjects/{sobject}/{field}/{value}", records.delete_by_external_id),
            ("POST", "/composite/sobjects", records.collection_create),
            ("PATCH", "/composite/sobjects", records.collection_update),
            ("DELETE", "/composite/sobjects", records.collection_delete),
            ("PATCH", "/composite/sobjects/{sobject}/{field}", records.collection_upsert),
            ("GET", "/composite/sobjects/{sobject}", records.collection_retrieve),
            ("POST", "/composite/sobjects/{sobject}", records.collection_retrieve),
            ("GET", "/query", self.query),
            ("GET", "/queryAll", self.query_all),
            ("GET", "/query/{locator}", self.query_more),
            ("GET", "/queryAll/{locator}", self.query_more),
            ("POST", "/tooling/sobjects/CustomField", tooling.create_field),
            ("GET", "/tooling/sobjects/CustomField/{id}", tooling.get_field),
            ("GET", "/tooling/query", self.tooling_query),
        ):
            pattern = re.escape(template)
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
            self.routes.append((method, re.compile(f"^{pattern}/?$"), template, handler))

    def match(
        self, method: str, path: str
    ) -> tuple[str, Callable[[Call], Reply], dict[str, str]] | list[str]:
        """The route for ``method path`` (path after ``/services/data/vXX.X``), or the allowed methods."""
        allowed: list[str] = []
        for route_method, pattern, template, handler in self.routes:
            found = pattern.match(path)
            if found:
                if route_method == method:
                    return template, handler, found.groupdict()
                allowed.append(route_method)
        return allowed

    # --- discovery, limits, describe ----------------------------------------------------------

    def resources(self, call: Call) -> Reply:
        base = f"/services/data/v{call.version}"
        names = (
            "sobjects",
            "query",
            "queryAll",
            "limits",
            "composite",
            "tooling",
            "jobs",
            "search",
            "recent",
        )
        return Reply(200, {name: f"{base}/{name}" for name in names})

    def limits(self, call: Call) -> Reply:
        used, maximum = self.usage()
        return Reply(
            200,
            {
                "DailyApiRequests": {"Max": maximum, "Remaining": max(0, maximum - used)},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
                "DataStorageMB": {"Max": 1024, "Remaining": 1024},
            },
        )

    def global_describe(self, call: Call) -> Reply:
        return Reply(
            200,
            {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [
                    object_summary(spec, call.version)
                    for spec in sorted(OBJECTS.values(), key=lambda s: s.name)
                ],
            },
        )

    def sobject_info(self, call: Call) -> Reply:
        spec = self.store.object_spec(call.params["sobject"])
        if spec is None:
            return not_found()
        return Reply(200, {"objectDescribe": object_summary(spec, call.version), "recentItems": []})

    def describe(self, call: Call) -> Reply:
        spec = self.store.object_spec(call.params["sobject"])
        if spec is None:
            return not_found()
        changed = self.store.schema_changed
        headers = {"Last-Modified": formatdate(changed, usegmt=True)}
        since = call.headers.get("if-modified-since")
        if since:
            try:
                if changed <= parsedate_to_datetime(since).timestamp():
                    return Reply(304, None, headers=headers)
            except (TypeError, ValueError):
                pass  # an unreadable date is ignored, as HTTP servers do
        fields = [
            field_spec.describe(readable_only=not editable)
            for field_spec, editable in self.store.visible_fields(spec.name).values()
        ]
        return Reply(200, object_describe(spec, call.version, fields), headers=headers)

    # --- SOQL ---------------------------------------------------------------------------------

    def query(self, call: Call) -> Reply:
        return self.soql.run(call, include_deleted=False)

    def query_all(self, call: Call) -> Reply:
        return self.soql.run(call, include_deleted=True)

    def query_more(self, call: Call) -> Reply:
        return self.soql.more(call)

    def tooling_query(self, call: Call) -> Reply:
        return self.soql.run(call, include_deleted=False, tooling=True)
