"""example_sfcrm_setup_fields creates usable Text Area (Long) Mapping ID fields on Contact and Lead."""

from __future__ import annotations

import pytest

from airflow_provider_sfcrm.activation.field_check import check_audience_fields

pytestmark = pytest.mark.integration

MAPPING_IDS = ["crm_1_seg", "crm_2_seg", "crm_3_seg"]


@pytest.mark.parametrize("sobject", ["Contact", "Lead"])
def test_fields_are_created_usable(audience_fields, example_org, sobject: str):
    assert audience_fields["state"] == "success"
    describe = example_org.hook.describe_object(sobject, refresh=True)
    verdicts = check_audience_fields(describe, MAPPING_IDS)
    assert {m: v.status.value for m, v in verdicts.items()} == dict.fromkeys(MAPPING_IDS, "ok")
    fields = {f["name"]: f for f in describe["fields"]}
    for mapping_id in MAPPING_IDS:
        field = fields[f"{mapping_id}__c"]
        assert (field["type"], field["length"], field["updateable"]) == ("textarea", 32768, True)


def test_running_it_again_changes_nothing(audience_fields, example_org):
    before = {s: example_org.hook.describe_object(s, refresh=True)["fields"] for s in ("Contact", "Lead")}
    run = example_org.run("example_sfcrm_setup_fields", audience_fields["logical_date"])
    assert run["state"] == "success"
    after = {s: example_org.hook.describe_object(s, refresh=True)["fields"] for s in ("Contact", "Lead")}
    assert after == before
