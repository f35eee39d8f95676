"""Each record once, in Id order, across batches."""

from __future__ import annotations

import pyarrow as pa
import pytest

from airflow_provider_sfcrm.extraction.dedup import OrderError, UniqueRows, count_true


def batch(ids, deleted=None):
    return pa.record_batch({"Id": ids, "IsDeleted": deleted or [False] * len(ids)})


def test_repeats_are_dropped_within_and_across_batches():
    unique = UniqueRows()
    first = unique(batch(["003A00000000001AAA", "003A00000000002AAA", "003A00000000002"]))
    second = unique(batch(["003A00000000002AAA", "003A00000000003AAA"]))
    assert first.column("Id").to_pylist() == ["003A00000000001AAA", "003A00000000002AAA"]
    assert second.column("Id").to_pylist() == ["003A00000000003AAA"]
    assert unique.dropped == 2


def test_a_batch_without_repeats_passes_through_unchanged():
    original = batch(["003A00000000001AAA", "003A00000000002AAA"])
    assert UniqueRows()(original) is original


def test_rows_out_of_order_are_an_error():
    unique = UniqueRows()
    unique(batch(["003A00000000005AAA"]))
    with pytest.raises(OrderError, match="003A00000000004AAA after 003A00000000005"):
        unique(batch(["003A00000000004AAA"]))


def test_ids_order_by_their_case_sensitive_characters():
    # Base-62 digits sort 0-9, A-Z, a-z: the order Salesforce sorts Ids in.
    unique = UniqueRows()
    assert unique(batch(["003A0000000000ZAAA", "003A0000000000aAAA"])).num_rows == 2


def test_count_true():
    assert count_true(batch(["a", "b", "c"], [True, False, True]), "IsDeleted") == 2
    assert count_true(batch([]), "IsDeleted") == 0
