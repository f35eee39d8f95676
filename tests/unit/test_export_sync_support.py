"""The export operator's sync arguments: as_of, shards, the state connection, refusals before any write."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_sfcrm.activation.ids import to18
from airflow_provider_sfcrm.exceptions import SfCrmConfigError, SfCrmVanishedError
from airflow_provider_sfcrm.operators._sync_support import (
    checked_shard,
    resolve_as_of,
    run_id_of,
    soql_finder,
)
from tests.unit.test_export_operator import FakeHook, _operator, fake_hook  # noqa: F401 - fixture

INTERVAL_END = datetime(2026, 1, 3, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "context", "expected"),
    [
        (None, {"data_interval_end": INTERVAL_END}, INTERVAL_END),
        ("", {"data_interval_end": None, "logical_date": INTERVAL_END}, INTERVAL_END),
        ("2026-01-03T01:00:00Z", {}, datetime(2026, 1, 3, 1, tzinfo=timezone.utc)),
        ("2026-01-03 02:00:00+01:00", {}, datetime(2026, 1, 3, 1, tzinfo=timezone.utc)),
        (datetime(2026, 1, 3, 1, 0, 0, 999), {}, datetime(2026, 1, 3, 1, tzinfo=timezone.utc)),  # naive: UTC
    ],
)
def test_as_of_defaults_to_the_interval_end_and_is_kept_in_utc_to_the_second(value, context, expected):
    assert resolve_as_of(value, context) == expected


@pytest.mark.parametrize(("value", "words"), [("yesterday", "not an ISO date"), (42, "datetime or ISO")])
def test_a_bad_as_of_is_refused(value, words):
    with pytest.raises(SfCrmConfigError, match=words):
        resolve_as_of(value, {})


def test_shards_arrive_rendered_as_text_and_must_make_sense():
    assert checked_shard("2", " 4 ") == (2, 4)
    for index, count in ((4, 4), (-1, 2), (0, 0), ("x", 2)):
        with pytest.raises(SfCrmConfigError, match="shard_index"):
            checked_shard(index, count)


def test_the_run_recorded_with_the_state_names_dag_run_task_and_map_index():
    class TI:
        dag_id, run_id, task_id, map_index = "dag", "scheduled__2026", "sync", 3

    assert run_id_of({"ti": TI()}) == "dag/scheduled__2026/sync/3"


def test_lookups_are_cut_into_queries_of_bounded_size():
    queries = []

    class Hook:
        def query_all(self, soql):
            queries.append(soql)
            return [{"Id": "003X", "Email": "a0@x.com"}]

    found = soql_finder(Hook(), "Contact", "Email")([f"a{i}@x.com" for i in range(450)])

    assert len(queries) == 3 and all(
        q.startswith("SELECT Id, Email FROM Contact WHERE Email IN (") for q in queries
    )
    assert found == [("a0@x.com", "003X")] * 3


@pytest.fixture
def members(tmp_path):
    path = tmp_path / "members.parquet"
    pq.write_table(
        pa.table(
            {
                "sfid": [to18(f"003ak{n:010d}") for n in range(3)],
                "last": ["A", "B", "C"],
                "aud": [True, False, True],
            }
        ),
        path,
    )
    return str(path)


def test_membership_needs_a_sync_state(fake_hook, members, tmp_path):  # noqa: F811
    with pytest.raises(SfCrmConfigError, match="boolean .*needs a sync state"):
        _operator(members, tmp_path).execute({})
    assert FakeHook.instances[-1].writes == []


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        (
            {"operation": "insert", "field_mapping": {"last": "LastName"}, "audiences": None},
            "needs external_id_field",
        ),
        (
            {
                "operation": "insert",
                "sync_state": None,
                "external_id_field": "Email",
                "field_mapping": {"sfid": "Email"},
            },
            "only together with sync_state",
        ),
    ],
)
def test_insert_and_its_identity_go_together_with_a_sync_state(
    fake_hook,  # noqa: F811
    members,
    tmp_path,
    overrides,
    words,
):
    with pytest.raises(SfCrmConfigError, match=words):
        _operator(members, tmp_path, **{"sync_state": "state", **overrides}).execute({})


def test_the_state_lives_on_sqlite_or_postgres_only(fake_hook, members, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("AIRFLOW_CONN_STATE", json.dumps({"conn_type": "http", "host": "example.com"}))
    monkeypatch.setattr(FakeHook, "org_id", "00D000000000001AAA", raising=False)
    with pytest.raises(SfCrmConfigError, match="'http' connection; the sync state lives on sqlite"):
        _operator(members, tmp_path, sync_state="state", as_of="2026-01-03T00:00:00Z").execute({})


def test_a_replayed_file_of_memberships_is_refused(fake_hook, tmp_path, monkeypatch):  # noqa: F811
    path = tmp_path / "replay.parquet"
    pq.write_table(
        pa.table({"sfcrm_row_number": [1], "sfid": [to18("003ak0000000001")], "last": ["A"], "aud": [True]}),
        path,
    )
    monkeypatch.setenv(
        "AIRFLOW_CONN_STATE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "s.sqlite")})
    )
    with pytest.raises(SfCrmConfigError, match="would exit everyone not in it"):
        _operator(str(path), tmp_path, sync_state="state", as_of="2026-01-03T00:00:00Z").execute({})
    # A REST run that fails lets go of its scope's lock: the next run is not refused.
    with sqlite3.connect(tmp_path / "s.sqlite") as database:
        assert database.execute("SELECT count(*) FROM sfcrm_sync_locks").fetchone() == (0,)


def test_a_sync_of_nothing_but_the_identity_is_refused(fake_hook, members, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv(
        "AIRFLOW_CONN_STATE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "s.sqlite")})
    )
    monkeypatch.setattr(FakeHook, "org_id", "00D000000000001AAA", raising=False)
    with pytest.raises(SfCrmConfigError, match="nothing to sync"):
        _operator(
            members, tmp_path, field_mapping={"sfid": "Id"}, audiences=None, sync_state="state"
        ).execute({"data_interval_end": INTERVAL_END})


def _audience(path, n: int) -> str:
    ids = [to18(f"003ak{k:010d}") for k in range(n)]
    pq.write_table(pa.table({"sfid": ids, "last": [f"L{k}" for k in range(n)], "aud": [True] * n}), path)
    return str(path)


@pytest.fixture
def state(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_STATE", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "s.sqlite")})
    )
    monkeypatch.setattr(FakeHook, "org_id", "00D000000000001AAA", raising=False)
    return "state"


def test_a_truncated_segment_fails_the_task_without_retry_and_writes_nothing(fake_hook, state, tmp_path):  # noqa: F811
    day1 = _operator(_audience(tmp_path / "day1.parquet", 300), tmp_path, sync_state=state)
    assert day1.execute({"data_interval_end": INTERVAL_END})["written"] == 300
    day2 = _operator(_audience(tmp_path / "day2.parquet", 30), tmp_path, sync_state=state)

    with pytest.raises(SfCrmVanishedError, match="270 of the 300 people .*max_vanished_ratio 0.5") as refused:
        day2.execute({"data_interval_end": INTERVAL_END + timedelta(days=1)})

    assert isinstance(refused.value, SfCrmConfigError) and isinstance(refused.value, AirflowFailException)
    assert FakeHook.instances[-1].writes == []


@pytest.mark.parametrize(("value", "exited"), [("None", 270), ("0.95", 270), ("0.5", None)])
def test_max_vanished_ratio_is_templated_text(fake_hook, state, tmp_path, value, exited):  # noqa: F811
    _operator(_audience(tmp_path / "day1.parquet", 300), tmp_path, sync_state=state).execute(
        {"data_interval_end": INTERVAL_END}
    )
    day2 = _operator(
        _audience(tmp_path / "day2.parquet", 30), tmp_path, sync_state=state, max_vanished_ratio=value
    )
    assert "max_vanished_ratio" in day2.template_fields
    context = {"data_interval_end": INTERVAL_END + timedelta(days=1)}
    if exited is None:
        with pytest.raises(SfCrmVanishedError):
            day2.execute(context)
    else:
        assert day2.execute(context)["vanished"] == exited


@pytest.mark.parametrize("value", ["half", "1.5", -1])
def test_a_max_vanished_ratio_that_is_no_ratio_is_refused_by_name(fake_hook, members, state, tmp_path, value):  # noqa: F811
    with pytest.raises(SfCrmConfigError, match="max_vanished_ratio must be within 0..1"):
        _operator(members, tmp_path, sync_state=state, max_vanished_ratio=value).execute(
            {"data_interval_end": INTERVAL_END}
        )
    assert FakeHook.instances[-1].writes == []
