"""The sync state: what was confirmed written to Salesforce, per org, object and person.

With it, an export sends only what changed since the last confirmed write, derives audience
statuses (``realized`` / ``existing`` / ``exited``) from current memberships, refuses to let older
data overwrite newer (backfills), and never creates a person twice (crash-safe inserts).

* :mod:`.sharding` — the stable hash of an identity that splits a segment into shards;
* :mod:`.store` — the state tables in an SQL database (SQLite or PostgreSQL), created and migrated
  by version;
* :mod:`.plan` — the diff of a segment against the state, in DuckDB;
* :mod:`.records` — what is sent: only what changed, the derived statuses, the exits;
* :mod:`.inserts` — insert groups recorded before they are sent, and reconciled after a crash;
* :mod:`.export` — the export pipeline that sends the plan and records what Salesforce confirmed.

Pure: no Airflow, no HTTP (the database connection and the writer are handed in).
"""
