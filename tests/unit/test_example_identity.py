"""sfcrm_examples.identity: profiles joined to the current Contacts and Leads of the extract's file sets."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fsspec.implementations.local import LocalFileSystem

from airflow_provider_sfcrm.extraction.output import FileSetWriter

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dags"))
from sfcrm_examples.identity import published_parts, resolve_salesforce_ids  # noqa: E402

UTC = dt.timezone.utc
T = dt.datetime(2024, 3, 1, tzinfo=UTC)
CONTACT = pa.schema(
    [
        ("Id", pa.string()),
        ("Email", pa.string()),
        ("SystemModstamp", pa.timestamp("ms", tz="UTC")),
        ("IsDeleted", pa.bool_()),
    ]
)
LEAD = CONTACT.append(pa.field("IsConverted", pa.bool_()))


def file_set(root: Path, hour: int, schema: pa.Schema, rows: list[tuple]) -> None:
    """One extract file set (as the operator writes it) for the hour starting at T + hour."""
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    batch = pa.record_batch(
        [pa.array(c, f.type) for c, f in zip(columns, schema, strict=True)], schema=schema
    )
    with FileSetWriter(
        LocalFileSystem(), str(root / f"{T + dt.timedelta(hours=hour):%Y%m%dT%H%M%S}"), schema
    ) as out:
        out.write(batch)
        out.commit({"sobject": "x"})


def at(minutes: int) -> dt.datetime:
    return T + dt.timedelta(minutes=minutes)


@pytest.fixture
def lake(tmp_path):
    contacts, leads = tmp_path / "Contact", tmp_path / "Lead"
    file_set(
        contacts,
        0,
        CONTACT,
        [
            ("003A", "Ada@Example.com ", at(1), False),
            ("003B", "grace@example.com", at(2), False),
            ("003C", "old@example.com", at(3), False),
            ("003D", "gone@example.com", at(4), False),
            ("003E", "dup@example.com", at(5), False),
        ],
    )
    file_set(
        contacts,
        1,
        CONTACT,
        [
            (
                "003C",
                "alan@example.com",
                at(61),
                False,
            ),  # the address changed: the old one is no match any more
            ("003D", "gone@example.com", at(62), True),  # deleted
            ("003F", "dup@example.com", at(63), False),  # a second Contact with the same address, newer
        ],
    )
    file_set(
        leads,
        0,
        LEAD,
        [
            ("00QA", "ada@example.com", at(10), False, False),  # also a Contact: the Contact wins
            ("00QB", "lead@example.com", at(11), False, False),
            ("00QC", "converted@example.com", at(12), False, True),  # converted: its person is a Contact now
        ],
    )
    file_set(leads, 2, LEAD, [])  # an hour without changes
    # A file set still being written has no manifest: it is not read.
    (contacts / ".20240301T030000.tmp-1234").mkdir()
    pq.write_table(
        pa.table({"Id": ["003Z"], "Email": ["ada@example.com"]}),
        contacts / ".20240301T030000.tmp-1234" / "part-00000.parquet",
    )
    profiles = tmp_path / "profiles.parquet"
    pq.write_table(
        pa.table(
            {
                "profile_id": ["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8"],
                "email": [
                    "ada@example.com",
                    "GRACE@example.com",
                    "alan@example.com",
                    "old@example.com",
                    "gone@example.com",
                    "dup@example.com",
                    "lead@example.com",
                    None,
                ],
                "segment": ["a"] * 8,
            }
        ),
        profiles,
    )
    return tmp_path, profiles


def test_each_profile_gets_the_id_of_its_current_record(lake, tmp_path):
    root, profiles = lake
    counts = resolve_salesforce_ids(
        profiles, {"Contact": root / "Contact", "Lead": root / "Lead"}, tmp_path / "out" / "ids.parquet"
    )
    table = pq.read_table(tmp_path / "out" / "ids.parquet")
    got = {r["profile_id"]: (r["salesforce_id"], r["salesforce_object"]) for r in table.to_pylist()}
    assert got == {
        "p1": ("003A", "Contact"),
        "p2": ("003B", "Contact"),
        "p3": ("003C", "Contact"),
        "p4": (None, None),
        "p5": (None, None),
        "p6": ("003F", "Contact"),
        "p7": ("00QB", "Lead"),
        "p8": (None, None),
    }
    assert table.column_names == ["profile_id", "email", "segment", "salesforce_id", "salesforce_object"]
    assert counts.to_dict() == {"profiles": 8, "contact": 4, "lead": 1, "unmatched": 3, "ambiguous": 1}
    assert counts.profiles == counts.contact + counts.lead + counts.unmatched
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["ids.parquet"]


def test_without_extracts_nobody_matches(lake, tmp_path):
    _, profiles = lake
    counts = resolve_salesforce_ids(profiles, {"Contact": tmp_path / "nothing"}, tmp_path / "ids.parquet")
    assert (counts.contact, counts.lead, counts.unmatched) == (0, 0, 8)


def test_only_published_file_sets_are_read(lake):
    root, _ = lake
    assert [Path(p).parent.name for p in published_parts(root / "Contact")] == [
        "20240301T000000",
        "20240301T010000",
    ]


@pytest.mark.parametrize(
    ("roots", "kwargs", "complaint"),
    [({"Account": "x"}, {}, "may name Contact, Lead"), ({}, {"email_column": "e-mail"}, "not a column name")],
)
def test_bad_arguments(lake, tmp_path, roots, kwargs, complaint):
    with pytest.raises(ValueError, match=complaint):
        resolve_salesforce_ids(lake[1], roots, tmp_path / "x.parquet", **kwargs)
