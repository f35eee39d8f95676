"""Shards of a segment: a stable hash of each person's identity decides which shard owns them.

A sharded sync runs one export per shard; each owns the people (and their sync state) whose
identity hashes into its bucket, so a person who vanished from the whole segment is exited by
exactly one shard and concurrent shards never touch the same state rows. The hash is the first 60
bits of the MD5 of the identity's comparison key (``identity_keys`` of
:mod:`~airflow_provider_sfcrm.activation.dedup`: the 15-character Salesforce Id, or the external id,
lower-cased unless the field is case-sensitive),
so it is the same in DuckDB, in Python, and across versions of either. Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

import hashlib

import duckdb
import numpy as np
import pyarrow as pa

from airflow_provider_sfcrm.activation.dedup import identity_keys


def key_hash_sql(key: str) -> str:
    """The SQL expression (DuckDB) of the hash of the text expression ``key``: a non-negative BIGINT."""
    return f"CAST(('0x' || substr(md5({key}), 1, 15)) AS BIGINT)"


def key_hash(key: str) -> int:
    """The hash of one comparison key, as :func:`key_hash_sql` computes it."""
    return int(hashlib.md5(key.encode("utf-8")).hexdigest()[:15], 16)


def check_shard(shard_index: int, shard_count: int) -> None:
    """Refuse a shard that cannot be: ``0 <= shard_index < shard_count``."""
    for value, name in ((shard_index, "shard_index"), (shard_count, "shard_count")):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer, not {value!r}")
    if shard_count < 1 or not 0 <= shard_index < shard_count:
        raise ValueError(f"shard_index must be within 0..{shard_count - 1} (shard_count {shard_count})")


def shard_numbers(
    identities: pa.Array | pa.ChunkedArray,
    shard_count: int,
    *,
    by_salesforce_id: bool = True,
    case_sensitive: bool = False,
) -> np.ndarray:
    """The shard (``0..shard_count-1``) of each identity; -1 where it is missing.

    Split a segment with this before a sharded sync: the export of shard ``i`` of ``n`` refuses a
    row that belongs to another shard.

    :param identities: the identity column (Salesforce Ids for ``update``, external ids otherwise).
    :param by_salesforce_id: True when the identities are Salesforce Ids (15- and 18-character
        spellings of one record land in the same shard).
    :param case_sensitive: whether the external-id field matches case-sensitively.
    """
    check_shard(0, shard_count)
    keys = identity_keys(identities, by_salesforce_id=by_salesforce_id, case_sensitive=case_sensitive)
    with duckdb.connect() as db:
        db.register("identities", pa.table({"key": keys}))
        shards = db.sql(
            f"SELECT coalesce({key_hash_sql('key')} % {int(shard_count)}, -1) FROM identities"
        ).fetchnumpy()
    return np.asarray(next(iter(shards.values())), dtype=np.int64)
