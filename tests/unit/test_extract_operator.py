"""SalesforceExtractOperator around the core: arguments, settling, outlets and Asset events, and the
REST reader's resumption (hook faked at its seam)."""

from __future__ import annotations

import datetime as dt

import pytest
from airflow.sdk import Asset, AssetAlias

from airflow_provider_sfcrm.activation.ids import to18
from airflow_provider_sfcrm.assets import salesforce_asset
from airflow_provider_sfcrm.exceptions import SfCrmApiError, SfCrmConfigError
from airflow_provider_sfcrm.extraction.schema import arrow_schema, select_columns
from airflow_provider_sfcrm.operators import extract as extract_module
from airflow_provider_sfcrm.operators._extract_readers import Bulk2RecordReader, RestRecordReader
from airflow_provider_sfcrm.operators.extract import SalesforceExtractOperator
from tests.unit.extraction._describe import describe

UTC = dt.timezone.utc
START = dt.datetime(2024, 1, 31, 10, tzinfo=UTC)
END = START + dt.timedelta(hours=1)
CONTEXT = {"data_interval_start": START, "data_interval_end": END}
ORG = to18("00Dak0000012345")


def operator(**kwargs):
    return SalesforceExtractOperator(
        task_id="extract", **{"sobject": "Contact", "output_path": "/tmp/x", **kwargs}
    )


def test_it_declares_the_objects_alias_unless_given_outlets():
    assert operator().outlets == [AssetAlias("sfcrm-extract:sfcrm_default:Contact")]
    assert operator(sfcrm_conn_id="crm").outlets == [AssetAlias("sfcrm-extract:crm:Contact")]
    assert operator(sobject="{{ params.object }}").outlets == []
    mine = salesforce_asset(ORG, "Contact")
    assert operator(outlets=[mine]).outlets == [mine]


def test_an_interval_that_has_not_settled_defers_until_it_has(monkeypatch):
    from airflow.providers.standard.triggers.temporal import DateTimeTrigger
    from airflow.sdk.exceptions import TaskDeferred

    monkeypatch.setattr(extract_module, "_now", lambda: END + dt.timedelta(minutes=3))
    with pytest.raises(TaskDeferred) as deferred:
        operator(settle=dt.timedelta(minutes=10)).execute(CONTEXT)
    assert isinstance(deferred.value.trigger, DateTimeTrigger)
    assert deferred.value.trigger.moment == END + dt.timedelta(minutes=10)
    assert deferred.value.method_name == "execute_complete"


def test_without_deferral_it_sleeps_until_settled(monkeypatch):
    clock = [END]
    naps = []

    def sleep(seconds):
        naps.append(seconds)
        clock[0] += dt.timedelta(seconds=seconds)

    monkeypatch.setattr(extract_module, "_now", lambda: clock[0])
    monkeypatch.setattr(extract_module.time, "sleep", sleep)
    monkeypatch.setattr(
        SalesforceExtractOperator, "_extract", lambda self, context, window: {"window": window}
    )
    result = operator(settle=dt.timedelta(minutes=1), deferrable=False).execute(CONTEXT)
    assert naps == [30.0, 30.0] and result["window"].end == END


def test_a_settled_interval_is_read_at_once(monkeypatch):
    monkeypatch.setattr(
        SalesforceExtractOperator, "_extract", lambda self, context, window: {"window": window}
    )
    assert operator().execute(CONTEXT)["window"].start == START  # END is long past


@pytest.mark.parametrize(
    ("kwargs", "context", "complaint"),
    [
        ({"api": "soap"}, CONTEXT, "api must be one of auto, rest, bulk"),
        ({"settle": dt.timedelta(minutes=-1)}, CONTEXT, "settle must be a timedelta of zero or more"),
        ({"settle": 600}, CONTEXT, "settle must be a timedelta"),
        ({"rows_per_file": 0}, CONTEXT, "rows_per_file must be a positive integer"),
        ({"bulk_threshold": True}, CONTEXT, "bulk_threshold must be a positive integer"),
        ({"output_path": " "}, CONTEXT, "output_path must be a non-empty text"),
        ({"max_api_share": 2}, CONTEXT, "max_api_share must be a fraction"),
        ({"full_refresh": "maybe"}, CONTEXT, "full_refresh must be true or false"),
        ({}, {"data_interval_start": None, "data_interval_end": None}, "this run has no data interval"),
        ({}, {"data_interval_start": END, "data_interval_end": START}, "is empty"),
    ],
)
def test_bad_arguments_are_refused_before_any_call(kwargs, context, complaint):
    with pytest.raises(SfCrmConfigError, match=complaint):
        operator(**kwargs).execute(context)


def test_full_refresh_may_come_from_a_template(monkeypatch):
    monkeypatch.setattr(
        SalesforceExtractOperator, "_extract", lambda self, context, window: {"window": window}
    )
    assert operator(full_refresh="True").execute(CONTEXT)["window"].full_refresh


@pytest.mark.parametrize(
    ("columns", "parsed"),
    [
        (None, None),
        ("", None),
        (["Email", " Phone "], ["Email", "Phone"]),
        ("Email, Phone", ["Email", "Phone"]),
        ('["Email", "Phone"]', ["Email", "Phone"]),
    ],
)
def test_columns_come_as_a_list_or_as_text(columns, parsed):
    assert operator(columns=columns)._requested_columns() == parsed


def test_columns_of_another_shape_are_refused():
    with pytest.raises(SfCrmConfigError, match="columns must be a list of field names"):
        operator(columns=[1, 2])._requested_columns()


class Events(dict):
    """Stands in for ``context["outlet_events"]``."""

    def __missing__(self, key):
        self[key] = accessor = type("Accessor", (), {"added": None, "extra": None})()
        accessor.add = lambda asset, extra=None: setattr(accessor, "added", (asset, extra))
        return accessor


SUMMARY = {
    "output_path": "s3://lake/Contact/x",
    "interval": {"start": "a", "end": "b"},
    "rows": 3,
    "deleted": 1,
}


def test_the_alias_is_attached_to_the_objects_asset_with_where_the_files_are():
    events = Events()
    task = operator()
    task._announce({"outlet_events": events}, salesforce_asset(ORG, "Contact"), SUMMARY)
    asset, extra = events[task.outlets[0]].added
    assert asset.uri == f"salesforce://{ORG}/Contact"
    assert extra == {
        "output_path": "s3://lake/Contact/x",
        "interval_start": "a",
        "interval_end": "b",
        "rows": 3,
        "deleted": 1,
    }


def test_a_declared_asset_must_be_what_was_extracted():
    events = Events()
    declared = salesforce_asset(ORG, "Contact")
    operator(outlets=[declared])._announce(
        {"outlet_events": events}, salesforce_asset(ORG, "Contact"), SUMMARY
    )
    assert events[declared].extra["rows"] == 3
    other_org = salesforce_asset(to18("00Dak0000099999"), "Contact")
    with pytest.raises(SfCrmConfigError, match="does not name what this task extracted"):
        operator(outlets=[other_org])._announce({"outlet_events": Events()}, declared, SUMMARY)
    # Outlets that are not Salesforce's are left alone.
    operator(outlets=[Asset("s3://lake/other")])._announce({"outlet_events": Events()}, declared, SUMMARY)


class PagingHook:
    """Serves pages of records; the cursor of ``expire_after`` pages expires once."""

    def __init__(self, ids, page=2, expire_after=None):
        self.ids, self.page, self.expire_after, self.queries = ids, page, expire_after, []

    def query_pages(self, soql, include_deleted=False):
        self.queries.append(soql)
        after = soql.split("Id > '")[1][:18] if "Id > '" in soql else None
        remaining = [i for i in self.ids if after is None or i > after]
        for n in range(0, len(remaining), self.page):
            if self.expire_after is not None and n // self.page == self.expire_after:
                self.expire_after = None
                raise SfCrmApiError(
                    "GET queryAll (next page): INVALID_QUERY_LOCATOR: invalid query locator",
                    status=400,
                    error_code="INVALID_QUERY_LOCATOR",
                )
            yield [
                {"Id": i, "SystemModstamp": "2024-01-31T10:00:00.000+0000", "IsDeleted": False}
                for i in remaining[n : n + self.page]
            ]


def read(hook):
    columns = select_columns(describe(), ["Id"])
    reader = RestRecordReader(hook, columns, arrow_schema(columns))
    query = "SELECT Id, SystemModstamp, IsDeleted FROM Contact WHERE (x) ORDER BY Id"
    return [r["Id"] for b in reader.batches(query, include_deleted=True) for r in b.to_pylist()], reader


def test_an_expired_query_cursor_resumes_after_the_last_id():
    ids = [to18(f"003ak00000000{n:02d}") for n in range(7)]
    got, reader = read(PagingHook(ids, expire_after=2))
    assert got == ids and reader.resumes == 1
    assert reader.hook.queries[1].endswith(f"AND Id > '{ids[3]}' ORDER BY Id")


def test_other_errors_and_endless_expiry_are_raised():
    ids = [to18(f"003ak00000000{n:02d}") for n in range(3)]
    with pytest.raises(SfCrmApiError, match="INVALID_QUERY_LOCATOR"):
        read(PagingHook(ids, expire_after=0))  # nothing read yet: nothing to resume after

    class Broken(PagingHook):
        def query_pages(self, soql, include_deleted=False):
            raise SfCrmApiError("boom", error_code="MALFORMED_QUERY")
            yield

    with pytest.raises(SfCrmApiError, match="boom"):
        read(Broken(ids))


class FakeJobs:
    """A Bulk API 2.0 query job service: pages of CSV given in the order asked, calls recorded."""

    def __init__(self, pages, fail_at=None):
        self.pages, self.fail_at, self.calls = pages, fail_at, []
        self.state = "UploadComplete"

    def info(self, job_id):
        self.calls.append(("info", job_id))
        return {"id": job_id, "state": self.state}

    def abort(self, job_id):
        self.calls.append(("abort", job_id))
        self.state = "Aborted"

    def create(self, soql, include_deleted):
        self.calls.append(("create", soql, include_deleted))
        return {"id": "750ak0000000001AAA"}

    def wait(self, job_id, on_poll):
        self.calls.append(("wait", job_id))
        on_poll({"state": "InProgress"})
        if self.fail_at == "wait":
            self.state = "Failed"
            raise SfCrmApiError("Bulk query job ended Failed: boom", error_code="JOB_Failed")
        if self.fail_at == "timeout":
            raise SfCrmApiError("Bulk query job is still InProgress after 3600s", error_code="JOB_TIMEOUT")
        self.state = "JobComplete"
        return {"state": "JobComplete", "numberRecordsProcessed": 3}

    def results(self, job_id, max_records):
        self.calls.append(("results", job_id, max_records))
        for page in self.pages:
            if self.fail_at == "results":
                raise SfCrmApiError("GET jobs/query/{id}/results: SERVER_UNAVAILABLE")
            yield page

    def delete(self, job_id):
        self.calls.append(("delete", job_id))


def bulk_read(pages, fail_at=None, checkpoint=lambda: None):
    from airflow_provider_sfcrm.operators._extract_readers import Bulk2RecordReader

    jobs = FakeJobs(pages, fail_at)
    hook = type("Hook", (), {"bulk2_query_jobs": lambda self: jobs})()
    columns = select_columns(describe(), ["Id"])
    reader = Bulk2RecordReader(hook, columns, arrow_schema(columns), checkpoint)
    reader.page_rows = 2
    query = "SELECT Id, SystemModstamp, IsDeleted FROM Contact WHERE (x) ORDER BY Id"
    return [r["Id"] for b in reader.batches(query, include_deleted=True) for r in b.to_pylist()], jobs


def csv_page(*ids):
    return (
        '"Id","SystemModstamp","IsDeleted"\n'
        + "".join(f'"{i}","2024-01-31T10:00:00.000Z","false"\n' for i in ids)
    ).encode()


def test_a_bulk_read_comes_back_in_id_order_and_deletes_its_job():
    ids = [to18(f"003ak00000000{n:02d}") for n in range(5)]
    got, jobs = bulk_read([csv_page(ids[3], ids[1]), csv_page(ids[4]), csv_page(ids[0], ids[2])])
    assert got == ids
    assert jobs.calls[0] == (
        "create",
        "SELECT Id, SystemModstamp, IsDeleted FROM Contact WHERE (x)",  # Bulk queries take no ORDER BY
        True,
    )
    assert jobs.calls[-1] == ("delete", "750ak0000000001AAA")


@pytest.mark.parametrize(
    ("fail_at", "message", "cleanup"),
    [
        ("wait", "ended Failed: boom", ["info", "delete"]),  # it has ended: deleted
        ("timeout", "still InProgress", ["info", "abort", "delete"]),  # still running: aborted first
        ("results", "SERVER_UNAVAILABLE", ["info", "delete"]),
    ],
)
def test_a_bulk_read_that_fails_leaves_no_job_behind(fail_at, message, cleanup):
    jobs = FakeJobs([csv_page(to18("003ak0000000001"))], fail_at)
    hook = type("Hook", (), {"bulk2_query_jobs": lambda self: jobs})()
    columns = select_columns(describe(), ["Id"])
    reader = Bulk2RecordReader(hook, columns, arrow_schema(columns))
    with pytest.raises(SfCrmApiError, match=message):
        list(reader.batches("SELECT Id FROM Contact WHERE (x) ORDER BY Id", include_deleted=True))
    after = [call[0] for call in jobs.calls]
    assert after[after.index("results" if fail_at == "results" else "wait") + 1 :] == cleanup


def test_the_quota_guard_leaves_the_bulk_job_alone():
    from airflow_provider_sfcrm.extraction.plan import QuotaExceeded
    from airflow_provider_sfcrm.operators._extract_readers import Bulk2RecordReader

    jobs = FakeJobs([csv_page(to18("003ak0000000001"))])
    hook = type("Hook", (), {"bulk2_query_jobs": lambda self: jobs})()
    columns = select_columns(describe(), ["Id"])

    def guard():
        raise QuotaExceeded("stopped")

    reader = Bulk2RecordReader(hook, columns, arrow_schema(columns), guard)
    with pytest.raises(QuotaExceeded):
        list(reader.batches("SELECT Id FROM Contact WHERE (x) ORDER BY Id", include_deleted=True))
    assert [call[0] for call in jobs.calls] == ["create"]  # no poll, no delete after the guard said stop
