"""The two services the deployment needs and does not start: PostgreSQL (metadata DB, and each
scenario's sync state) and Redis (broker).

The harness creates databases of its own on the PostgreSQL server and claims an empty Redis
database number; at the end it drops the databases and flushes the Redis one — nothing else on either server
is touched. When a service is unreachable it says exactly what to start.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

PG_HOST = os.environ.get("SFCRM_E2E_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("SFCRM_E2E_PG_PORT", "5432"))
PG_USER = os.environ.get("SFCRM_E2E_PG_USER", "postgres")
REDIS_HOST = os.environ.get("SFCRM_E2E_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("SFCRM_E2E_REDIS_PORT", "6379"))
# Redis database numbers the harness may claim (0 is left to whoever else uses the server).
REDIS_DB_CANDIDATES = range(15, 0, -1)
_CLAIM_KEY = "sfcrm-e2e:claimed-by"

HOW_TO_START = f"""\
make e2e needs PostgreSQL and Redis running (it creates its own database and uses one Redis db):
  PostgreSQL at {PG_HOST}:{PG_PORT}, user {PG_USER!r} allowed to CREATE DATABASE without a password
      (Debian: apt-get install postgresql && pg_ctlcluster 15 main start; set 'trust' for 127.0.0.1
       in pg_hba.conf, or point SFCRM_E2E_PG_HOST / _PORT / _USER at a server you have)
  Redis at {REDIS_HOST}:{REDIS_PORT}
      (Debian: apt-get install redis-server && redis-server --daemonize yes;
       or SFCRM_E2E_REDIS_HOST / _PORT)
"""


class ServiceUnavailable(RuntimeError):
    """PostgreSQL or Redis cannot be reached."""


def _pg_connect(dbname: str):
    import psycopg2

    return psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=dbname, connect_timeout=5)


@dataclass
class PostgresDatabase:
    """A PostgreSQL database created for one e2e run (or one scenario) and dropped after it."""

    name: str

    @property
    def sqlalchemy_url(self) -> str:
        return f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{self.name}"

    @property
    def celery_result_backend(self) -> str:
        return f"db+postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{self.name}"

    def airflow_connection(self) -> dict:
        """The database as an Airflow ``postgres`` connection (the fields of the REST API's body)."""
        return {
            "conn_type": "postgres",
            "host": PG_HOST,
            "port": PG_PORT,
            "login": PG_USER,
            "schema": self.name,
        }

    def query(self, statement: str, parameters: tuple = ()) -> list[tuple]:
        connection = _pg_connect(self.name)
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement, parameters)
                return cursor.fetchall()
        finally:
            connection.close()

    @classmethod
    def create(cls, prefix: str = "sfcrm_e2e") -> PostgresDatabase:
        try:
            admin = _pg_connect("postgres")
        except Exception as exc:  # psycopg2.OperationalError and import errors alike
            raise ServiceUnavailable(f"PostgreSQL: {exc}\n{HOW_TO_START}") from None
        name = f"{prefix}_{secrets.token_hex(4)}"
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        admin.close()
        return cls(name)

    def drop(self) -> None:
        admin = _pg_connect("postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            # Components are stopped by now (or the scenario is over); anything still connected is cut off.
            cursor.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        admin.close()

    @staticmethod
    def drop_prefixed(prefix: str) -> None:
        """Drop every database named ``<prefix>_…`` (a scenario's, should its own drop have been skipped)."""
        admin = _pg_connect("postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)", (f"{prefix}_",))
            for (name,) in cursor.fetchall():
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _claimed_by_a_dead_run(client) -> bool:
    """The db holds a claim of an e2e run whose process no longer exists (on this machine)."""
    claim = client.get(_CLAIM_KEY)
    if not claim:
        return False
    pid = int(claim.decode().split("-", 1)[0])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class BrokerDatabase:
    """One Redis database number, claimed while empty, flushed (only it) when released."""

    number: int

    @property
    def url(self) -> str:
        return f"redis://{REDIS_HOST}:{REDIS_PORT}/{self.number}"

    @classmethod
    def claim(cls) -> BrokerDatabase:
        import redis

        token = f"{os.getpid()}-{secrets.token_hex(4)}"
        for number in REDIS_DB_CANDIDATES:
            client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number, socket_timeout=5)
            try:
                if _claimed_by_a_dead_run(client):
                    client.flushdb()  # a killed run could not flush it: its claim is void
                if client.dbsize() == 0 and client.set(_CLAIM_KEY, token, nx=True):
                    # Another run may have claimed it between the two calls: only one key may be ours.
                    if client.dbsize() == 1 and client.get(_CLAIM_KEY) == token.encode():
                        return cls(number)
                    client.delete(_CLAIM_KEY)
            except redis.exceptions.ConnectionError as exc:
                raise ServiceUnavailable(f"Redis: {exc}\n{HOW_TO_START}") from None
            except redis.exceptions.ResponseError:
                break  # the server has fewer databases
            finally:
                client.close()
        raise ServiceUnavailable(f"Redis at {REDIS_HOST}:{REDIS_PORT} has no empty database to claim")

    def release(self) -> None:
        import redis

        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=self.number, socket_timeout=5)
        client.flushdb()
        client.close()
