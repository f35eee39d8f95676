"""The same person twice in a segment: the last row wins, earlier rows are rejected.

A segment is streamed in chunks, so a duplicate may sit in another chunk. A first pass reads only
the identity column and finds, for every earlier duplicate, the row that wins; only those rows
are kept (a dict of a few entries), so memory grows with the identity column of one pass (about
20 bytes a row while the pass runs), never with the whole segment.

The last row wins even when a later check refuses it: the earlier rows are older data for the
same person and are rejected as duplicates all the same (fix the last row and replay). Rows
without an identity never count as duplicates. Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from airflow_provider_sfcrm.activation.row_validation import as_text, well_formed_ids


def identity_keys(
    values: pa.Array | pa.ChunkedArray, *, by_salesforce_id: bool, case_sensitive: bool
) -> pa.Array:
    """The comparison key of each identity (null when missing).

    Salesforce Ids are compared by their 15-character case-sensitive form, so the 15- and
    18-character spellings of one record are one person. External ids compare case-insensitively
    unless the field is case-sensitive, as Salesforce matches them.
    """
    text = as_text(values)
    text = pc.if_else(pc.equal(pc.utf8_trim_whitespace(text), ""), pa.scalar(None, pa.string()), text)
    if by_salesforce_id:
        return pc.if_else(pa.array(well_formed_ids(text)), pc.utf8_slice_codeunits(text, 0, 15), text)
    return text if case_sensitive else pc.utf8_lower(text)


def find_duplicates(key_chunks: Iterable[pa.Array]) -> dict[int, int]:
    """``{row number: row number of the last row with the same identity}`` for earlier duplicates.

    Row numbers are 0-based positions across the concatenated chunks; null keys never match.
    """
    chunks = [chunk for chunk in key_chunks if len(chunk)]
    if not chunks:
        return {}
    keys = pd.Series(pa.chunked_array(chunks, type=pa.string()), dtype=pd.ArrowDtype(pa.string()))
    present = keys.notna().to_numpy()
    has_later_twin = keys.duplicated(keep="last").to_numpy()
    positions = np.flatnonzero(has_later_twin & present)
    if not positions.size:
        return {}
    repeated = keys.iloc[positions]
    winners = keys[present & ~has_later_twin & keys.isin(repeated.unique()).to_numpy()]
    last_row = dict(zip(winners.tolist(), winners.index.tolist(), strict=True))
    return {
        int(pos): int(last_row[key]) for pos, key in zip(positions.tolist(), repeated.tolist(), strict=True)
    }
