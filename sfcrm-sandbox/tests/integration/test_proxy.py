"""The HTTPS proxy stands in for Salesforce's hosts only; the connection recipes and their errors."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from tests.integration._clients import http


def ask_proxy(running, request: bytes) -> bytes:
    parts = urlsplit(running.proxy_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(request)
        return sock.recv(4096)


@pytest.mark.parametrize(
    ("request_line", "status"),
    [
        (b"CONNECT login.salesforce.com:443 HTTP/1.1", b"200"),
        (b"CONNECT acme.my.salesforce.com:443 HTTP/1.1", b"200"),
        (b"CONNECT example.com:443 HTTP/1.1", b"403"),  # not an open proxy
        (b"CONNECT login.salesforce.com:8443 HTTP/1.1", b"403"),
        (b"CONNECT salesforce.com.example.org:443 HTTP/1.1", b"403"),
        (b"GET http://login.salesforce.com/ HTTP/1.1", b"405"),
    ],
)
def test_proxy_tunnels_salesforce_hosts_only(proxied_sandbox, request_line, status):
    answer = ask_proxy(proxied_sandbox, request_line + b"\r\nHost: x\r\n\r\n")
    assert answer.split(b" ")[1] == status


def test_certificate_names_salesforce_hosts_in_proxy_mode(proxied_sandbox):
    session = http(proxied_sandbox)
    session.proxies = {"https": proxied_sandbox.proxy_url}
    for host in ("login.salesforce.com", "test.salesforce.com", "acme--uat.sandbox.my.salesforce.com"):
        assert session.get(f"https://{host}/services/data/").status_code == 200


def connection(running, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sfcrm_sandbox", "connection", "--data-dir", str(running.data_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_salesforce_recipe_is_a_connection_and_a_ca(proxied_sandbox):
    exports = connection(proxied_sandbox, "--for", "salesforce", "--conn-id", "sf_local").stdout
    assert f"export REQUESTS_CA_BUNDLE={proxied_sandbox.ca_path}" in exports
    printed = connection(
        proxied_sandbox, "--for", "salesforce", "--format", "json", "--auth", "password"
    ).stdout
    conn = json.loads(printed)
    assert conn["conn_type"] == "salesforce"
    assert conn["extra"]["proxies"] == {"https": proxied_sandbox.proxy_url}
    assert conn["password"] == proxied_sandbox.password + proxied_sandbox.security_token
    assert "export AIRFLOW_CONN_SF_LOCAL=" in exports


def test_sfcrm_recipe(proxied_sandbox):
    conn = json.loads(connection(proxied_sandbox, "--for", "sfcrm", "--format", "json").stdout)
    assert conn == proxied_sandbox.connection_dict()


def test_recipes_explain_what_is_missing(sandbox, tmp_path):
    without_proxy = connection(sandbox, "--for", "salesforce")
    assert without_proxy.returncode != 0 and "--proxy-port" in without_proxy.stderr
    sandbox_less = subprocess.run(
        [sys.executable, "-m", "sfcrm_sandbox", "connection", "--data-dir", str(tmp_path), "--for", "sfcrm"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert sandbox_less.returncode != 0 and "no sandbox serves from" in sandbox_less.stderr


def test_proxy_line_comes_before_the_ready_line(sandbox_factory):
    running = sandbox_factory(proxy_port=0)
    lines = [line for line in running.output if line.startswith("sfcrm-sandbox ")]
    assert lines[0] == f"sfcrm-sandbox proxy {running.proxy_url}"
    assert lines[1].startswith("sfcrm-sandbox ready https://127.0.0.1:")
    assert (running.data_dir / "sandbox.json").stat().st_mode & 0o077 == 0
