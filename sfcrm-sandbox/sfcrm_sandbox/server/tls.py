"""The sandbox's own certificate authority and server certificate (``cryptography``).

Clients trust the sandbox by trusting ``<data-dir>/ca.pem`` (``ca_bundle`` of the connection, or
``REQUESTS_CA_BUNDLE``), exactly as they would trust a corporate CA; nothing is ever added to the
system trust store. The CA is reused while valid, so a restarted sandbox stays trusted; the
server certificate is re-issued by that CA when it expires or must name other hosts (e.g. a
``salesforce-sandbox`` service name in docker-compose, given with ``--cert-hostname``).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = dt.timedelta(days=825)
_RENEW_BEFORE = dt.timedelta(days=7)
DEFAULT_NAMES = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class TlsFiles:
    """Paths of the PEM files the server and its clients use."""

    ca_cert: Path
    server_cert: Path
    server_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sfcrm-sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)


def _load_valid(path: Path) -> x509.Certificate | None:
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None
    if cert.not_valid_after_utc - _RENEW_BEFORE <= dt.datetime.now(dt.timezone.utc):
        return None
    return cert


def _names_of(cert: x509.Certificate) -> set[x509.GeneralName]:
    try:
        return set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return set()


def _issue_ca(files: TlsFiles, ca_key_path: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("sfcrm-sandbox local CA")
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(ca_key_path, key)
    files.ca_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


def _issue_server(
    files: TlsFiles,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    names: list[x509.GeneralName],
) -> None:
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(min(now + _VALIDITY, ca_cert.not_valid_after_utc))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(files.server_key, key)
    files.server_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure_certificates(data_dir: Path, hostnames: Sequence[str] = ()) -> TlsFiles:
    """Create or reuse ``ca.pem`` and a server certificate for localhost, 127.0.0.1 and ``hostnames``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(data_dir / "ca.pem", data_dir / "server.pem", data_dir / "server-key.pem")
    ca_key_path = data_dir / "ca-key.pem"
    wanted = list(dict.fromkeys(_general_name(h) for h in (*DEFAULT_NAMES, *hostnames)))

    ca_cert = _load_valid(files.ca_cert)
    ca_key = None
    if ca_cert is not None and ca_key_path.exists():
        loaded = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
        ca_key = loaded if isinstance(loaded, ec.EllipticCurvePrivateKey) else None
    if ca_cert is None or ca_key is None:
        ca_cert, ca_key = _issue_ca(files, ca_key_path)
        server = None
    else:
        server = _load_valid(files.server_cert)
    if (
        server is None
        or not files.server_key.exists()
        or server.issuer != ca_cert.subject
        or not set(wanted) <= _names_of(server)
    ):
        _issue_server(files, ca_cert, ca_key, wanted)
    return files
