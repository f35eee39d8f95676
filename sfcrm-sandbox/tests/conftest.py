"""Sandboxes for the sandbox's own tests: each a real ``sfcrm-sandbox serve`` child process on a free port."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.process import RunningSandbox, start_sandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> RunningSandbox:
    """One sandbox for the whole session, with no latency and no faults.

    Tests that need a clean org call ``sandbox.reset()``; tests that need faults, latency or
    limits start their own with ``sandbox_factory``.
    """
    with start_sandbox(tmp_path_factory.mktemp("sandbox")) as running:
        yield running


@pytest.fixture
def sandbox_factory(tmp_path_factory: pytest.TempPathFactory):
    """Start extra sandboxes with options (``faults={...}``, ``latency_ms=...``); all stop after the test."""
    started: list[RunningSandbox] = []

    def start(**options) -> RunningSandbox:
        running = start_sandbox(tmp_path_factory.mktemp("sandbox-custom"), **options)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
