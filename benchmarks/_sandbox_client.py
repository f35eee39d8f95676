"""A ``requests`` session on a running sandbox, for the benchmarks that talk to it directly."""

from __future__ import annotations

import requests
from sfcrm_sandbox.process import RunningSandbox


def authed_session(running: RunningSandbox) -> requests.Session:
    """A session that trusts the sandbox's CA and carries a bearer token from its OAuth endpoint."""
    session = requests.Session()
    session.verify = str(running.ca_path)
    # REQUESTS_CA_BUNDLE in the environment would otherwise override session.verify.
    session.trust_env = False
    token = session.post(
        f"{running.base_url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": running.client_id,
            "client_secret": running.client_secret,
            "username": running.username,
            "password": running.password + running.security_token,
        },
    ).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    return session
