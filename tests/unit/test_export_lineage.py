"""OpenLineage facets of the export, with and without the (optional) OpenLineage provider."""

from __future__ import annotations

import sys

import pytest

from airflow_provider_sfcrm.operators._export_lineage import ExportLineage, dataset_of_path, fields_written
from tests.unit._export_describe import contact_with_account, describe


@pytest.mark.parametrize(
    ("path", "dataset"),
    [
        ("s3://bucket/segments/day=1/part-0.parquet", ("s3://bucket", "segments/day=1/part-0.parquet")),
        ("gs://b/x/", ("gs://b", "x/")),
        ("file:///data/seg.parquet", ("file", "/data/seg.parquet")),
        ("/data/../data/seg.csv", ("file", "/data/seg.csv")),
    ],
)
def test_datasets_are_named_as_openlineage_names_them(path, dataset):
    assert dataset_of_path(path) == dataset


def _lineage() -> ExportLineage:
    return ExportLineage(
        inputs=[("s3://bucket", "seg.parquet")],
        instance_url="https://acme.my.salesforce.com",
        sobject="Contact",
        fields=fields_written(["Id", "LastName", "crm_1_seg__c", "LastName"], describe()),
        written=42,
    )


def test_the_output_is_the_object_in_its_org_with_the_fields_written():
    lineage = _lineage().operator_lineage()
    [output] = lineage.outputs
    assert (output.namespace, output.name) == ("salesforce://acme.my.salesforce.com", "Contact")
    fields = [(f.name, f.type, f.description) for f in output.facets["schema"].fields]
    assert fields == [
        ("Id", "id", "Contact ID"),
        ("LastName", "string", "Last Name"),
        ("crm_1_seg__c", "textarea", "crm_1_seg__c"),
    ]
    assert output.outputFacets["outputStatistics"].rowCount == 42
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("s3://bucket", "seg.parquet")]


def test_a_parent_set_by_its_external_id_is_reported_as_its_lookup():
    from airflow_provider_sfcrm.activation.mapping import build_mapping
    from airflow_provider_sfcrm.operators._export_lineage import export_lineage

    contact = contact_with_account()
    mapping = build_mapping(
        sobject="Contact",
        operation="insert",
        field_mapping={"last": "LastName", "account": "Account.Ext_Id__c"},
    )
    lineage = export_lineage("/data/seg.parquet", "https://acme.my.salesforce.com", mapping, contact, 3)
    assert lineage.fields == [("LastName", "string", "Last Name"), ("AccountId", "reference", "Account ID")]


def test_without_the_openlineage_provider_there_is_simply_no_lineage(monkeypatch):
    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage.extractors", None)
    assert _lineage().operator_lineage() is None
