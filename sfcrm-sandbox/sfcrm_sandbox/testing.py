"""pytest fixtures that give a test suite real sandboxes: import them into a ``conftest.py``.

``pytest_plugins = ["sfcrm_sandbox.testing"]`` makes ``sandbox`` (one org for the session),
``proxied_sandbox`` (one org for the session behind its HTTPS proxy) and ``sandbox_factory`` (orgs
with options, stopped after the test) available below that conftest. Needs pytest, which
sfcrm-sandbox itself does not depend on.

The session org accepts the JWT bearer grant: it is started with ``--jwt-cert`` and the matching
private key is at ``sandbox.jwt_key_path`` (made by :func:`make_jwt_key_pair`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sfcrm_sandbox.process import RunningSandbox, start_sandbox

#: The platform event the session sandboxes define (``--platform-event``).
TEST_PLATFORM_EVENT = "Notification__e:Message__c,Severity__c"


def self_signed_certificate(
    key: rsa.RSAPrivateKey, common_name: str = "sfcrm connected app"
) -> x509.Certificate:
    """A certificate of ``key``, signed by itself, as one uploads to a connected app (valid for a year)."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )


def make_jwt_key_pair(directory: str | Path) -> tuple[Path, Path]:
    """Write a new RSA private key (PEM, unencrypted) and its self-signed certificate into ``directory``;
    return ``(key path, certificate path)``: what a connected app's JWT bearer setup uses."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_path, cert_path = directory / "connected-app.key", directory / "connected-app.crt"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(self_signed_certificate(key).public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """One sandbox for the whole session, on a free port, with no latency and no faults; Bulk jobs
    are processed as fast as possible (``--bulk-records-per-s 0 --bulk-job-latency-ms 0``); the
    platform event ``Notification__e`` (Text fields ``Message__c`` and ``Severity__c``) is defined,
    duplicate rules are off.

    Tests that need a clean org call ``sandbox.reset()``; tests that need faults, latency or
    limits start their own with ``sandbox_factory``.
    """
    data_dir = tmp_path_factory.mktemp("sandbox")
    key_path, cert_path = make_jwt_key_pair(data_dir / "jwt")
    with start_sandbox(
        data_dir,
        jwt_cert=cert_path,
        bulk_records_per_s=0,
        bulk_job_latency_ms=0,
        platform_event=[TEST_PLATFORM_EVENT],
    ) as running:
        running.jwt_key_path = key_path
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
