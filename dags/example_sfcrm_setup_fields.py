"""Create the audiences' Mapping ID fields on Contact and Lead, then check them — run once, by hand.

Every activated audience needs a custom **Text Area (Long)** field whose name is its Mapping ID
(``crm_1_seg`` → ``crm_1_seg__c``), editable by the connection's user. With ``create_missing=True``
the validation operator creates the missing ones through the Tooling API and grants read/edit to
the user's permission set; it never changes a field that exists. A field of the wrong type or
length, or a read-only one, fails the task with one line per field saying how to fix it.

Prerequisites:

- Connection ``sfcrm_default`` (type *Salesforce CRM*) whose user may create fields and grant
  field permissions ("Customize Application" and "Manage Profiles and Permission Sets"). Without
  those, drop ``create_missing=True``: the task then only reports what an admin must create.

No schedule: trigger it from the UI (or ``airflow dags test example_sfcrm_setup_fields``) after
adding an audience to ``MAPPING_IDS``.
"""

from __future__ import annotations

from datetime import datetime, timezone

from airflow.sdk import dag

from airflow_provider_sfcrm.operators.custom_fields import SalesforceCustomFieldValidationOperator

SFCRM_CONN_ID = "sfcrm_default"

# The Mapping IDs of the audiences the activation DAGs use (at most 25 per object).
MAPPING_IDS = ["crm_1_seg", "crm_2_seg", "crm_3_seg"]


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    doc_md=__doc__,
    tags=["sfcrm", "example"],
)
def example_sfcrm_setup_fields():
    for sobject in ("Contact", "Lead"):
        SalesforceCustomFieldValidationOperator(
            task_id=f"setup_{sobject.lower()}_fields",
            sfcrm_conn_id=SFCRM_CONN_ID,
            sobject=sobject,
            mapping_ids=MAPPING_IDS,
            create_missing=True,
            field_length=32768,
            visible_lines=6,
        )


example_sfcrm_setup_fields()
