"""Where the examples keep their files by default: plain text, imported while DAG files are parsed."""

import os

_HOME = os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow"))

#: Where ``example_sfcrm_extract_contacts_leads`` writes its file sets unless the Variable
#: ``sfcrm_lake`` says otherwise (``example_sfcrm_activate_contacts_by_email`` reads them there).
DEFAULT_LAKE = os.path.join(_HOME, "sfcrm", "lake")
