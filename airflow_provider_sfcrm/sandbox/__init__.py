"""``sfcrm-sandbox``: a local HTTPS server that behaves like a Salesforce org's REST API.

Start it with ``sfcrm-sandbox serve`` (or ``python -m airflow_provider_sfcrm.sandbox serve``);
from Python, :func:`airflow_provider_sfcrm.sandbox.process.start_sandbox`.
"""
