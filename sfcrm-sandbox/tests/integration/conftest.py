"""A simple-salesforce client of the session sandbox, per test module."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce

from tests.integration._clients import salesforce


@pytest.fixture(scope="module")
def sf(sandbox) -> Salesforce:
    return salesforce(sandbox)
