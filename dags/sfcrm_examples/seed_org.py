"""Give the example profile store a matching org: create its people as Contacts and Leads.

In real life the people already exist in Salesforce and the warehouse holds their Ids. For the
sandbox (and ``make demo``), this creates one Contact or Lead per person of the store who has no
Salesforce Id yet, then writes the new Ids back into the store's ``profiles.salesforce_id``. People
marked ``in_crm = 0`` are left out on purpose: an activation rejects them (``MISSING_IDENTITY``).
Running it again creates nobody twice.

    python dags/sfcrm_examples/seed_org.py --store PATH [--profiles N] [--sfcrm-conn-id ID]

generates the store first when PATH does not exist. The connection comes from Airflow
(``AIRFLOW_CONN_SFCRM_DEFAULT`` or the metadata database).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``sfcrm_examples`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sfcrm_examples.profile_store import (  # noqa: E402
    DEFAULT_PROFILES,
    generate_profile_store,
    profiles_to_create,
    set_salesforce_ids,
)

CRM_OBJECTS = ("Contact", "Lead")


def _record(person: dict[str, Any], sobject: str) -> dict[str, Any]:
    record = {"FirstName": person["first_name"], "LastName": person["last_name"], "Email": person["email"]}
    if sobject == "Lead":
        record["Company"] = person["company"]
    return record


def seed_org(
    store_path: str | Path, *, sfcrm_conn_id: str = "sfcrm_default", hook: Any = None
) -> dict[str, int]:
    """Create the store's missing Contacts and Leads; return how many of each were created."""
    if hook is None:
        from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook

        hook = SalesforceCrmHook(sfcrm_conn_id=sfcrm_conn_id)
    created: dict[str, int] = {}
    for sobject in CRM_OBJECTS:
        people = profiles_to_create(store_path, sobject)
        results = hook.upsert_records(sobject, [_record(p, sobject) for p in people], external_id_field=None)
        ids = {
            person["profile_id"]: result.id
            for person, result in zip(people, results, strict=True)
            if result.success
        }
        # Keep the Ids of those created even when some failed, so that a rerun does not duplicate them.
        set_salesforce_ids(store_path, ids)
        failures = Counter(
            result.errors[0].status_code if result.errors else "UNKNOWN"
            for result in results
            if not result.success
        )
        if failures:
            raise RuntimeError(f"could not create {sum(failures.values())} {sobject}s: {dict(failures)}")
        created[sobject] = len(ids)
    return created


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Create the profile store's people in a Salesforce org.")
    parser.add_argument("--store", type=Path, required=True, help="the profile store (SQLite file)")
    parser.add_argument("--profiles", type=int, default=DEFAULT_PROFILES, help="size when generating it")
    parser.add_argument("--sfcrm-conn-id", default="sfcrm_default")
    args = parser.parse_args(argv)
    if not args.store.exists():
        counts = generate_profile_store(args.store, profiles=args.profiles)
        print(f"generated {args.store}: {counts}")
    created = seed_org(args.store, sfcrm_conn_id=args.sfcrm_conn_id)
    print("created " + ", ".join(f"{n} {sobject}s" for sobject, n in created.items()))


if __name__ == "__main__":
    main()
