"""Counted nouns for log lines and messages: "1 batch", "3 batches", never "1 batches"."""

from __future__ import annotations

_IRREGULAR = {"batch": "batches", "is": "are", "was": "were", "call": "calls"}


def plural(count: int, word: str, many: str | None = None) -> str:
    """``count`` and ``word`` in the number that agrees with it, with thousands separators.

    :param many: the plural when it is not ``word`` + "s" (nor a known irregular one).
    """
    if count == 1:
        return f"1 {word}"
    return f"{count:,} {many or _IRREGULAR.get(word) or word + 's'}"
