"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

The Airflow 3 UI builds the connection form from ``conn-fields`` (stored in the connection's
``extra`` under these names) and ``ui-field-behaviour``; hook classmethods are no longer read.
"""

from __future__ import annotations

from airflow_provider_sfcrm import __version__


def _text(label: str, description: str, *, secret: bool = False, **schema: object) -> dict:
    field_schema: dict[str, object] = {"type": ["string", "null"], **schema}
    if secret:
        field_schema["format"] = "password"
    return {"label": label, "description": description, "schema": field_schema}


SFCRM_CONN_FIELDS: dict[str, dict] = {
    "security_token": _text(
        "Security Token",
        "Optional; appended to the password when set, e.g. 'aBcD1234efGH5678'.",
        secret=True,
    ),
    "custom_domain": _text(
        "Custom Domain",
        "My Domain prefix, 'login', 'test' or an https:// base URL, e.g. 'acme', 'acme--uat.sandbox' "
        "or 'https://127.0.0.1:8443'.",
        default="login",
    ),
    "client_id": _text("Client ID", "Consumer key of the connected app, e.g. '3MVG9...'."),
    "client_secret": _text(
        "Client Secret", "Consumer secret of the connected app, e.g. '8F2C...'.", secret=True
    ),
    # No default stored: the hook's own default applies when the field is left empty, and Airflow's
    # secrets masker (which receives every extra value) would warn in every task log about a stored
    # 4-character value being too short to mask.
    "api_version": _text(
        "API Version",
        "Salesforce REST API version without 'v', e.g. '62.0'; leave empty for the default (62.0).",
    ),
    "ca_bundle": _text(
        "CA Bundle",
        "Optional path of a PEM file of CAs to trust (proxy, sandbox), e.g. '/etc/ssl/corp-ca.pem'.",
    ),
    "auth_type": _text(
        "Auth Type",
        "'password' (OAuth username-password grant), 'client_credentials' (needs a My Domain) or 'jwt' "
        "(JWT bearer: Client ID, Username and a Private Key), e.g. 'password'.",
        default="password",
        enum=["password", "client_credentials", "jwt"],
    ),
    "private_key": _text(
        "Private Key",
        "For auth_type 'jwt': the PEM RSA private key whose certificate the connected app holds, "
        "e.g. '-----BEGIN PRIVATE KEY-----MIIEv...'. Or set Private Key Path.",
        secret=True,
    ),
    "private_key_path": _text(
        "Private Key Path",
        "For auth_type 'jwt': path of that PEM key on the workers, e.g. '/run/secrets/sfcrm-jwt.key'.",
    ),
}

SFCRM_UI_FIELD_BEHAVIOUR: dict = {
    "hidden-fields": ["host", "schema", "port"],
    "relabeling": {"login": "Username"},
    "placeholders": {
        "login": "integration.user@acme.com",
        "password": "password (security token appended, or set Security Token)",
        "security_token": "aBcD1234efGH5678",
        "custom_domain": "acme",
        "client_id": "3MVG9...",
        "client_secret": "connected app consumer secret",
        "api_version": "62.0",
        "ca_bundle": "/etc/ssl/certs/corp-ca.pem",
        "auth_type": "password",
        "private_key": "-----BEGIN PRIVATE KEY----- ... (jwt only)",
        "private_key_path": "/run/secrets/sfcrm-jwt.key",
    },
}

# Airflow's configuration section ``[sfcrm]`` (``AIRFLOW__SFCRM__<OPTION>``; ``airflow config list``).
SFCRM_CONFIG: dict = {
    "sfcrm": {
        "description": "Settings of the Salesforce CRM provider (airflow-provider-sfcrm).\n",
        "options": {
            "bulk_spool_path": {
                "description": (
                    "Where SalesforceSegmentExportOperator keeps a copy of a Bulk API 2.0 export's spool "
                    "(the CSV job data and its jobs' ids) while the task waits for its jobs: a location "
                    "every worker reaches, so that the task can resume, or be retried, on another worker "
                    "(Celery on several machines, Kubernetes). An object-store URL (s3://, gs://, ...; "
                    "credentials through Airflow's object storage connections), file:///... or an absolute "
                    "path on a shared mount; the task's <dag>/<run>/<task> directories are appended, and the "
                    "copy is removed when the task concludes. The operator's bulk_spool_path argument, when "
                    "given, takes precedence. Not set: the spool stays on the worker that made it.\n"
                ),
                "version_added": None,
                "type": "string",
                "example": "s3://aws_default@my-bucket/sfcrm-bulk-spool",
                "default": None,
            }
        },
    }
}


def get_provider_info() -> dict:
    return {
        "package-name": "airflow-provider-sfcrm",
        "name": "Salesforce CRM",
        "description": (
            "Activate customer audiences (segments) into Salesforce CRM Leads and Contacts; write any object."
        ),
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": "sfcrm",
                "hook-class-name": "airflow_provider_sfcrm.hooks.salesforce_crm.SalesforceCrmHook",
                "hook-name": "Salesforce CRM",
                "conn-fields": SFCRM_CONN_FIELDS,
                "ui-field-behaviour": SFCRM_UI_FIELD_BEHAVIOUR,
            }
        ],
        "config": SFCRM_CONFIG,
    }
