"""The sandbox's CA and server certificate: names, reuse across restarts, re-issue for new names."""

from __future__ import annotations

import ipaddress

from cryptography import x509

from sfcrm_sandbox.server.tls import ensure_certificates


def names(path):
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value), cert


def test_server_certificate_names_and_issuer(tmp_path):
    files = ensure_certificates(tmp_path)
    sans, server = names(files.server_cert)
    assert x509.DNSName("localhost") in sans
    assert x509.IPAddress(ipaddress.ip_address("127.0.0.1")) in sans
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    assert server.issuer == ca.subject
    server.verify_directly_issued_by(ca)


def test_files_are_reused_and_the_ca_survives_new_names(tmp_path):
    first = ensure_certificates(tmp_path)
    ca_pem, server_pem = first.ca_cert.read_bytes(), first.server_cert.read_bytes()
    again = ensure_certificates(tmp_path)
    assert again.server_cert.read_bytes() == server_pem and again.ca_cert.read_bytes() == ca_pem
    renamed = ensure_certificates(tmp_path, ["salesforce-sandbox"])
    assert renamed.ca_cert.read_bytes() == ca_pem  # clients keep trusting the same CA
    sans, _ = names(renamed.server_cert)
    assert x509.DNSName("salesforce-sandbox") in sans and x509.DNSName("localhost") in sans
