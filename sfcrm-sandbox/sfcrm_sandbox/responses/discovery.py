"""Discovery: the versions list (``/services/data``), a version's resource directory and ``limits``."""

from __future__ import annotations

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
)
_COMPOSITE_RESOURCES = ("tree", "sobjects")
_TOOLING_RESOURCES = ("sobjects", "query")


def _directory(call: Call, prefix: str, names: tuple[str, ...]) -> Reply:
    base = f"/services/data/v{call.version}{prefix}"
    return Reply(200, {name: f"{base}/{name}" for name in names})


class DiscoveryResponses:
    """``GET /services/data/``, ``GET /services/data/vXX.X/`` and ``limits``.

    :param usage: the org's API usage (for ``limits``).
    """

    def __init__(self, usage: ApiUsage) -> None:
        self.usage = usage

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

    def tooling_resources(self, call: Call) -> Reply:
        return _directory(call, "/tooling", _TOOLING_RESOURCES)

    def limits(self, call: Call) -> Reply:
        return Reply(
            200,
            {
                "DailyApiRequests": {"Max": self.usage.daily_limit, "Remaining": self.usage.remaining},
                "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
                "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
                "DataStorageMB": {"Max": 1024, "Remaining": 1024},
            },
        )
