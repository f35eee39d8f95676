"""How to point clients at a running sandbox: the ``sfcrm-sandbox connection`` recipes.

Three clients, each with its own login flows left unmodified:

- ``salesforce``: an Airflow connection of type ``salesforce`` (the official
  ``apache-airflow-providers-salesforce``), logging in at ``login.salesforce.com`` through the
  sandbox's HTTPS proxy (the connection's ``proxies`` extra), with ``REQUESTS_CA_BUNDLE`` naming the
  sandbox's CA in the worker's environment;
- ``simple-salesforce``: a Python snippet whose ``requests`` session goes through the proxy and
  trusts the CA (in that session only);
- ``sfcrm``: an Airflow connection of this repository's provider, which takes the sandbox's URL
  and CA directly (``custom_domain``, ``ca_bundle``).

``auth`` picks the login flow of the first two: ``token`` (SOAP ``login()`` with the security
token), ``password`` (OAuth username-password) or ``client-credentials`` (OAuth client
credentials, on the org's My Domain). Every recipe is built from the sandbox's ``sandbox.json``
(written next to its ``ca.pem`` while it serves).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STATE_FILE = "sandbox.json"
CLIENTS = ("salesforce", "simple-salesforce", "sfcrm")
AUTH_FLOWS = ("token", "password", "client-credentials")
_NEVER_TRUST = "never add it to the system's trust store"


class RecipeError(Exception):
    """A recipe the running sandbox cannot serve (no proxy, unknown flow)."""


@dataclass(frozen=True)
class SandboxState:
    """What a client needs to know about a running sandbox (``<data-dir>/sandbox.json``)."""

    base_url: str
    ca_path: str
    proxy_url: str | None
    my_domain: str
    credentials: dict[str, str]
    pid: int = 0

    def write(self, data_dir: Path) -> Path:
        """Write ``sandbox.json`` readable by its owner only (it holds the org's credentials)."""
        path = data_dir / STATE_FILE
        temporary = path.with_suffix(".tmp")
        temporary.touch(mode=0o600)
        temporary.chmod(0o600)
        temporary.write_text(json.dumps(asdict(self), indent=2))
        temporary.replace(path)
        return path

    @classmethod
    def read(cls, data_dir: Path) -> SandboxState:
        return cls(**json.loads((data_dir / STATE_FILE).read_text()))


def _proxies(state: SandboxState) -> dict[str, str]:
    if not state.proxy_url:
        raise RecipeError(
            "this sandbox serves without its HTTPS proxy, which clients that build Salesforce's URLs "
            "themselves need: restart it with --proxy-port 0 (or a port of your choice)"
        )
    return {"https": state.proxy_url}


def salesforce_login(state: SandboxState, auth: str) -> dict[str, Any]:
    """The simple-salesforce ``Salesforce(...)`` arguments of login flow ``auth`` (without session)."""
    creds = state.credentials
    if auth == "token":
        return {
            "username": creds["username"],
            "password": creds["password"],
            "security_token": creds["security_token"],
            "domain": "login",
        }
    if auth == "password":
        # The OAuth flow does not append the token itself: the password carries it.
        return {
            "username": creds["username"],
            "password": creds["password"] + creds["security_token"],
            "consumer_key": creds["client_id"],
            "consumer_secret": creds["client_secret"],
            "domain": "login",
        }
    if auth == "client-credentials":
        # Runs on the org's My Domain only; simple-salesforce adds ".salesforce.com" to the domain.
        return {
            "consumer_key": creds["client_id"],
            "consumer_secret": creds["client_secret"],
            "domain": f"{state.my_domain}.my",
        }
    raise RecipeError(f"unknown login flow {auth!r}; choose one of {', '.join(AUTH_FLOWS)}")


# The simple-salesforce argument each ``salesforce`` connection field or extra feeds.
_CONNECTION_FIELDS = {"username": "login", "password": "password"}
_CONNECTION_EXTRAS = {
    "security_token": "security_token",
    "domain": "domain",
    "consumer_key": "consumer_key",
    "consumer_secret": "consumer_secret",
}


def salesforce_connection(state: SandboxState, auth: str = "token") -> dict[str, Any]:
    """An Airflow ``salesforce`` connection (``AIRFLOW_CONN_<ID>`` JSON) for login flow ``auth``."""
    login = salesforce_login(state, auth)
    connection: dict[str, Any] = {"conn_type": "salesforce"}
    extra: dict[str, Any] = {}
    for argument, value in login.items():
        if argument in _CONNECTION_FIELDS:
            connection[_CONNECTION_FIELDS[argument]] = value
        else:
            extra[_CONNECTION_EXTRAS[argument]] = value
    extra["proxies"] = _proxies(state)
    connection["extra"] = extra
    return connection


def sfcrm_connection(state: SandboxState, **extra_overrides: Any) -> dict[str, Any]:
    """An Airflow ``sfcrm`` connection: the sandbox's URL and CA, OAuth password grant."""
    creds = state.credentials
    extra = {
        "security_token": creds["security_token"],
        "custom_domain": state.base_url,
        "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "ca_bundle": state.ca_path,
    }
    extra.update(extra_overrides)
    return {"conn_type": "sfcrm", "login": creds["username"], "password": creds["password"], "extra": extra}


def simple_salesforce_snippet(state: SandboxState, auth: str = "token") -> str:
    """Python that logs an unmodified simple-salesforce into the sandbox with flow ``auth``."""
    arguments = "".join(f"    {name}={value!r},\n" for name, value in salesforce_login(state, auth).items())
    return (
        "import requests\n"
        "from simple_salesforce import Salesforce\n\n"
        "session = requests.Session()\n"
        f"session.proxies = {_proxies(state)!r}  # Salesforce's hosts -> the sandbox\n"
        f"session.verify = {state.ca_path!r}  # the sandbox's CA, for this session only: {_NEVER_TRUST}\n"
        "session.trust_env = False  # else REQUESTS_CA_BUNDLE / HTTPS_PROXY from the environment win\n"
        f"sf = Salesforce(\n{arguments}    session=session,\n)\n"
    )


def _exports(conn_id: str, connection: dict[str, Any], ca_path: str | None) -> str:
    lines = [f"export AIRFLOW_CONN_{conn_id.upper()}={shlex.quote(json.dumps(connection))}"]
    if ca_path:
        lines += [
            f"# The sandbox's CA, for the processes started from this shell only: {_NEVER_TRUST}.",
            f"export REQUESTS_CA_BUNDLE={shlex.quote(ca_path)}",
        ]
    return "\n".join(lines) + "\n"


def recipe(
    state: SandboxState, client: str, *, auth: str = "token", conn_id: str | None = None, output: str = "env"
) -> str:
    """The text ``sfcrm-sandbox connection --for <client>`` prints.

    :param output: ``env`` (shell ``export`` lines; a Python snippet for simple-salesforce) or
        ``json`` (the connection alone, for ``airflow connections add --conn-json``).
    """
    if client == "simple-salesforce":
        return simple_salesforce_snippet(state, auth)
    if client == "salesforce":
        connection, ca_path = salesforce_connection(state, auth), state.ca_path
        conn_id = conn_id or "salesforce_default"
    elif client == "sfcrm":
        connection, ca_path = sfcrm_connection(state), None
        conn_id = conn_id or "sfcrm_default"
    else:
        raise RecipeError(f"unknown client {client!r}; choose one of {', '.join(CLIENTS)}")
    if output == "json":
        return json.dumps(connection, indent=2) + "\n"
    return _exports(conn_id, connection, ca_path)
