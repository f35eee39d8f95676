"""An org with its Bulk service and no server, for the Bulk models' tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from sfcrm_sandbox.models.bulk_engine import BulkSettings
from sfcrm_sandbox.models.bulk_jobs import BulkOrg
from sfcrm_sandbox.models.bulk_limits import BulkLimits
from sfcrm_sandbox.models.custom_fields import custom_field_spec
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.usage import ApiUsage
from sfcrm_sandbox.models.writes import Writer
from tests.unit.models._org import grant


class FakeClock:
    """Seconds that pass only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def bulk_org(tmp_path: Path, clock: FakeClock | None = None, **settings) -> Iterator[BulkOrg]:
    """A Bulk service on a fresh org; ``settings`` are :class:`BulkSettings` fields (or ``limits=``)."""
    store = OrgStore(tmp_path / "org.sqlite3", "user@example.com")
    settings.setdefault("records_per_s", 0)
    settings.setdefault("job_latency_ms", 0)
    settings.setdefault("limits", BulkLimits())
    org = BulkOrg(store, Writer(store), ApiUsage(1000), BulkSettings(**settings), clock or FakeClock())
    yield org
    store.close()


def external_key(org: BulkOrg, sobject: str = "Contact", name: str = "Key__c") -> None:
    """Give ``sobject`` a readable, editable external-id text field ``name``."""
    org.store.add_custom_field(
        sobject, custom_field_spec(name, {"type": "Text", "length": 40, "externalId": True})
    )
    grant(org.store, Writer(org.store), sobject, name)


def live(org: BulkOrg, sobject: str = "Contact") -> list[dict]:
    return [data for _, _, data in org.store.scan(sobject)]
