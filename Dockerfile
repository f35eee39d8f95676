# The official Airflow image plus this provider and sfcrm-sandbox (the local Salesforce org the compose
# file's salesforce-sandbox service runs; a separate distribution the provider does not depend on).
# Built by docker-compose.yaml; usable on its own for any Airflow 3 deployment.
FROM apache/airflow:3.3.2

USER root
# Data directories shared through compose volumes: the sandbox's org and CA, the profile store and
# the example DAGs' Parquet files. Group 0 writable, as the official image does for AIRFLOW_UID.
RUN mkdir -p /data /opt/sfcrm-sandbox /opt/airflow/data \
 && chown -R airflow:0 /data /opt/sfcrm-sandbox /opt/airflow/data \
 && chmod -R g+rwX /data /opt/sfcrm-sandbox /opt/airflow/data
USER airflow

COPY --chown=airflow:0 pyproject.toml README.md /opt/sfcrm/src/
COPY --chown=airflow:0 airflow_provider_sfcrm /opt/sfcrm/src/airflow_provider_sfcrm
COPY --chown=airflow:0 sfcrm-sandbox /opt/sfcrm/src/sfcrm-sandbox
# Pin Airflow to the image's version so pip never upgrades or downgrades it; the `examples` extra
# (the SQLite provider) backs the example DAGs' profile store, the `postgres` one their sync state.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" \
      "/opt/sfcrm/src[examples,postgres]" /opt/sfcrm/src/sfcrm-sandbox
