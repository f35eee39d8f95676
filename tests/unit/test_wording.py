"""Counted nouns in log lines and messages."""

from __future__ import annotations

import pytest

from airflow_provider_sfcrm.activation.wording import plural


@pytest.mark.parametrize(
    ("count", "word", "text"),
    [
        (1, "batch", "1 batch"),
        (2, "batch", "2 batches"),
        (0, "record", "0 records"),
        (1, "API call", "1 API call"),
        (12_345, "row", "12,345 rows"),
        (3, "audience field", "3 audience fields"),
        (2, "child", "2 children"),
    ],
)
def test_plural_agrees_with_the_count(count, word, text):
    assert plural(count, word, "children" if word == "child" else None) == text
