"""``python -m airflow_provider_sfcrm.sandbox serve ...``."""

from airflow_provider_sfcrm.sandbox.cli import main

if __name__ == "__main__":
    main()
