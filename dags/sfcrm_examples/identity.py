"""Each profile's Salesforce Id, found by e-mail in the Contact and Lead extracts: the identity loop closed.

``example_sfcrm_extract_contacts_leads`` writes the Contacts and Leads that changed each hour. This
helper reads all of those file sets, keeps the latest version of each record and drops the deleted
ones (the objects as the org holds them), and joins them to the team's profiles on the e-mail address
(trimmed, case-insensitive). A profile whose address is a Contact's gets that Contact's Id; else a
Lead's, if it is one that has not been converted (a converted lead's person lives on as a Contact).
When several records of that object share an address, the most recently changed one wins, and the
profile is counted as ``ambiguous`` so that someone can clean the duplicates up.

DuckDB does the work on the Parquet files, out of core: memory stays small whatever the number of hours
and records. Only file sets whose ``_manifest.json`` exists are read (a set being written has none yet).

Use it from a task scheduled on the extract's Asset::

    from sfcrm_examples.identity import resolve_salesforce_ids

    counts = resolve_salesforce_ids(
        "profiles.parquet",                                # profile_id, email, ...
        {"Contact": f"{lake}/salesforce/Contact", "Lead": f"{lake}/salesforce/Lead"},
        "profiles_with_ids.parquet",
    )
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

# Which object's record a profile gets when both know its address: a Contact before a Lead.
PRECEDENCE = ("Contact", "Lead")


@dataclass(frozen=True)
class Resolution:
    """What the join found; ``profiles == contact + lead + unmatched``."""

    profiles: int
    contact: int
    lead: int
    unmatched: int
    ambiguous: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def published_parts(root: str | Path) -> list[str]:
    """The Parquet parts of every published file set under ``root`` (one directory per interval)."""
    import json

    parts: list[str] = []
    for manifest in sorted(Path(root).glob("*/_manifest.json")):
        if manifest.parent.name.startswith("."):  # a set being written or replaced
            continue
        parts += [str(manifest.parent / name) for name in json.loads(manifest.read_text())["files"]]
    return parts


def _current_records(sobject: str, parts: list[str]) -> str:
    """SQL of the object's live records with an address: latest version per Id, deletions dropped."""
    files = ", ".join("'" + part.replace("'", "''") + "'" for part in parts)
    converted = "AND NOT coalesce(IsConverted, false)" if sobject == "Lead" else ""
    return f"""
        SELECT Id, lower(trim(Email)) AS email, SystemModstamp, '{sobject}' AS sobject,
               {PRECEDENCE.index(sobject)} AS precedence
        FROM (
            SELECT * FROM read_parquet([{files}], union_by_name = true)
            QUALIFY row_number() OVER (PARTITION BY Id ORDER BY SystemModstamp DESC) = 1
        )
        WHERE NOT IsDeleted AND nullif(trim(Email), '') IS NOT NULL {converted}
    """


def resolve_salesforce_ids(
    profiles_path: str | Path,
    extract_roots: Mapping[str, str | Path],
    output_path: str | Path,
    *,
    profile_id_column: str = "profile_id",
    email_column: str = "email",
) -> Resolution:
    """Write ``profiles_path``'s rows with ``salesforce_id`` and ``salesforce_object`` added.

    :param profiles_path: Parquet file of profiles (one row per profile).
    :param extract_roots: ``{"Contact": <dir>, "Lead": <dir>}``: the directories holding the extract's
        file sets of each object (either may be left out).
    :param output_path: the Parquet file written (atomically: a temporary name, then a rename).
    :return: how many profiles got a Contact, a Lead or nothing, and how many matched several records.
    """
    import duckdb

    unknown = set(extract_roots) - set(PRECEDENCE)
    if unknown:
        raise ValueError(f"extract_roots may name {', '.join(PRECEDENCE)}, not {sorted(unknown)}")
    for column in (profile_id_column, email_column):
        if not column.isidentifier():
            raise ValueError(f"{column!r} is not a column name")
    sources = {s: published_parts(root) for s, root in extract_roots.items()}
    selects = [_current_records(s, parts) for s, parts in sources.items() if parts]
    candidates = " UNION ALL ".join(selects) or (
        "SELECT NULL::VARCHAR AS Id, NULL::VARCHAR AS email, NULL::TIMESTAMPTZ AS SystemModstamp, "
        "NULL::VARCHAR AS sobject, 0 AS precedence WHERE false"
    )
    output = Path(output_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_name(f".{output.name}.{uuid.uuid4().hex[:8]}.tmp")
    with duckdb.connect() as db:
        db.execute(
            f"""
            CREATE TEMP TABLE matched AS
            WITH candidates AS ({candidates}),
            ranked AS (
                SELECT p.*, c.Id AS salesforce_id, c.sobject AS salesforce_object,
                       -- records of the winning object that share the address
                       count(c.Id) OVER (PARTITION BY p.{profile_id_column}, c.precedence) AS candidates,
                       row_number() OVER (
                           PARTITION BY p.{profile_id_column}
                           ORDER BY c.precedence, c.SystemModstamp DESC, c.Id
                       ) AS rank
                FROM read_parquet(?) AS p
                LEFT JOIN candidates AS c ON c.email = lower(trim(p.{email_column}))
            )
            SELECT * EXCLUDE (rank) FROM ranked WHERE rank = 1 ORDER BY {profile_id_column}
            """,
            [str(profiles_path)],
        )
        counts = db.execute(
            """
            SELECT count(*), count(*) FILTER (salesforce_object = 'Contact'),
                   count(*) FILTER (salesforce_object = 'Lead'), count(*) FILTER (salesforce_id IS NULL),
                   count(*) FILTER (candidates > 1)
            FROM matched
            """
        ).fetchone()
        db.execute(
            "COPY (SELECT * EXCLUDE (candidates) FROM matched) TO ? (FORMAT parquet)", [str(temporary)]
        )
    os.replace(temporary, output)
    return Resolution(*counts)
