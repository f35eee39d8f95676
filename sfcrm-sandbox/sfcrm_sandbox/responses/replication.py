"""``sobjects/{sobject}/updated`` and ``sobjects/{sobject}/deleted`` (getUpdated / getDeleted)."""

from __future__ import annotations

import datetime as dt

from sfcrm_sandbox.models.replication import ReplicationError, deleted_records, updated_ids, window
from sfcrm_sandbox.models.soql_syntax import parse_instant
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.values import format_datetime
from sfcrm_sandbox.responses.call import Call, Reply, api_error, not_found


class ReplicationResponses:
    """The records of an object changed or deleted in a window of the last 30 days.

    :param store: the org's data.
    """

    def __init__(self, store: OrgStore) -> None:
        self.store = store

    def updated(self, call: Call) -> Reply:
        spec = self.store.object_spec(call.params["sobject"])
        if spec is None:
            return not_found()
        try:
            span = window(call.query.get("start"), call.query.get("end"), now=self.store.clock.now())
            ids = updated_ids(self.store.stream(spec.name), span)
        except ReplicationError as exc:
            return api_error(400, exc.error_code, exc.message)
        return Reply(200, {"ids": ids, "latestDateCovered": format_datetime(span.latest_covered)})

    def deleted(self, call: Call) -> Reply:
        spec = self.store.object_spec(call.params["sobject"])
        if spec is None:
            return not_found()
        try:
            span = window(call.query.get("start"), call.query.get("end"), now=self.store.clock.now())
            found = deleted_records(self.store.stream(spec.name, include_deleted=True), span)
        except ReplicationError as exc:
            return api_error(400, exc.error_code, exc.message)
        return Reply(
            200,
            {
                "deletedRecords": found,
                "earliestDateAvailable": format_datetime(self._org_created().replace(second=0)),
                "latestDateCovered": format_datetime(span.latest_covered),
            },
        )

    def _org_created(self) -> dt.datetime:
        organization = self.store.get(self.store.org_id or "")
        assert organization is not None
        return parse_instant(organization[2]["CreatedDate"].replace("+0000", "Z"))
