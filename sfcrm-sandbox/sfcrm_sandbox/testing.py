"""pytest fixtures that give a test suite real sandboxes: import them into a ``conftest.py``.

``pytest_plugins = ["sfcrm_sandbox.testing"]`` makes ``sandbox`` (one org for the session),
``proxied_sandbox`` (one org for the session behind its HTTPS proxy) and ``sandbox_factory`` (orgs
with options, stopped after the test) available below that conftest. Needs pytest, which
sfcrm-sandbox itself does not depend on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sfcrm_sandbox.process import RunningSandbox, start_sandbox

#: The platform event the session sandboxes define (``--platform-event``).
TEST_PLATFORM_EVENT = "Notification__e:Message__c,Severity__c"


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """One sandbox for the whole session, on a free port, with no latency and no faults; Bulk jobs
    are processed as fast as possible (``--bulk-records-per-s 0 --bulk-job-latency-ms 0``); the
    platform event ``Notification__e`` (Text fields ``Message__c`` and ``Severity__c``) is defined,
    duplicate rules are off.

    Tests that need a clean org call ``sandbox.reset()``; tests that need faults, latency or
    limits start their own with ``sandbox_factory``.
    """
    with start_sandbox(
        tmp_path_factory.mktemp("sandbox"),
        bulk_records_per_s=0,
        bulk_job_latency_ms=0,
        platform_event=[TEST_PLATFORM_EVENT],
    ) as running:
        yield running


@pytest.fixture(scope="session")
def proxied_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """One sandbox for the session that also serves its HTTPS proxy for Salesforce's hosts
    (``proxy_url``): unmodified clients log in at ``login.salesforce.com`` through it. Bulk jobs are
    processed as fast as possible and ``Notification__e`` is defined, as in ``sandbox``."""
    with start_sandbox(
        tmp_path_factory.mktemp("sandbox-proxied"),
        proxy_port=0,
        bulk_records_per_s=0,
        bulk_job_latency_ms=0,
        platform_event=[TEST_PLATFORM_EVENT],
    ) as running:
        yield running


@pytest.fixture
def sandbox_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., RunningSandbox]]:
    """Start extra sandboxes with options (``faults={...}``, ``latency_ms=...``); all stop after the test."""
    started: list[RunningSandbox] = []

    def start(**options: Any) -> RunningSandbox:
        running = start_sandbox(tmp_path_factory.mktemp("sandbox-custom"), **options)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
