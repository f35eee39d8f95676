"""Shared fixtures: an isolated Airflow home, and sandboxes that speak HTTPS like a Salesforce org."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

# Airflow reads its configuration when first imported: isolate it before any test imports it.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="sfcrm-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
# Unit-test mode draws a random Fernet key per process; pin one so that a connection stored by one
# `airflow` CLI process can be read by the next (a throw-away key for throw-away test databases).
os.environ.setdefault("AIRFLOW__CORE__FERNET_KEY", "uGFZ0W9S8D4nQKkqk5tX8mJ2pVYlq3f6c1R0bN7eA9s=")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(Path(__file__).resolve().parent.parent / "dags"))

import pytest  # noqa: E402
from sfcrm_sandbox.process import RunningSandbox  # noqa: E402

# The ``sandbox`` (one org for the session) and ``sandbox_factory`` (orgs with faults, latency,
# limits) fixtures: real sfcrm-sandbox processes on free ports.
pytest_plugins = ["sfcrm_sandbox.testing"]


def set_connection_env(
    monkeypatch: pytest.MonkeyPatch, conn_id: str, running: RunningSandbox, **extra
) -> None:
    """Point Airflow connection ``conn_id`` at ``running`` through ``AIRFLOW_CONN_<ID>``."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(running.connection_dict(**extra)))


@pytest.fixture(autouse=True)
def _empty_secrets_masker(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with an empty secrets masker, and what it registers goes with it.

    Airflow's masker compiles one regular expression of every secret registered so far, again at
    each new one. A task registers a handful; a whole test session would register every access token
    of hundreds of logins, until each registration takes seconds and a test that lets a one-second
    session expire between a login and its request fails for that reason alone.
    """
    from airflow.sdk._shared.secrets_masker import _secrets_masker

    masker = _secrets_masker()
    monkeypatch.setattr(masker, "patterns", set())
    monkeypatch.setattr(masker, "replacer", None)


# --- the sync state's SQL connection: SQLite, and PostgreSQL when it runs --------------------------

#: Where the PostgreSQL sync-state tests find a server (trust authentication, user ``postgres``).
POSTGRES = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
SYNC_STATE_CONN_ID = "sfcrm_sync_state"


class SyncStateDatabase:
    """A throw-away sync-state database and its Airflow connection (``AIRFLOW_CONN_SFCRM_SYNC_STATE``)."""

    def __init__(self, kind: str, location: str):
        self.kind, self.location, self.conn_id = kind, location, SYNC_STATE_CONN_ID

    def connection_json(self) -> str:
        if self.kind == "sqlite":
            return json.dumps({"conn_type": "sqlite", "host": self.location})
        return json.dumps(
            {
                "conn_type": "postgres",
                "host": POSTGRES["host"],
                "port": POSTGRES["port"],
                "login": POSTGRES["user"],
                "schema": self.location,
            }
        )

    def connect(self):
        """A DB-API connection of its own, to look at the tables."""
        if self.kind == "sqlite":
            import sqlite3

            return sqlite3.connect(self.location)
        import psycopg

        return psycopg.connect(dbname=self.location, **POSTGRES)

    def query(self, sql: str, *parameters) -> list[tuple]:
        """Rows of ``sql`` (``?`` placeholders, as in SQLite)."""
        connection = self.connect()
        try:
            cursor = connection.cursor()
            cursor.execute(sql if self.kind == "sqlite" else sql.replace("?", "%s"), parameters)
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            connection.close()


def postgres_or_skip():
    """An autocommit connection to the server's ``postgres`` database, or a loud skip."""
    try:
        import psycopg

        return psycopg.connect(dbname="postgres", autocommit=True, connect_timeout=3, **POSTGRES)
    except Exception as exc:  # not installed, not running, not trusting us
        pytest.skip(
            f"PostgreSQL is not reachable at {POSTGRES['host']}:{POSTGRES['port']} as user postgres "
            f"({exc.__class__.__name__}): start one with trust authentication (e.g. `docker run -p "
            "5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16`) to run the PostgreSQL "
            "sync-state tests"
        )


@pytest.fixture(params=["sqlite", "postgres"])
def sync_state_db(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A fresh sync-state database, SQLite then PostgreSQL, as the connection ``sfcrm_sync_state``."""
    if request.param == "sqlite":
        database = SyncStateDatabase("sqlite", str(tmp_path / "sync_state.sqlite"))
        monkeypatch.setenv(f"AIRFLOW_CONN_{SYNC_STATE_CONN_ID.upper()}", database.connection_json())
        yield database
        return
    import uuid

    server = postgres_or_skip()
    name = f"sfcrm_sync_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    server.execute(f"CREATE DATABASE {name}")
    database = SyncStateDatabase("postgres", name)
    monkeypatch.setenv(f"AIRFLOW_CONN_{SYNC_STATE_CONN_ID.upper()}", database.connection_json())
    try:
        yield database
    finally:
        server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        server.close()


@pytest.fixture
def sfcrm_conn(monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox) -> str:
    """An ``sfcrm_default`` connection pointing at the session sandbox; returns its id."""
    set_connection_env(monkeypatch, "sfcrm_default", sandbox)
    return "sfcrm_default"


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Create the isolated Airflow metadata database once (for ``dag.test()``, the CLI and the API)."""
    import subprocess
    import sys

    airflow = Path(sys.executable).with_name("airflow")
    subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True, text=True)
    return _AIRFLOW_HOME


# --- audience (Mapping ID) field helpers, used by the custom-field tests -------------------------

#: Tooling API ``Metadata`` per kind of field the custom-field tests create.
CUSTOM_FIELD_METADATA = {
    "long": {"type": "LongTextArea", "length": 32768, "visibleLines": 6},
    "long_min": {"type": "LongTextArea", "length": 256, "visibleLines": 2},
    "textarea": {"type": "TextArea"},
    "html": {"type": "Html", "length": 32768, "visibleLines": 10},
    "text": {"type": "Text", "length": 80},
    "email": {"type": "Email"},
}


def unique_mapping_id(prefix: str = "cf") -> str:
    """A Mapping ID no other test uses (custom fields outlive ``sandbox.reset()``)."""
    import uuid

    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def create_audience_field(
    hook, sobject: str, mapping_id: str, kind: str = "long", access: str | None = "edit"
) -> str:
    """Create ``<mapping_id>__c`` on ``sobject`` through the Tooling API and grant ``access``.

    ``access`` is ``"edit"``, ``"read"`` or None (no grant: the field stays hidden from the user).
    """
    field_name = f"{mapping_id}__c"
    hook.create_custom_field(sobject, field_name, {"label": mapping_id, **CUSTOM_FIELD_METADATA[kind]})
    if access:
        hook.grant_field_access(
            sobject, field_name, hook.get_user_permission_set_id(), read=True, edit=access == "edit"
        )
    return field_name
