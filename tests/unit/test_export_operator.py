"""The operator around the core: argument checks, defaults and failure policy (hook faked at its seam)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_provider_sfcrm.activation.ids import to18
from airflow_provider_sfcrm.activation.results import RecordResult
from airflow_provider_sfcrm.exceptions import (
    SfCrmApiError,
    SfCrmConfigError,
    SfCrmFieldValidationError,
    SfCrmRejectedRowsError,
)
from airflow_provider_sfcrm.operators import segment_export
from airflow_provider_sfcrm.operators.segment_export import (
    SalesforceSegmentExportOperator,
    default_rejected_rows_path,
)
from tests.unit._export_describe import account, contact_with_account, describe


class FakeHook:
    """Stands in for SalesforceCrmHook: a describe and a recording ``upsert_records``."""

    instances: list[FakeHook] = []

    def __init__(self, sfcrm_conn_id="sfcrm_default"):
        self.writes: list[tuple[str, int, str | None]] = []
        self.api_calls = 1
        self.api_usage = (5, 15000)
        self.instance_url = "https://acme.my.salesforce.com"
        self.org_id = "00D000000000001AAA"  # a sync run locks its scope (org, object, identity) first
        FakeHook.instances.append(self)

    def describe_object(self, sobject, refresh=False):
        return describe(sobject)

    def upsert_records(self, sobject, records, external_id_field="Id", **kwargs):
        self.writes.append((sobject, len(records), external_id_field))
        self.api_calls += -(-len(records) // kwargs["batch_size"])
        return [RecordResult(i, True, r.get("Id"), created=False) for i, r in enumerate(records)]


@pytest.fixture
def fake_hook(monkeypatch):
    FakeHook.instances.clear()
    monkeypatch.setattr(segment_export, "SalesforceCrmHook", FakeHook)
    return FakeHook


@pytest.fixture
def segment(tmp_path):
    path = tmp_path / "segment.parquet"
    ids = [to18(f"003ak{n:010d}") for n in range(5)]
    pq.write_table(
        pa.table({"sfid": ids[:4] + ["bad"], "last": ["A", "B", "C", "D", "E"], "aud": ["realized"] * 5}),
        path,
    )
    return str(path)


def _operator(segment, tmp_path, **overrides):
    args = dict(
        task_id="export",
        sobject="Contact",
        segment_path=segment,
        field_mapping={"sfid": "Id", "last": "LastName"},
        audiences={"aud": "crm_1_seg"},
        rejected_rows_path=str(tmp_path / "out" / "rejected.parquet"),
        max_rejected_ratio=0.5,
    )
    args.update(overrides)
    return SalesforceSegmentExportOperator(**args)


def test_execute_returns_the_summary(fake_hook, segment, tmp_path):
    summary = _operator(segment, tmp_path).execute({})
    assert summary["total"] == 5 and summary["written"] == 4 and summary["rejected"] == 1
    assert summary["rejected_by_code"] == {"MALFORMED_ID": 1}
    assert summary["api_calls"] == 2 and summary["api_usage"] == {"used": 5, "max": 15000}
    assert fake_hook.instances[0].writes == [("Contact", 4, "Id")]
    assert pq.read_table(summary["rejected_rows_path"]).num_rows == 1


@pytest.mark.parametrize("flag", [True, "True", "true", " 1 "])
def test_dry_run_flag_rendered_as_text_writes_nothing(fake_hook, segment, tmp_path, flag):
    summary = _operator(segment, tmp_path, dry_run=flag).execute({})
    assert summary["dry_run"] is True and summary["written"] == 4
    assert fake_hook.instances[0].writes == []


def test_too_many_rejected_rows_fail_after_writing_and_saving(fake_hook, segment, tmp_path):
    with pytest.raises(SfCrmRejectedRowsError, match=r"1 of 5 rows \(20.00%\).*MALFORMED_ID=1") as info:
        _operator(segment, tmp_path, max_rejected_ratio=0.1).execute({})
    assert fake_hook.instances[0].writes == [("Contact", 4, "Id")]
    assert info.value.summary["written"] == 4
    assert pq.read_table(tmp_path / "out" / "rejected.parquet").num_rows == 1


def test_a_wrong_audience_field_fails_before_any_write(fake_hook, segment, tmp_path):
    with pytest.raises(SfCrmFieldValidationError, match="crm_7_seg") as info:
        _operator(segment, tmp_path, audiences={"aud": "crm_7_seg"}).execute({})
    assert fake_hook.instances[0].writes == []
    # The verdicts travel as plain, JSON-serialisable dicts (as the custom-field classes give them).
    verdicts = json.loads(json.dumps(info.value.verdicts))
    assert [v["status"] for v in verdicts.values()] == ["missing"], verdicts


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"segment_path": None}, "exactly one of segment_path and sql"),
        ({"sql": "select 1"}, "exactly one of segment_path and sql"),
        ({"segment_path": None, "sql": "select 1"}, "needs source_conn_id"),
        ({"batch_size": 500}, "batch_size must be"),
        ({"dry_run": "maybe"}, "dry_run must be true or false"),
        ({"field_mapping": "{not json"}, "field_mapping must be a mapping"),
        ({"operation": "delete"}, "operation must be one of"),
        ({"field_mapping": {"sfid": "Id", "last": "Nope__c"}}, "Contact.Nope__c does not exist"),
        ({"field_mapping": {"sfid": "Id", "nope": "LastName"}}, r"no column\(s\) \['nope'\]"),
        ({"segment_path": "/does/not/exist.parquet"}, "does not exist"),
    ],
)
def test_bad_arguments_fail_with_a_config_error(fake_hook, segment, tmp_path, overrides, words):
    with pytest.raises(SfCrmConfigError, match=words):
        _operator(segment, tmp_path, **overrides).execute({})


def test_field_mapping_may_arrive_as_rendered_json(fake_hook, segment, tmp_path):
    summary = _operator(segment, tmp_path, field_mapping='{"sfid": "Id", "last": "LastName"}').execute({})
    assert summary["written"] == 4


@pytest.mark.parametrize(
    ("ti", "tail"),
    [
        (
            SimpleNamespace(
                dag_id="d", run_id="manual__2026-01-01T00:00:00+00:00", task_id="t", map_index=-1
            ),
            "sfcrm/rejected/d/manual__2026-01-01T00_00_00_00_00/t.parquet",
        ),
        (
            SimpleNamespace(dag_id="d", run_id="r", task_id="g.t", map_index=3),
            "sfcrm/rejected/d/r/g.t_3.parquet",
        ),
        (None, "sfcrm/rejected/dag/manual/task.parquet"),
    ],
)
def test_default_rejected_path_is_run_scoped(monkeypatch, tmp_path, ti, tail):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    assert default_rejected_rows_path({"ti": ti} if ti else {}) == str(tmp_path / tail)


@pytest.mark.parametrize(("param", "writes"), [(True, 0), (False, 1)])
def test_templated_arguments_render_from_params(fake_hook, segment, tmp_path, monkeypatch, param, writes):
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    op = _operator(
        segment.replace("segment.parquet", "{{ params.name }}.parquet"),
        tmp_path,
        sobject="{{ params.sobject }}",
        dry_run="{{ params.dry_run }}",
        rejected_rows_path=None,
    )
    ti = SimpleNamespace(dag_id="activate", run_id="scheduled__2026-01-01", task_id="export", map_index=-1)
    context = {"params": {"sobject": "Contact", "dry_run": param, "name": "segment"}, "ti": ti}
    op.render_template_fields(context)
    summary = op.execute(context)
    assert summary["dry_run"] is param
    assert len(fake_hook.instances[0].writes) == writes
    assert summary["rejected_rows_path"] == str(
        tmp_path / "sfcrm/rejected/activate/scheduled__2026-01-01/export.parquet"
    )
    assert pq.read_table(summary["rejected_rows_path"]).num_rows == 1


class LimitedHook(FakeHook):
    """The first hook of a test meets the daily limit after ``allowed`` records; later ones do not."""

    allowed = 2

    def upsert_records(self, sobject, records, external_id_field="Id", **kwargs):
        results = super().upsert_records(sobject, records, external_id_field, **kwargs)
        if len(FakeHook.instances) > 1:
            return results
        refused = RecordResult.failure(0, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        return [r if i < self.allowed else refused for i, r in enumerate(results)]


def test_the_rejected_file_replays_the_rows_the_limit_stopped(monkeypatch, segment, tmp_path):
    FakeHook.instances.clear()
    monkeypatch.setattr(segment_export, "SalesforceCrmHook", LimitedHook)
    first = _operator(segment, tmp_path, max_rejected_ratio=1.0).execute({})
    assert first["rejected_by_code"] == {"MALFORMED_ID": 1, "REQUEST_LIMIT_EXCEEDED": 2}

    replay = _operator(
        first["rejected_rows_path"], tmp_path, rejected_rows_path=str(tmp_path / "replay.parquet")
    )
    summary = replay.execute({})

    # The limit's rows go through; the malformed one is refused again, nothing else is sent.
    assert (summary["total"], summary["written"], summary["rejected_by_code"]) == (3, 2, {"MALFORMED_ID": 1})
    assert FakeHook.instances[1].writes == [("Contact", 2, "Id")]


def test_segment_and_rejected_rows_on_an_fsspec_url(fake_hook, segment, tmp_path):
    import fsspec

    memory = fsspec.filesystem("memory")
    memory.pipe("/segments/run-1/part-0.parquet", open(segment, "rb").read())
    summary = _operator(
        "memory://segments/run-1", tmp_path, rejected_rows_path="memory://rejected/run-1/export.parquet"
    ).execute({})
    assert (summary["written"], summary["rejected"]) == (4, 1)
    with memory.open("/rejected/run-1/export.parquet", "rb") as handle:
        assert pq.read_table(handle).column("sfcrm_row_number").to_pylist() == [4]


@pytest.mark.parametrize(
    ("segment_of", "rejected_of", "words"),
    [
        (lambda d: d / "part.parquet", lambda d: d / "part.parquet", "is one of the segment's input files"),
        (lambda d: d / "part.parquet", lambda d: d / "link.parquet", "is one of the segment's input files"),
        (lambda d: d, lambda d: d / "rejected.parquet", "is inside the segment's directory"),
        (lambda d: d, lambda d: d / "sub" / "rejected.parquet", "is inside the segment's directory"),
        (lambda d: d / "*.parquet", lambda d: d / "rejected.parquet", "matches the segment's pattern"),
    ],
    ids=["same-file", "symlink", "in-directory", "in-subdirectory", "matches-glob"],
)
def test_rejected_rows_never_overwrite_or_join_the_segment(
    fake_hook, segment, tmp_path, segment_of, rejected_of, words
):
    data = tmp_path / "data"
    data.mkdir()
    part = data / "part.parquet"
    part.write_bytes(open(segment, "rb").read())
    if rejected_of(data).name == "link.parquet":
        (data / "link.parquet").symlink_to(part)
    before = part.read_bytes()
    op = _operator(str(segment_of(data)), tmp_path, rejected_rows_path=str(rejected_of(data)))
    with pytest.raises(SfCrmConfigError, match=f"rejected_rows_path .* {words}"):
        op.execute({})
    assert part.read_bytes() == before and pq.read_table(part).num_rows == 5
    assert fake_hook.instances[0].writes == []


def test_replaying_a_rejected_file_into_a_new_path_is_fine(fake_hook, segment, tmp_path):
    first = _operator(segment, tmp_path).execute({})
    replay = _operator(
        first["rejected_rows_path"],
        tmp_path,
        rejected_rows_path=str(tmp_path / "replay.parquet"),
        max_rejected_ratio=1.0,
    )
    assert replay.execute({})["total"] == 1


class FailingHook(FakeHook):
    """Writes the first batch, then the org goes away: the task fails half-way (not for a row's data)."""

    def upsert_records(self, sobject, records, external_id_field="Id", **kwargs):
        if self.writes:
            raise SfCrmApiError("Contact batch 2: gave up after 8 attempts")
        return super().upsert_records(sobject, records, external_id_field, **kwargs)


def test_a_failed_run_leaves_the_previous_rejected_file_whole(monkeypatch, segment, tmp_path):
    FakeHook.instances.clear()
    monkeypatch.setattr(segment_export, "SalesforceCrmHook", FailingHook)
    target = tmp_path / "out" / "rejected.parquet"
    target.parent.mkdir()
    pq.write_table(pa.table({"previous": [1, 2, 3]}), target)
    with pytest.raises(SfCrmApiError):
        _operator(segment, tmp_path, batch_size=2, chunk_rows=2).execute({})
    assert pq.read_table(target).column("previous").to_pylist() == [1, 2, 3]
    assert list(target.parent.iterdir()) == [target]  # the temporary file is gone too


@pytest.mark.parametrize(
    ("column", "words"),
    [
        (
            pa.array([["a"], ["b"]] * 2 + [None]),
            r"column 'last' holds list<.*> values, which Contact.LastName",
        ),
        (pa.array([True] * 5), r"column 'last' holds bool values, which Contact.LastName \(string\)"),
    ],
)
def test_a_column_of_a_type_its_field_cannot_take_fails_before_any_write(fake_hook, tmp_path, column, words):
    path = tmp_path / "typed.parquet"
    pq.write_table(pa.table({"sfid": [to18(f"003ak{n:010d}") for n in range(5)], "last": column}), path)
    with pytest.raises(SfCrmConfigError, match=words):
        _operator(str(path), tmp_path, audiences={}).execute({})
    assert fake_hook.instances[0].writes == []


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"max_workers": 0}, "max_workers must be an integer of at least 1"),
        ({"chunk_rows": "many"}, "chunk_rows must be an integer"),
        ({"auto_assign": "yes"}, "auto_assign must be True, False or an AssignmentRule Id"),
    ],
)
def test_other_bad_settings_fail_before_reading(fake_hook, segment, tmp_path, overrides, words):
    with pytest.raises(SfCrmConfigError, match=words):
        _operator(segment, tmp_path, **overrides).execute({})
    assert fake_hook.instances == []


def test_the_field_check_logs_what_it_found(fake_hook, segment, tmp_path, capfd):
    _operator(segment, tmp_path).execute({})
    assert (
        "Field check: 1 audience field on Contact is usable: crm_1_seg__c (Text Area (Long), 32,768 char"
        in capfd.readouterr().out
    )


def test_an_unreadable_csv_row_deep_in_the_file_is_our_error_naming_the_file(fake_hook, tmp_path):
    lines = ["sfid,last,aud"] + [f"{to18(f'003ak{n:010d}')},Name{n},realized" for n in range(100_000)]
    path = tmp_path / "segment.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b"003ak0000099999,Caf\xe9 Secret,realized\n")
    with pytest.raises(SfCrmConfigError, match=r"segment_path .*segment\.csv.*invalid UTF8") as info:
        _operator(str(path), tmp_path).execute({})
    assert "Secret" not in str(info.value)
    assert not (tmp_path / "out" / "rejected.parquet").exists()


def test_lineage_only_after_a_real_run(fake_hook, segment, tmp_path):
    dry = _operator(segment, tmp_path, dry_run=True)
    dry.execute({})
    assert dry.get_openlineage_facets_on_complete(None) is None
    op = _operator(segment, tmp_path)
    assert op.get_openlineage_facets_on_complete(None) is None
    op.execute({})
    [output] = op.get_openlineage_facets_on_complete(None).outputs
    assert (output.namespace, output.name) == ("salesforce://acme.my.salesforce.com", "Contact")
    assert output.outputFacets["outputStatistics"].rowCount == 4


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"row_filter": "last = 'A'; DROP TABLE x"}, "unexpected character ';' at position 10"),
        ({"row_filter": "lower(last) = 'a'"}, r"function calls are not allowed: lower\("),
        ({"row_filter": "nope IS NULL"}, "the segment has no column 'nope'"),
        ({"row_filter": "last > 3"}, "cannot be compared"),
        ({"operation": "publish"}, "publishes Platform Events"),
        ({"sobject": "Notification__e", "operation": "insert"}, "Notification__e is a Platform Event"),
        ({"duplicate_rule_header": {"allowSave": True}}, r"unknown option\(s\) \['allowSave'\]"),
        ({"duplicate_rule_header": {"allow_save": "yes"}}, "allow_save must be True, False or None"),
        ({"duplicate_rule_header": "[1]"}, "must be a mapping of options"),
    ],
)
def test_destination_options_are_refused_before_any_api_call(fake_hook, segment, tmp_path, overrides, words):
    with pytest.raises(SfCrmConfigError, match=words):
        _operator(segment, tmp_path, **overrides).execute({})
    assert fake_hook.instances == []


def test_row_filter_is_templated_and_counts_the_rows_it_leaves_out(fake_hook, segment, tmp_path):
    assert "row_filter" in SalesforceSegmentExportOperator.template_fields
    summary = _operator(segment, tmp_path, row_filter="last IN ('A', 'C', 'E')").execute({})
    assert (summary["total"], summary["written"], summary["rejected"], summary["filtered"]) == (5, 2, 1, 2)
    assert fake_hook.instances[0].writes == [("Contact", 2, "Id")]


def test_duplicate_rule_header_and_publish_reach_the_hook(monkeypatch, tmp_path):
    calls = []

    class RecordingHook(FakeHook):
        def describe_object(self, sobject, refresh=False):
            return {
                "name": sobject,
                "fields": [{"name": "Message__c", "type": "string", "length": 255, "createable": True,
                            "updateable": False, "nillable": True}],
            }  # fmt: skip

        def upsert_records(self, sobject, records, external_id_field="Id", **kwargs):
            calls.append((sobject, external_id_field, kwargs["max_workers"], kwargs["duplicate_rule_header"]))
            return [RecordResult(i, True, "e00xx0000000001AAA") for i in range(len(records))]

    monkeypatch.setattr(segment_export, "SalesforceCrmHook", RecordingHook)
    path = tmp_path / "events.parquet"
    pq.write_table(pa.table({"message": ["a", "b", "c"]}), path)
    summary = SalesforceSegmentExportOperator(
        task_id="publish",
        sobject="Notification__e",
        operation="publish",
        segment_path=str(path),
        field_mapping={"message": "Message__c"},
        rejected_rows_path=str(tmp_path / "rejected.parquet"),
        max_workers=8,
    ).execute({})
    assert (summary["operation"], summary["written"], summary["created"]) == ("publish", 3, 3)
    assert calls == [("Notification__e", None, 1, None)]  # in input order: one request at a time
    with pytest.raises(SfCrmConfigError, match="duplicate_rule_header does not apply"):
        SalesforceSegmentExportOperator(
            task_id="publish",
            sobject="Notification__e",
            operation="publish",
            segment_path=str(path),
            field_mapping={"message": "Message__c"},
            duplicate_rule_header={"allow_save": True},
        ).execute({})


def test_the_object_write_operator_is_the_export_without_audiences(monkeypatch, fake_hook, tmp_path):
    """Any object, parents by external id: the parent's describe is read before anything is written."""
    from airflow_provider_sfcrm.operators.object_write import SalesforceObjectWriteOperator

    contact, parent = contact_with_account(), account(ext_id_length=5)
    described = []

    def describe_object(self, sobject, refresh=False):
        described.append(sobject)
        return {"Contact": contact, "Account": parent}[sobject]

    monkeypatch.setattr(FakeHook, "describe_object", describe_object)
    path = tmp_path / "people.parquet"
    pq.write_table(pa.table({"last": ["Ng", "Li"], "account": ["A-1", "A-123456"]}), path)

    summary = SalesforceObjectWriteOperator(
        task_id="write",
        sobject="Contact",
        operation="insert",
        segment_path=str(path),
        field_mapping={"last": "LastName", "account": "Account.Ext_Id__c"},
        rejected_rows_path=str(tmp_path / "rejected.parquet"),
        max_rejected_ratio=1.0,
    ).execute({})

    assert isinstance(
        SalesforceObjectWriteOperator(task_id="t", sobject="X", field_mapping={}),
        SalesforceSegmentExportOperator,
    )
    assert described == ["Contact", "Account"]
    assert (summary["written"], summary["rejected_by_code"]) == (
        1,
        {"INVALID_FIELD": 1},
    )  # A-123456: too long
    assert fake_hook.instances[0].writes == [("Contact", 1, None)]
