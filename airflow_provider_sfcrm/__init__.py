"""Apache Airflow provider for activating audiences into Salesforce CRM."""

__version__ = "0.1.0"
