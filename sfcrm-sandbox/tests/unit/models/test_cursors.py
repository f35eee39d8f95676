"""Page sizes from Sforce-Query-Options."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.cursors import batch_size


@pytest.mark.parametrize(
    ("header", "long_texts", "size"),
    [
        (None, 0, 2000),
        ("batchSize=500", 0, 500),
        ("batchSize=50", 0, 200),
        ("batchSize=5000", 0, 2000),
        ("batchSize=abc", 0, 2000),
        ("batchSize=1000", 2, 200),
        (None, 1, 2000),
    ],
)
def test_batch_size(header, long_texts, size):
    assert batch_size(header, long_texts) == size
