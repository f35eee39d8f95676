"""Discovery: the versions list (``/services/data``), a version's resource directory and ``limits``."""

from __future__ import annotations

from sfcrm_sandbox.models.bulk_limits import BulkAllocations
from sfcrm_sandbox.models.usage import ApiUsage
from sfcrm_sandbox.models.versions import LATEST_VERSION, OLDEST_VERSION, version_label
from sfcrm_sandbox.responses.call import Call, Reply

# The resource directory lists exactly the resources the sandbox answers (Salesforce's lists more).
_RESOURCES = (
    "sobjects",
    "query",
    "queryAll",
    "limits",
    "composite",
    "tooling",
    "search",
    "parameterizedSearch",
    "jobs",
)
_COMPOSITE_RESOURCES = ("tree", "sobjects")
# Bulk API 2.0. UNVERIFIED: what Salesforce answers to GET jobs itself; the sandbox lists its two
# job kinds, as it does for composite and tooling.
_JOBS_RESOURCES = ("ingest", "query")
_TOOLING_RESOURCES = ("sobjects", "query")


def _directory(call: Call, prefix: str, names: tuple[str, ...]) -> Reply:
    base = f"/services/data/v{call.version}{prefix}"
    return Reply(200, {name: f"{base}/{name}" for name in names})


class DiscoveryResponses:
    """``GET /services/data/``, ``GET /services/data/vXX.X/`` and ``limits``.

    :param usage: the org's API usage (for ``limits``).
    :param bulk: what the org's Bulk work has spent of its daily allocations (for ``limits``).
    """

    def __init__(self, usage: ApiUsage, bulk: BulkAllocations) -> None:
        self.usage = usage
        self.bulk = bulk

    def versions(self, call: Call) -> Reply:
        """Every supported version; needs no session and carries no ``Sforce-Limit-Info``."""
        return Reply(
            200,
            [
                {"label": version_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
                for v in range(OLDEST_VERSION, LATEST_VERSION + 1)
            ],
        )

    def resources(self, call: Call) -> Reply:
        return _directory(call, "", _RESOURCES)

    def composite_resources(self, call: Call) -> Reply:
        """``GET composite``: the composite resources (``POST composite`` runs subrequests)."""
        return _directory(call, "/composite", _COMPOSITE_RESOURCES)

    def jobs_resources(self, call: Call) -> Reply:
        """``GET jobs``: the Bulk API 2.0 job kinds."""
        return _directory(call, "/jobs", _JOBS_RESOURCES)

    def tooling_resources(self, call: Call) -> Reply:
        return _directory(call, "/tooling", _TOOLING_RESOURCES)

    def limits(self, call: Call) -> Reply:
        return Reply(
            200,
            {
                "DailyApiRequests": {"Max": self.usage.daily_limit, "Remaining": self.usage.remaining},
                **self.bulk.limits_entries(),
                "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
                "DataStorageMB": {"Max": 1024, "Remaining": 1024},
            },
        )
