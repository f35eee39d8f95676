"""The diff of a segment against the sync state, in DuckDB: what to send, what is unchanged or stale.

A segment can hold millions of people, so the diff is a join of two large tables in an engine made
for it, not a Python loop. :class:`SyncPlanner` keeps everything in a temporary DuckDB database on
local disk under a fixed memory limit:

1. :meth:`~SyncPlanner.add` — the first pass hands in, chunk by chunk, each row's comparison key and
   outgoing values: an attribute's digest, an audience's given status, or a membership flag. Each
   row also gets a *view digest* over all of them.
2. :meth:`~SyncPlanner.plan` — the state's narrow columns (key, digest, flags) are loaded for this
   shard; a person whose view digest equals the one last confirmed, with no ``realized`` status
   waiting to become ``existing``, is unchanged without another look (the common case). The others,
   and the people who vanished from the segment while still a member somewhere, get their full
   state read and are decided field by field:

   * an attribute or a given status changes when its value differs from the state's;
   * a membership flag becomes a status — entering → ``realized``; still a member at a later sync
     → ``existing``; leaving, or vanishing from the segment → ``exited``; coming back → ``realized``;
   * a changed field is *stale* when the state holds newer data for it: its as-of time, or the
     as-of time of a newer complete snapshot of it (the marks), is later than this run's.

   A row is ``send`` when any field is to be sent, else ``stale`` when any change was stale, else
   unchanged. Earlier rows of a repeated key are ``duplicate`` (the last row wins).
   The plan also counts the state's members and the exits of those who vanished, for the guard
   against a truncated segment (:mod:`.vanished`).
3. :meth:`~SyncPlanner.within` and :meth:`~SyncPlanner.vanished` stream the plan to the second pass.

Pure: no Airflow, no HTTP.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from airflow_provider_sfcrm.sync.sharding import key_hash_sql
from airflow_provider_sfcrm.sync.store import Mark

#: Kinds of fields: an attribute (its digest is kept), a status given as text, a membership flag.
ATTRIBUTE, STATUS, MEMBERSHIP = "attribute", "status", "membership"
MEMBER_STATUSES = ("realized", "existing")
#: DuckDB's memory ceiling for the diff; beyond it DuckDB spills to its temporary directory.
MEMORY_LIMIT_MB = 256
_FETCH_ROWS = 50_000
_KEYS_PER_READ = 100_000
_INSERT_ROWS = 250_000

SEND, STALE, UNCHANGED, DUPLICATE = "send", "stale", "unchanged", "duplicate"


@dataclass(frozen=True)
class SyncField:
    """One Salesforce field as the diff sees it: its API name and kind (:data:`ATTRIBUTE` ...)."""

    name: str
    kind: str


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _holding(wanted: str | Sequence[str]) -> str:
    """SQL: how many fields of a state row (its ``fields``) hold one of the ``wanted`` statuses
    (quoted SQL text, or the statuses themselves)."""
    listed = wanted if isinstance(wanted, str) else ", ".join(_quote(status) for status in wanted)
    return (
        "coalesce(list_count(list_filter(json_extract_string(fields, '$.*[0]'), "
        f"lambda x: x IN ({listed}))), 0)"
    )


class PlanShardError(ValueError):
    """A row of the segment belongs to another shard."""

    def __init__(self, row: int, shard: int, shard_index: int, shard_count: int):
        super().__init__(
            f"row {row} belongs to shard {shard} of {shard_count}, not to shard {shard_index}: split the "
            "segment with airflow_provider_sfcrm.sync.sharding.shard_numbers (the same identity "
            "normalisation and shard count) before a sharded sync"
        )
        self.row = row


class SyncPlanner:
    """Plan one sync of a segment against the state (see the module's docstring).

    :param fields: the fields written, in a fixed order (the i-th value of :meth:`add` is field i).
    :param as_of: the as-of time of the segment's data.
    :param full_resync: send every outgoing value even when the state already holds it.
    :param shard: ``(shard_index, shard_count)`` this run owns.
    :param work_dir: where the temporary database goes (None: the system's temporary directory).
    """

    def __init__(
        self,
        fields: Sequence[SyncField],
        *,
        as_of: datetime,
        full_resync: bool = False,
        shard: tuple[int, int] = (0, 1),
        work_dir: str | None = None,
    ):
        self.fields = list(fields)
        self.as_of = _epoch(as_of)
        self.full_resync = bool(full_resync)
        self.shard = shard
        self.rows = 0
        # Counted by plan() for the guard of .vanished: the state's members of this shard before the
        # run, and those of them who vanished from the segment and are to be exited.
        self.state_members = 0
        self.member_exits = 0
        self._dir = Path(tempfile.mkdtemp(prefix="sfcrm-sync-", dir=work_dir))
        self._db = duckdb.connect(
            ":memory:",
            config={
                "memory_limit": f"{MEMORY_LIMIT_MB}MB",
                "temp_directory": str(self._dir / "spill"),
                "preserve_insertion_order": False,
                "threads": 2,
            },
        )
        columns = ", ".join(
            f"v{i} {'BOOLEAN' if f.kind == MEMBERSHIP else 'VARCHAR'}" for i, f in enumerate(self.fields)
        )
        self._db.execute(
            "CREATE TABLE incoming (row BIGINT, key VARCHAR, vd VARCHAR"
            + (f", {columns}" if columns else "")
            + ", scoped BOOLEAN)"
        )
        self._buffer: list[pa.Table] = []
        self._buffered = 0
        self._reader: pa.RecordBatchReader | None = None
        self._held: pa.Table | None = None
        self._exhausted = False

    @property
    def has_memberships(self) -> bool:
        return any(f.kind == MEMBERSHIP for f in self.fields)

    # -- first pass ------------------------------------------------------------------------------

    def add(self, keys: pa.Array, values: Sequence[pa.Array], scoped: np.ndarray | None = None) -> None:
        """Append the next chunk: comparison keys (null: no identity) and one array per field.

        Attributes come as canonical text (null: not sent), statuses as normalised text (null: not
        given), memberships as booleans (null: not a member). ``scoped`` (default: every row) says
        which rows are in this sync's scope (a ``row_filter`` selected them): a row out of scope is
        neither planned nor a duplicate, and its person, present in the segment, has not vanished —
        the state keeps what it holds of them. Chunks are gathered and inserted :data:`_INSERT_ROWS`
        at a time (each insert has a fixed cost).
        """
        n = len(keys)
        arrays = {"row": pa.array(np.arange(self.rows, self.rows + n, dtype=np.int64)), "key": keys}
        arrays.update({f"v{i}": value for i, value in enumerate(values)})
        arrays["scoped"] = pa.array(
            np.ones(n, dtype=bool) if scoped is None else np.asarray(scoped, dtype=bool)
        )
        self.rows += n
        self._buffer.append(pa.table(arrays))
        self._buffered += n
        if self._buffered >= _INSERT_ROWS:
            self._insert()

    def _insert(self) -> None:
        """Insert the gathered chunks, with each attribute's digest and the row's view digest.

        The view digest starts with ``m`` when the row holds a membership or a member status
        (``realized`` / ``existing``), ``n`` otherwise: the state keeps the same mark, so that the
        people who vanished while members are found without reading every state row in full.
        """
        if not self._buffer:
            return
        parts, views, member = [], [], []
        for i, spec in enumerate(self.fields):
            if spec.kind == ATTRIBUTE:
                parts.append(f"substr(md5(v{i}), 1, 16) AS v{i}")
                shown = f"coalesce(v{i}, '~')"
            elif spec.kind == MEMBERSHIP:
                parts.append(f"coalesce(v{i}, false) AS v{i}")
                shown = f"CASE WHEN v{i} THEN '1' ELSE '0' END"
                member.append(f"v{i}")
            else:
                parts.append(f"v{i}")
                shown = f"coalesce(v{i}, '~')"
                member.append(f"coalesce(v{i} IN ('realized', 'existing'), false)")
            views.append(f"{_quote(spec.name + '=')} || {shown}")
        mark = f"CASE WHEN {' OR '.join(member)} THEN 'm' ELSE 'n' END" if member else "'n'"
        view = f"{mark} || substr(md5(concat_ws(chr(31), {', '.join(views)})), 1, 16)"
        inner = ", ".join(["row", "key", *parts, "scoped"])
        chunk = pa.concat_tables(self._buffer) if len(self._buffer) > 1 else self._buffer[0]
        self._buffer, self._buffered = [], 0
        self._db.register("chunk", chunk)
        try:
            self._db.execute(
                f"INSERT INTO incoming SELECT row, key, {view}"
                + "".join(f", v{i}" for i in range(len(self.fields)))
                + f", scoped FROM (SELECT {inner} FROM chunk)"
            )
        finally:
            self._db.unregister("chunk")

    def check_shard(self) -> None:
        """Refuse a segment holding a row of another shard (raises :class:`PlanShardError`)."""
        self._insert()
        index, count = self.shard
        if count <= 1:
            return
        hashed = key_hash_sql("key")
        found = self._db.execute(
            f"SELECT row, {hashed} % {count} FROM incoming "
            f"WHERE key IS NOT NULL AND {hashed} % {count} <> {index} ORDER BY row LIMIT 1"
        ).fetchone()
        if found:
            raise PlanShardError(int(found[0]), int(found[1]), index, count)

    # -- the diff --------------------------------------------------------------------------------

    def plan(
        self,
        state: Iterator[pa.Table],
        read_fields: Callable[[Iterator[pa.Array]], Iterator[pa.Table]],
        marks: Sequence[Mark] = (),
    ) -> None:
        """Diff the segment against the state.

        :param state: the state's narrow columns of this shard (``SyncStateStore.read_state``).
        :param read_fields: reads ``key, record_id, fields`` for chunks of keys
            (``SyncStateStore.read_fields``).
        :param marks: the snapshot marks of the fields (``SyncStateStore.marks``).

        Also counts, for the guard of :mod:`.vanished`, :attr:`state_members` (the people of this
        shard the state knew as members of an audience, or not known to be none) and
        :attr:`member_exits` (those of them missing from the segment who are to be exited).
        """
        self._insert()
        db = self._db
        db.execute("CREATE TABLE state_fast (key VARCHAR, digest VARCHAR)")
        for table in state:
            db.register("batch", table)
            db.execute("INSERT INTO state_fast SELECT key, digest FROM batch")
            db.unregister("batch")
        # The last row of a repeated key wins; the earlier ones are duplicates (rarely any).
        db.execute(
            "CREATE TABLE repeated AS SELECT key, max(row) AS winner FROM incoming "
            "WHERE key IS NOT NULL AND scoped GROUP BY key HAVING count(*) > 1"
        )
        full = "true" if self.full_resync else "false"
        db.execute(
            f"""CREATE TABLE look AS
            SELECT i.row, i.key, s.key IS NOT NULL AS known
            FROM incoming i LEFT JOIN state_fast s ON s.key = i.key
            WHERE i.key IS NOT NULL AND i.scoped
              AND (s.key IS NULL OR {full} OR s.digest IS DISTINCT FROM i.vd)
              AND NOT EXISTS (SELECT 1 FROM repeated r WHERE r.key = i.key AND r.winner <> i.row)"""
        )
        # Vanished: in the state (of this shard), not in the segment, and a member somewhere (or
        # not known to be none: no digest). A person whose rows are all out of scope is in the
        # segment: not vanished.
        vanish = f"(s.digest IS NULL OR s.digest LIKE 'm%' OR {full})" if self.has_memberships else "false"
        db.execute(
            f"""CREATE TABLE gone AS SELECT s.key, s.digest LIKE 'm%' AS member FROM state_fast s
            WHERE {vanish} AND NOT EXISTS (SELECT 1 FROM incoming i WHERE i.key = s.key)"""
        )
        # For the guard: the members, and the people not known to be none (no digest) until their
        # full state, read below, tells.
        self.state_members = self._count(
            "SELECT count(*) FROM state_fast WHERE digest IS NULL OR digest LIKE 'm%'"
        )
        db.execute("CREATE TABLE unknown AS SELECT key FROM state_fast WHERE digest IS NULL")
        db.execute("DROP TABLE state_fast")
        db.execute("CREATE TABLE state_full (key VARCHAR, record_id VARCHAR, fields VARCHAR)")
        wanted = db.sql("SELECT key FROM look WHERE known UNION ALL SELECT key FROM gone")
        reader = wanted.to_arrow_reader(_KEYS_PER_READ)
        for table in read_fields(batch.column(0) for batch in reader):
            db.register("batch", table)
            db.execute("INSERT INTO state_full SELECT key, record_id, fields FROM batch")
            db.unregister("batch")
        self._settle_members()
        db.execute(f"CREATE TABLE plan AS {self._decisions(marks)}")
        db.execute(
            f"""INSERT INTO plan (row, key, key_hash, action, winner)
            SELECT i.row, i.key, {key_hash_sql("i.key")}, 'duplicate', r.winner
            FROM incoming i JOIN repeated r ON r.key = i.key WHERE i.row <> r.winner AND i.scoped"""
        )
        db.execute(
            "INSERT INTO plan (row, key, action) SELECT row, key, 'send' FROM incoming "
            "WHERE key IS NULL AND scoped"
        )
        # The re-exits full_resync sends to people who were no member are not counted.
        self.member_exits = self._count(
            "SELECT count(*) FROM plan p JOIN gone g ON g.key = p.key "
            "WHERE p.row IS NULL AND p.action = 'send' AND g.member"
        )
        for name in ("look", "gone", "state_full", "repeated", "unknown"):
            db.execute(f"DROP TABLE {name}")

    def _settle_members(self) -> None:
        """The people without a digest whose full state was read: a member or not, as it tells (those
        left unread, out of the row filter's scope, stay counted among the state's members)."""
        held = f"{_holding(MEMBER_STATUSES)} > 0"
        self._db.execute(
            f"UPDATE gone SET member = {held} FROM state_full WHERE state_full.key = gone.key "
            "AND gone.member IS NULL"
        )
        self.state_members -= self._count(
            f"SELECT count(*) FROM state_full JOIN unknown u ON u.key = state_full.key WHERE NOT ({held})"
        )

    def _count(self, query: str) -> int:
        found = self._db.execute(query).fetchone()
        return int(found[0]) if found else 0

    def _decisions(self, marks: Sequence[Mark]) -> str:
        """The query deciding, field by field, the rows looked at closely and the vanished people.

        Per field i: ``n{i}`` the value to hold now, ``o{i}`` the state's, ``t{i}`` the as-of time of
        the state's (or of a newer snapshot mark), ``e{i}`` send it, ``s{i}`` a stale change.
        """
        a, full, count = self.as_of, "true" if self.full_resync else "false", len(self.fields)
        values = "".join(f", i.v{i}" for i in range(count))
        gone_values = "".join(", false" if f.kind == MEMBERSHIP else ", NULL::VARCHAR" for f in self.fields)
        paths = ", ".join(f"'$.\"{f.name}\"[0]', '$.\"{f.name}\"[1]'" for f in self.fields)
        held = []
        for i, spec in enumerate(self.fields):
            old, at = f"old[{2 * i + 1}]", f"coalesce(TRY_CAST(old[{2 * i + 2}] AS BIGINT), 0)"
            if spec.kind == MEMBERSHIP:
                new = (
                    f"CASE WHEN v{i} THEN (CASE WHEN {old} IN ('realized', 'existing') THEN "
                    f"(CASE WHEN {a} > {at} THEN 'existing' ELSE {old} END) ELSE 'realized' END) "
                    f"ELSE (CASE WHEN {old} IN ('realized', 'existing', 'exited') THEN 'exited' END) END"
                )
            else:
                new = f"v{i}"
            terms = [
                f"CASE WHEN key_hash % {m.shard_count} = {m.shard_index} THEN {_epoch(m.as_of)} ELSE 0 END"
                for m in marks
                if m.field == spec.name
            ]
            newest = f"greatest({at}, {', '.join(terms)})" if terms else at
            held.append(f"{new} AS n{i}, {old} AS o{i}, {newest} AS t{i}")
        changes = [f"(n{i} IS NOT NULL AND ({full} OR n{i} IS DISTINCT FROM o{i}))" for i in range(count)]
        flags = [f"{c} AND t{i} <= {a} AS e{i}, {c} AND t{i} > {a} AS s{i}" for i, c in enumerate(changes)]
        any_send = " OR ".join(f"e{i}" for i in range(count)) or "false"
        any_stale = " OR ".join(f"s{i}" for i in range(count)) or "false"
        statuses = [i for i, f in enumerate(self.fields) if f.kind != ATTRIBUTE]

        def counted(wanted: str) -> str:
            """How many fields hold one of ``wanted`` statuses once the row is written."""
            everything = _holding(wanted)
            before = "".join(f" - (CASE WHEN o{i} IN ({wanted}) THEN 1 ELSE 0 END)" for i in statuses)
            after = "".join(
                f" + (CASE WHEN (CASE WHEN e{i} THEN n{i} ELSE o{i} END) IN ({wanted}) THEN 1 ELSE 0 END)"
                for i in statuses
            )
            return f"({everything}{before}{after})"

        patch_parts = ", ".join(
            f"CASE WHEN e{i} THEN {_quote(chr(34) + f.name + chr(34))} "
            f"|| ':[' || to_json(n{i}) || ',{a}]' END"
            for i, f in enumerate(self.fields)
        )
        stale_names = ", ".join(
            f"CASE WHEN s{i} THEN {_quote(f.name)} END" for i, f in enumerate(self.fields)
        )
        outputs = "".join(f", e{i}" for i in range(count)) + "".join(f", n{i}" for i in range(count))
        return f"""
            WITH base AS (
                SELECT i.row, i.key, {key_hash_sql("i.key")} AS key_hash, i.vd, f.record_id, f.fields{values}
                FROM look l JOIN incoming i ON i.row = l.row LEFT JOIN state_full f ON f.key = i.key
                UNION ALL
                SELECT NULL, g.key, {key_hash_sql("g.key")}, NULL, f.record_id, f.fields{gone_values}
                FROM gone g JOIN state_full f ON f.key = g.key
            ),
            parsed AS (SELECT *, json_extract_string(fields, [{paths}]) AS old FROM base),
            decided AS (SELECT *, {", ".join(held)} FROM parsed),
            flagged AS (SELECT *, {", ".join(flags)} FROM decided)
            SELECT row, key, key_hash, record_id,
                CASE WHEN {any_send} THEN 'send' WHEN {any_stale} THEN 'stale' ELSE 'unchanged' END AS action,
                NULL::BIGINT AS winner,
                fields IS NULL AS new_person,
                CASE WHEN {any_stale} OR {counted("'realized'")} > 0 THEN NULL
                     ELSE (CASE WHEN {counted("'realized', 'existing'")} > 0 THEN 'm' ELSE 'n' END)
                          || substr(vd, 2) END AS digest,
                CAST({counted("'realized'")} > 0 AS SMALLINT) AS realized,
                CAST({counted("'realized', 'existing'")} AS SMALLINT) AS members,
                '{{' || concat_ws(',', {patch_parts}) || '}}' AS patch,
                list_filter([{stale_names}], lambda x: x IS NOT NULL) AS stale_fields{outputs}
            FROM flagged"""

    # -- second pass -----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Rows of the plan by action (``vanished_*`` for people who left the segment)."""
        found = self._db.execute(
            "SELECT CASE WHEN row IS NULL THEN 'vanished_' || action ELSE action END, count(*) FROM plan "
            "GROUP BY ALL"
        ).fetchall()
        return {str(action): int(n) for action, n in found}

    def within(self, start: int, end: int) -> pa.Table:
        """The plan rows (other than unchanged) of rows ``start <= row < end``, in row order.

        Calls must come in increasing, non-overlapping ranges (the second pass walks in order).
        """
        if self._reader is None:
            self._reader = self._db.sql(
                "SELECT * FROM plan WHERE row IS NOT NULL AND action <> 'unchanged' ORDER BY row"
            ).to_arrow_reader(_FETCH_ROWS)
        held = self._held
        while not self._exhausted and (
            held is None or not held.num_rows or held.column("row")[-1].as_py() < end
        ):
            try:
                batch = self._reader.read_next_batch()
            except StopIteration:
                self._exhausted = True
                break
            table = pa.Table.from_batches([batch])
            held = table if held is None else pa.concat_tables([held, table])
        if held is None:
            return self._db.sql("SELECT * FROM plan LIMIT 0").to_arrow_table()
        rows = held.column("row").to_numpy()
        first, stop = np.searchsorted(rows, [start, end])
        self._held = held.slice(stop)
        return held.slice(first, stop - first)

    def vanished(self, batch_rows: int = _FETCH_ROWS) -> Iterator[pa.Table]:
        """The people who vanished from the segment and have something to send or a stale change."""
        reader = self._db.sql(
            "SELECT * FROM plan WHERE row IS NULL AND action <> 'unchanged' ORDER BY key"
        ).to_arrow_reader(batch_rows)
        for batch in reader:
            yield pa.Table.from_batches([batch])

    def close(self) -> None:
        self._reader = None
        self._db.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> SyncPlanner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
