"""Salesforce host names and where a login lands."""

from __future__ import annotations

import pytest

from sfcrm_sandbox.models.hosts import instance_url, is_salesforce_host


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("login.salesforce.com", True),
        ("acme.my.salesforce.com", True),
        ("acme--uat.sandbox.my.salesforce.com", True),
        ("acme.lightning.force.com", False),  # a wildcard is one label
        ("salesforce.com.evil.example", False),
        ("example.com", False),
    ],
)
def test_salesforce_hosts(host, allowed):
    assert is_salesforce_host(host) is allowed


def test_logins_at_login_hosts_land_on_the_my_domain():
    assert instance_url("https://login.salesforce.com", "acme") == "https://acme.my.salesforce.com"
    assert instance_url("https://test.salesforce.com", "acme") == "https://acme.my.salesforce.com"
    assert instance_url("https://127.0.0.1:8443", "acme") == "https://127.0.0.1:8443"
