"""The quota guard (``max_api_share``) and a spent allocation: the extract stops cleanly, writes nothing,
and leaves the interval's previous file set as it was."""

from __future__ import annotations

import datetime as dt

import pytest

from airflow_provider_sfcrm.exceptions import SfCrmQuotaError, SfCrmRequestLimitError
from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
from tests.conftest import set_connection_env
from tests.integration._extract_helpers import UTC, extract

pytestmark = pytest.mark.integration

START = dt.datetime(2024, 7, 1, tzinfo=UTC)
END = START + dt.timedelta(hours=1)
CONTACTS = 4500  # three REST pages


@pytest.fixture
def org(sandbox_factory, monkeypatch):
    running = sandbox_factory(
        daily_api_limit=200, clock=(START + dt.timedelta(minutes=5)).isoformat(), frozen_clock=True
    )
    set_connection_env(monkeypatch, "sfcrm_default", running)
    hook = SalesforceCrmHook("sfcrm_default")
    results = hook.upsert_records(
        "Contact", [{"LastName": f"L{n}"} for n in range(CONTACTS)], external_id_field=None
    )
    assert all(r.success for r in results)
    running.set_clock(END + dt.timedelta(hours=1))
    return running


def used(running) -> int:
    return running.stats()["api_usage"]["used"]


def test_a_start_that_would_pass_the_share_is_refused(org, tmp_path):
    # describe, COUNT() and limits come first: the plan is then 3 pages + 3 calls.
    before = used(org)
    share = (before + 3 + 6 - 1) / 200  # one call short of the plan
    with pytest.raises(SfCrmQuotaError, match="not starting the Contact extract: it needs about 6 API calls"):
        extract(tmp_path, "Contact", START, END, max_api_share=share)
    assert not (tmp_path / "Contact").exists()
    assert used(org) == before + 3  # no page was read
    summary = extract(tmp_path, "Contact", START, END, max_api_share=(before + 3 + 3 + 6) / 200)
    assert summary["rows"] == CONTACTS


def test_a_read_that_reaches_the_share_stops_and_keeps_the_previous_set(org, tmp_path, monkeypatch):
    first = extract(tmp_path, "Contact", START, END)
    target = tmp_path / "Contact" / f"{START:%Y%m%dT%H%M%S}"
    previous = {p.name: p.read_bytes() for p in target.iterdir()}

    # Another integration spends calls while the extract reads (the usage is the org's).
    other = SalesforceCrmHook("sfcrm_default")
    pages = SalesforceCrmHook.query_pages

    def busy_org(self, soql, **kwargs):
        for n, page in enumerate(pages(self, soql, **kwargs)):
            yield page
            if n == 0:
                for _ in range(20):
                    other.daily_api_usage()

    monkeypatch.setattr(SalesforceCrmHook, "query_pages", busy_org)
    share = (used(org) + 3 + 6 + 5) / 200  # room for the plan, not for the other integration too
    # The extract learns the org's usage from its own responses (Sforce-Limit-Info): the page after
    # the other integration's calls shows them, and the read stops before the third page.
    with pytest.raises(
        SfCrmQuotaError, match="stopped the Contact extract after 4000 of 4500 rows"
    ) as stopped:
        extract(tmp_path, "Contact", START, END, max_api_share=share)
    assert "Nothing was written" in str(stopped.value)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == previous
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no staging left behind
    assert first["rows"] == CONTACTS


def test_a_spent_allocation_stops_the_read_and_writes_nothing(org, tmp_path):
    # Leave the org 4 calls: describe, COUNT() and the first page pass, the second page is refused.
    other = SalesforceCrmHook("sfcrm_default")
    while used(org) < 200 - 4:
        other.daily_api_usage()
    with pytest.raises(SfCrmRequestLimitError, match="TotalRequests Limit exceeded"):
        extract(tmp_path, "Contact", START, END)
    assert not (tmp_path / "Contact").exists() or not any((tmp_path / "Contact").iterdir())


@pytest.mark.parametrize("deferrable", [False, True])
def test_a_bulk_read_stops_while_its_job_runs_and_spends_no_more(org, tmp_path, monkeypatch, deferrable):
    """Polled in the worker, the job's first poll shows the usage; polled in the triggerer (whose polls
    the guard does not see), the resumed task's describe shows it, before any result page is read."""
    from airflow_provider_sfcrm.hooks._bulk2_query import Bulk2QueryJobs

    other = SalesforceCrmHook("sfcrm_default")
    info = Bulk2QueryJobs.info
    polls = []

    def busy_org(self, job_id):
        if not polls:
            for _ in range(20):  # another integration, while the job runs
                other.daily_api_usage()
        polls.append(job_id)
        return info(self, job_id)

    monkeypatch.setattr(Bulk2QueryJobs, "info", busy_org)
    share = (used(org) + 3 + 10 + 2) / 200  # describe, COUNT(), limits; 10 planned for the job
    with pytest.raises(SfCrmQuotaError, match="stopped the Contact extract after 0 of 4500 rows"):
        extract(tmp_path, "Contact", START, END, api="bulk", max_api_share=share, deferrable=deferrable)
    if not deferrable:
        assert len(polls) == 1  # it stopped at the first poll that showed the usage
    assert org.calls_to("/results") == 0 and org.calls_to("DELETE /jobs/query") == 0  # no more calls
    assert not (tmp_path / "Contact").exists() or not any((tmp_path / "Contact").iterdir())
