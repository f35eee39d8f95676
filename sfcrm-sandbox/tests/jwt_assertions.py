"""JWT assertions signed with ``cryptography`` alone, for the JWT bearer tests (the sandbox verifies what
JWT libraries produce, so its tests do not build assertions with one)."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def segment(data: dict[str, Any]) -> str:
    """One base64url part of a JWT (no padding)."""
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def signed_jwt(claims: dict[str, Any], key: rsa.RSAPrivateKey, *, alg: str = "RS256") -> str:
    """``header.claims.signature``, the signature RS256 (PKCS#1 v1.5, SHA-256) whatever ``alg`` says."""
    signing_input = f"{segment({'alg': alg, 'typ': 'JWT'})}.{segment(claims)}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


def load_key(path: Any) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(open(path, "rb").read(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key
