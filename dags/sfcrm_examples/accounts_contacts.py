"""Helpers of ``example_sfcrm_accounts_contacts``: the external-id fields it needs, and its sample data.

Imported by its tasks only (pyarrow loads inside :func:`write_sample`): DAG parsing stays light.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

#: The External ID field the example gives Account and Contact: the keys of the warehouse's rows.
EXTERNAL_ID_FIELD = "Ext_Id__c"
EXTERNAL_ID_METADATA = {"type": "Text", "label": "Ext Id", "length": 64, "externalId": True, "unique": True}

_COMPANIES = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
)
_INDUSTRIES = ("Technology", "Manufacturing", "Retail", "Banking", "Consulting")
_CITIES = (
    ("Boston", "02134", "United States"),  # a postal code with a leading zero: kept as text
    ("Lyon", "69002", "France"),
    ("Leeds", "LS1 4AP", "United Kingdom"),
    ("Turin", "10121", "Italy"),
)
_FIRST = ("Ada", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas")
_LAST = ("Abara", "Berger", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ivanova")


def ensure_external_id(hook: Any, sobject: str, permission_set_id: str | None = None) -> bool:
    """Give ``sobject`` the example's External ID field, editable by the connection's user, unless it
    already has it. Returns whether anything was done.

    A field that exists but is hidden from the user (no field permission yet) is granted, not
    created again.
    """
    from airflow_provider_sfcrm.exceptions import SfCrmApiError

    fields = {f["name"] for f in hook.describe_object(sobject, refresh=True)["fields"]}
    if EXTERNAL_ID_FIELD in fields:
        return False
    try:
        hook.create_custom_field(sobject, EXTERNAL_ID_FIELD, EXTERNAL_ID_METADATA)
    except SfCrmApiError as exc:
        if "DUPLICATE_DEVELOPER_NAME" not in str(exc):
            raise
    hook.grant_field_access(
        sobject, EXTERNAL_ID_FIELD, permission_set_id or hook.get_user_permission_set_id()
    )
    hook.describe_object(sobject, refresh=True)
    return True


def sample_rows(accounts: int, contacts_per_account: int, seed: int = 14) -> tuple[list[dict], list[dict]]:
    """``(accounts, contacts)``: rows as a warehouse would hold them, keyed by their own ids.

    The last contact belongs to an account the accounts file does not have (``PROSPECT-1``): its
    row shows how Salesforce answers a reference to a parent that does not exist.
    """
    rng = random.Random(seed)
    account_rows = []
    contact_rows = []
    for a in range(accounts):
        key = f"ACC-{a + 1:04d}"
        city, postal_code, country = _CITIES[a % len(_CITIES)]
        account_rows.append(
            {
                "account_key": key,
                "name": f"{_COMPANIES[a % len(_COMPANIES)]} {a + 1}",
                "industry": _INDUSTRIES[a % len(_INDUSTRIES)],
                "phone": f"+1 617 555 {a:04d}",
                "website": f"https://www.example.com/{key.lower()}",
                "employees": rng.randint(5, 50_000),
                "annual_revenue": str(rng.randint(1, 900) * 10_000),  # text, as some warehouses keep money
                "billing_city": city,
                "billing_country": country,
            }
        )
        for c in range(contacts_per_account):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            contact_rows.append(
                {
                    "contact_key": f"{key}-{c + 1:02d}",
                    "account_key": key,
                    "first_name": first,
                    "last_name": last,
                    "email": f"{first}.{last}.{a}.{c}@example.com".lower(),
                    "phone": f"+1 617 555 {a:04d} x{c + 1}",
                    "mobile": f"+1 857 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                    "mailing_street": f"{rng.randint(1, 300)} Main Street",
                    "mailing_city": city,
                    "mailing_postal_code": postal_code,
                    "mailing_country": country,
                    "birthdate": dt.date(1960 + rng.randint(0, 40), rng.randint(1, 12), rng.randint(1, 28)),
                }
            )
    contact_rows.append(
        {
            **contact_rows[-1],
            "contact_key": "PROSPECT-1-01",
            "account_key": "PROSPECT-1",
            "email": "orphan@example.com",
        }
    )
    return account_rows, contact_rows


def write_sample(directory: Any, accounts: int, contacts_per_account: int) -> dict[str, str]:
    """Write ``accounts.parquet`` and ``contacts.parquet`` (all text but counts and dates) into
    ``directory`` (an ObjectStoragePath); return their paths."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    account_rows, contact_rows = sample_rows(accounts, contacts_per_account)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, rows in (("accounts", account_rows), ("contacts", contact_rows)):
        table = pa.Table.from_pylist(rows)
        target = directory / f"{name}.parquet"
        with target.open("wb") as handle:
            pq.write_table(table, handle)
        paths[f"{name}_path"] = str(target)
        paths[f"{name}_rejected_path"] = str(directory / f"{name}_rejected.parquet")
    return paths
