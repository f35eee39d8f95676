"""Rows spooled to disk come back in Id order, typed as they went in, sorted out of core when needed."""

from __future__ import annotations

import datetime as dt
import decimal
import random

import pyarrow as pa
import pytest

from airflow_provider_sfcrm.extraction.spool import IdOrderedSpool

UTC = dt.timezone.utc
SCHEMA = pa.schema(
    [
        pa.field("Id", pa.string(), metadata={"salesforce_type": "id"}),
        ("Amount", pa.decimal128(18, 2)),
        ("Birthdate", pa.date32()),
        ("SystemModstamp", pa.timestamp("ms", tz="UTC")),
        ("BestTime__c", pa.time32("ms")),
        ("IsDeleted", pa.bool_()),
        ("Notes", pa.string()),
    ]
)


def rows(ids):
    return [
        {
            "Id": record_id,
            "Amount": decimal.Decimal(f"{n}.25"),
            "Birthdate": dt.date(1990, 1, 1) + dt.timedelta(days=n),
            "SystemModstamp": dt.datetime(2024, 1, 1, tzinfo=UTC) + dt.timedelta(milliseconds=n * 1001),
            "BestTime__c": dt.time(10, n % 60, 0, 250000),
            "IsDeleted": n % 3 == 0,
            "Notes": None if n % 4 else f"line one\nline two {n}",
        }
        for n, record_id in enumerate(ids)
    ]


def spool_of(tmp_path, ids, batch=7):
    spool = IdOrderedSpool(tmp_path, SCHEMA, memory_limit_mb=64)
    data = rows(ids)
    for start in range(0, len(data), batch):
        spool.write(pa.RecordBatch.from_pylist(data[start : start + batch], schema=SCHEMA))
    return spool, data


IDS = [f"003ak{n:010d}AAA" for n in range(50)]


def test_rows_that_came_in_order_come_back_as_they_are(tmp_path):
    spool, data = spool_of(tmp_path, IDS)
    assert spool.in_order and spool.rows == 50
    out = [row for batch in spool.batches(batch_rows=16) for row in batch.to_pylist()]
    assert out == data


def test_rows_out_of_order_come_back_sorted_with_their_types(tmp_path):
    shuffled = list(IDS)
    random.Random(4).shuffle(shuffled)
    spool, data = spool_of(tmp_path, shuffled)
    assert not spool.in_order
    batches = list(spool.batches(batch_rows=16))
    assert all(batch.schema.equals(SCHEMA) for batch in batches)
    out = [row for batch in batches for row in batch.to_pylist()]
    assert [row["Id"] for row in out] == IDS
    assert sorted(out, key=lambda r: r["Id"]) == sorted(data, key=lambda r: r["Id"])


def test_repeated_ids_end_up_side_by_side(tmp_path):
    ids = ["003ak0000000003AAA", "003ak0000000001AAA", "003ak0000000003AAA", "003ak0000000002AAA"]
    spool, _ = spool_of(tmp_path, ids, batch=1)
    assert [r["Id"] for b in spool.batches() for r in b.to_pylist()] == sorted(ids)


def test_an_empty_spool_gives_nothing(tmp_path):
    spool = IdOrderedSpool(tmp_path, SCHEMA)
    spool.write(pa.RecordBatch.from_pylist([], schema=SCHEMA))
    assert list(spool.batches()) == [] and spool.rows == 0


def test_a_closed_spool_takes_no_more_rows(tmp_path):
    spool, _ = spool_of(tmp_path, IDS[:3])
    list(spool.batches())
    with pytest.raises(AssertionError, match="closed"):
        spool.write(pa.RecordBatch.from_pylist(rows(IDS[:1]), schema=SCHEMA))
