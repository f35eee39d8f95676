"""SOAP partner login: the loginResponse, and faults as Salesforce sends them (never echoing the password)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from simple_salesforce import Salesforce, SalesforceAuthenticationFailed

from tests.integration._clients import http

PARTNER = "{urn:partner.soap.sforce.com}"


def envelope(username: str, password: str, scope: str = "") -> str:
    header = (
        f"<env:Header><urn:LoginScopeHeader><urn:organizationId>{scope}</urn:organizationId>"
        "</urn:LoginScopeHeader></env:Header>"
        if scope
        else ""
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:urn="urn:partner.soap.sforce.com">'
        f"{header}<env:Body><urn:login><urn:username>{username}</urn:username>"
        f"<urn:password>{password}</urn:password></urn:login></env:Body></env:Envelope>"
    )


def login(running, version: str, body: str):
    return http(running).post(
        f"{running.base_url}/services/Soap/u/{version}",
        data=body.encode(),
        headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "login"},
    )


def test_login_response(sandbox):
    response = login(sandbox, "64.0", envelope(sandbox.username, sandbox.password + sandbox.security_token))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    result = ET.fromstring(response.content).find(f".//{PARTNER}result")
    server_url = result.findtext(f"{PARTNER}serverUrl")
    assert server_url.startswith(f"{sandbox.base_url}/services/Soap/u/64.0/00D")
    assert result.findtext(f"{PARTNER}userId").startswith("005")
    info = result.find(f"{PARTNER}userInfo")
    assert info.findtext(f"{PARTNER}userName") == sandbox.username
    assert info.findtext(f"{PARTNER}organizationId").startswith("00D")
    session = http(sandbox)
    session.headers["Authorization"] = f"Bearer {result.findtext(PARTNER + 'sessionId')}"
    assert session.get(f"{sandbox.base_url}/services/data/v64.0/limits").status_code == 200


@pytest.mark.parametrize(
    ("version", "password", "code"),
    [
        ("64.0", "wrong-password", "INVALID_LOGIN"),
        ("64.0", None, "LOGIN_MUST_USE_SECURITY_TOKEN"),  # the right password without the token
        ("65.0", "ok", "INVALID_OPERATION"),  # login() is gone from API v65.0
        ("29.0", "ok", "UNSUPPORTED_API_VERSION"),  # retired
    ],
)
def test_login_faults(sandbox, version, password, code):
    given = {None: sandbox.password, "ok": sandbox.password + sandbox.security_token}.get(password, password)
    response = login(sandbox, version, envelope(sandbox.username, given))
    assert response.status_code == 500
    fault = ET.fromstring(response.content).find(".//{http://schemas.xmlsoap.org/soap/envelope/}Fault")
    assert fault.findtext("faultcode") == f"sf:{code}"
    assert fault.findtext(".//{urn:fault.partner.soap.sforce.com}exceptionCode") == code
    assert given.encode() not in response.content and sandbox.security_token.encode() not in response.content


def test_login_scope_must_name_this_org(sandbox):
    right = sandbox.password + sandbox.security_token
    response = login(sandbox, "59.0", envelope(sandbox.username, right, scope="00D000000000001"))
    assert response.status_code == 500 and b"INVALID_LOGIN" in response.content


@pytest.mark.parametrize(
    "body", ["not xml at all", "<a/>", envelope("x", "y").replace("urn:login", "urn:query")]
)
def test_requests_that_are_no_login_are_client_faults(sandbox, body):
    response = login(sandbox, "59.0", body)
    assert response.status_code == 500 and b"<faultcode>soapenv:Client</faultcode>" in response.content


def test_simple_salesforce_reads_the_fault(proxied_sandbox):
    session = http(proxied_sandbox)
    session.proxies = {"https": proxied_sandbox.proxy_url}
    with pytest.raises(SalesforceAuthenticationFailed) as info:
        Salesforce(username=proxied_sandbox.username, password="nope", security_token="x", session=session)
    assert info.value.code == "INVALID_LOGIN"
