"""Sandbox-only endpoints under ``/__sandbox`` (no auth): stats, reset, the org's clock, a stand-in for
lead conversion, the messages published to a platform event, and the org's duplicate rules."""

from __future__ import annotations

import json
from collections.abc import Callable

from sfcrm_sandbox.models.bulk_jobs import BulkOrg
from sfcrm_sandbox.models.duplicates import UnknownRule, rule_of
from sfcrm_sandbox.models.faults import Faults
from sfcrm_sandbox.models.ids import canonical_id
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.usage import ApiUsage
from sfcrm_sandbox.models.writes import Writer
from sfcrm_sandbox.responses.call import Call, Reply, not_found


class AdminResponses:
    """What tests, the demo and benchmarks ask the sandbox itself.

    :param store: the org.
    :param writer: applies writes (lead conversion).
    :param usage: the org's API usage and the sandbox's counters.
    :param faults: the injected faults (their counts go into the stats).
    :param forget_queries: drops every query result waiting for its next page (on reset).
    :param bulk: the org's Bulk jobs (their counts go into the stats; reset forgets them).
    """

    def __init__(
        self,
        store: OrgStore,
        writer: Writer,
        usage: ApiUsage,
        faults: Faults,
        forget_queries: Callable[[], None],
        bulk: BulkOrg,
    ) -> None:
        self.store = store
        self.writer = writer
        self.usage = usage
        self.faults = faults
        self.forget_queries = forget_queries
        self.bulk = bulk

    def stats(self, call: Call) -> Reply:
        usage = self.usage
        return Reply(
            200,
            {
                "api_calls": usage.calls,
                "api_calls_by_route": dict(sorted(usage.by_route.items())),
                "records": dict(sorted(self.store.counts.items())),
                "events": dict(sorted(self.store.events.counts().items())),
                "records_written": usage.records_written,
                "api_usage": {"used": usage.used, "max": usage.daily_limit},
                "faults": self.faults.summary()["injected"],
                "max_in_flight": usage.max_in_flight,
                "bulk": self.bulk.stats(),
            },
        )

    def reset(self, call: Call) -> Reply:
        """Empty the org's business records and forget its Bulk jobs (schema, custom fields, users,
        permissions and the daily allocations stay)."""
        self.store.reset()
        self.forget_queries()
        self.bulk.clear()
        return Reply(200, {"reset": True, "records": dict(self.store.counts)})

    def events(self, call: Call) -> Reply:
        """``{"events": [...]}``: the messages published to platform event ``name``, in publish order."""
        spec = self.store.find_object(call.params["name"])
        if spec is None or not spec.event:
            return not_found(f"No platform event named {call.params['name']}")
        return Reply(200, {"events": self.store.events.messages(spec.name)})

    def duplicate_rules(self, call: Call) -> Reply:
        """``{"rules": [{"object", "field", "name", "matchingRule", "active"}]}``."""
        return Reply(200, {"rules": self.store.duplicate_rules.state()})

    def set_duplicate_rules(self, call: Call) -> Reply:
        """Switch rules on or off: a JSON object ``{"Lead": true, "Contact": false}`` (objects left out
        keep their state); answers the rules as ``GET`` does."""
        try:
            wanted = json.loads(call.raw or b"{}")
            if not isinstance(wanted, dict) or not all(isinstance(v, bool) for v in wanted.values()):
                raise ValueError("the body must be a JSON object of object names to true or false")
            for sobject in wanted:
                rule_of(sobject)
        except (ValueError, UnknownRule) as exc:
            return Reply(400, {"error": str(exc)})
        for sobject, active in wanted.items():
            self.store.duplicate_rules.set_active(sobject, active)
        return self.duplicate_rules(call)

    def convert_lead(self, call: Call) -> Reply:
        """Mark a Lead converted: Salesforce converts leads through SOAP/Apex, which the sandbox lacks."""
        record_id = canonical_id(call.params["id"])
        converted = record_id is not None and self.writer.convert_lead(record_id)
        return Reply(200 if converted else 404, {"converted": converted})

    def clock(self, call: Call) -> Reply:
        """``GET /__sandbox/clock``: the org's now and whether it stands still."""
        return Reply(200, self.store.clock.state())

    def set_clock(self, call: Call) -> Reply:
        """``POST /__sandbox/clock`` ``{"now": ISO, "advance_s": n, "frozen": bool}`` (each optional)."""
        try:
            settings = json.loads(call.raw or b"{}")
            self.store.clock.configure(settings)
        except ValueError as exc:  # ClockError, or a body that is not JSON
            return Reply(400, {"error": "INVALID_CLOCK", "message": str(exc)})
        return Reply(200, self.store.clock.state())
