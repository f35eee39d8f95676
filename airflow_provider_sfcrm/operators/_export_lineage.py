"""OpenLineage facets of an export (the segment it read, the Salesforce object and fields it wrote) and
of an extract (the Salesforce object and fields it read, the file set it wrote).

The OpenLineage provider is optional (``pip install "airflow-provider-sfcrm[openlineage]"``):
without it :func:`operator_lineage` returns None and nothing else changes.

Datasets follow OpenLineage's naming: a local file is namespace ``file``, name its absolute
path; ``s3://bucket/key`` is namespace ``s3://bucket``, name ``key`` (likewise for every URL
scheme); the Salesforce object is namespace ``salesforce://<instance host>``, name the object
(``salesforce://acme.my.salesforce.com/Contact``), with a schema facet listing its fields: the
export's output and the extract's input are the same dataset, so lineage joins them up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def dataset_of_path(path: str) -> tuple[str, str]:
    """``(namespace, name)`` of a local path or URL."""
    if "://" in path and not path.startswith("file://"):
        parts = urlsplit(path)
        return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/")
    local = path[len("file://") :] if path.startswith("file://") else path
    return "file", str(Path(local).expanduser().resolve())


def salesforce_dataset(instance_url: str, sobject: str) -> tuple[str, str]:
    """``(namespace, name)`` of a Salesforce object: ``("salesforce://<instance host>", <object>)``."""
    return f"salesforce://{urlsplit(instance_url).netloc}", sobject


@dataclass(frozen=True)
class Dataset:
    """One dataset of a task's lineage.

    :param fields: ``(name, type, description)`` for a schema facet; none: no facet.
    :param rows: rows written, for an output statistics facet; None: no facet.
    """

    namespace: str
    name: str
    fields: Sequence[tuple[str, str, str]] = ()
    rows: int | None = None


def operator_lineage(inputs: Sequence[Dataset], outputs: Sequence[Dataset]) -> Any:
    """An ``OperatorLineage`` of ``inputs`` and ``outputs``, or None without the OpenLineage provider."""
    try:
        from airflow.providers.common.compat.openlineage.facet import (
            InputDataset,
            OutputDataset,
            OutputStatisticsOutputDatasetFacet,
            SchemaDatasetFacet,
            SchemaDatasetFacetFields,
        )
        from airflow.providers.openlineage.extractors import OperatorLineage
    except ImportError:
        return None

    def facets(dataset: Dataset) -> dict[str, Any]:
        if not dataset.fields:
            return {}
        schema = [SchemaDatasetFacetFields(name=n, type=t, description=d) for n, t, d in dataset.fields]
        return {"schema": SchemaDatasetFacet(fields=schema)}

    return OperatorLineage(
        inputs=[InputDataset(namespace=d.namespace, name=d.name, facets=facets(d)) for d in inputs],
        outputs=[
            OutputDataset(
                namespace=d.namespace,
                name=d.name,
                facets=facets(d),
                outputFacets=(
                    {}
                    if d.rows is None
                    else {"outputStatistics": OutputStatisticsOutputDatasetFacet(rowCount=d.rows)}
                ),
            )
            for d in outputs
        ],
    )


@dataclass(frozen=True)
class ExportLineage:
    """What an export read and wrote, gathered while it ran.

    :param inputs: ``(namespace, name)`` of each input dataset.
    :param instance_url: the org's instance URL (its host names the output's namespace).
    :param sobject: the object written.
    :param fields: ``(API name, describe type, label)`` of every field written, identity first.
    :param written: rows written (the output's row count).
    """

    inputs: Sequence[tuple[str, str]]
    instance_url: str
    sobject: str
    fields: Sequence[tuple[str, str, str]] = field(default_factory=list)
    written: int = 0

    @property
    def output(self) -> tuple[str, str]:
        return salesforce_dataset(self.instance_url, self.sobject)

    def operator_lineage(self) -> Any:
        """An ``OperatorLineage``, or None when the OpenLineage provider is not installed."""
        output = Dataset(*self.output, fields=self.fields, rows=self.written)
        return operator_lineage([Dataset(ns, name) for ns, name in self.inputs], [output])


def fields_written(names: Sequence[str], describe: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(name, type, label)`` of ``names`` as the describe has them (unique, in order)."""
    by_name = {str(f.get("name", "")).lower(): f for f in describe.get("fields") or ()}
    found: list[tuple[str, str, str]] = []
    for name in dict.fromkeys(names):
        described = by_name.get(name.lower()) or {}
        found.append((name, str(described.get("type") or ""), str(described.get("label") or name)))
    return found


def export_lineage(
    segment_path: str | None,
    instance_url: str,
    mapping: Any,
    describe: Mapping[str, Any],
    written: int,
) -> ExportLineage:
    """The lineage of one export of ``mapping`` (an ``ExportMapping``); a SQL segment has no input here.

    A parent set by its external id (``Account.Ext_Id__c``) is reported as the lookup it sets
    (``AccountId``).
    """
    from airflow_provider_sfcrm.activation.references import reference_lookups

    lookups = reference_lookups(mapping, describe)
    attributes = [lookups.get(column, name) for column, name in mapping.attributes.items()]
    names = [mapping.identity_field or "", *attributes, *mapping.audiences.values()]
    return ExportLineage(
        inputs=[dataset_of_path(str(segment_path))] if segment_path is not None else [],
        instance_url=instance_url,
        sobject=mapping.sobject,
        fields=fields_written([name for name in names if name], describe),
        written=written,
    )
