"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from airflow_provider_sfcrm import __version__


def get_provider_info() -> dict:
    return {
        "package-name": "airflow-provider-sfcrm",
        "name": "Salesforce CRM",
        "description": "Activate customer audiences (segments) into Salesforce CRM Leads and Contacts.",
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": "sfcrm",
                "hook-class-name": "airflow_provider_sfcrm.hooks.salesforce_crm.SalesforceCrmHook",
                "hook-name": "Salesforce CRM",
            }
        ],
    }
