"""The CRM objects a Salesforce source extracts: written, described, queried through their relationships."""

from __future__ import annotations

import pytest

from tests.integration._clients import api, authed, first_error, unique


@pytest.fixture(scope="module")
def org(sf):
    """An account with a contact, a lead, a campaign with both as members, an opportunity with a role."""
    account = sf.Account.create({"Name": unique("Acme"), "Industry": "Banking", "BillingCity": "Paris"})["id"]
    contact = sf.Contact.create(
        {"LastName": unique("Last"), "AccountId": account, "MailingCity": "Lyon", "MailingLatitude": 45.75}
    )["id"]
    lead = sf.Lead.create({"LastName": unique("Last"), "Company": "Lead Co"})["id"]
    campaign = sf.Campaign.create({"Name": unique("Spring")})["id"]
    opportunity = sf.Opportunity.create(
        {
            "Name": unique("Deal"),
            "StageName": "Closed Won",
            "CloseDate": "2024-05-20",
            "Amount": 1200.5,
            "AccountId": account,
            "CampaignId": campaign,
        }
    )["id"]
    return {
        "account": account,
        "contact": contact,
        "lead": lead,
        "campaign": campaign,
        "opportunity": opportunity,
        "role": sf.OpportunityContactRole.create(
            {"OpportunityId": opportunity, "ContactId": contact, "Role": "Decision Maker", "IsPrimary": True}
        )["id"],
        "contact_member": sf.CampaignMember.create({"CampaignId": campaign, "ContactId": contact})["id"],
        "lead_member": sf.CampaignMember.create({"CampaignId": campaign, "LeadId": lead})["id"],
        "relation": sf.AccountContactRelation.create(
            {"AccountId": account, "ContactId": contact, "Roles": "Decision Maker;Influencer"}
        )["id"],
    }


@pytest.mark.parametrize(
    ("sobject", "key", "prefix"),
    [
        ("Account", "account", "001"),
        ("Contact", "contact", "003"),
        ("Lead", "lead", "00Q"),
        ("Campaign", "campaign", "701"),
        ("Opportunity", "opportunity", "006"),
        ("OpportunityContactRole", "role", "00K"),
        ("CampaignMember", "contact_member", "00v"),
        ("AccountContactRelation", "relation", "07k"),
    ],
)
def test_each_object_is_written_and_read_back(sf, org, sobject, key, prefix):
    assert org[key].startswith(prefix)
    rows = sf.query(f"SELECT Id, IsDeleted, SystemModstamp FROM {sobject} WHERE Id = '{org[key]}'")["records"]
    assert rows[0]["IsDeleted"] is False and rows[0]["SystemModstamp"]


def test_the_org_derives_fields_from_what_was_written(sf, org):
    deal = sf.Opportunity.get(org["opportunity"])
    assert (deal["IsClosed"], deal["IsWon"], deal["Probability"], deal["ExpectedRevenue"]) == (
        True,
        True,
        100,
        1200.5,
    )
    assert (deal["ForecastCategory"], deal["FiscalYear"], deal["FiscalQuarter"]) == ("Closed", 2024, 2)
    members = sf.query(
        "SELECT Type, LeadOrContactId FROM CampaignMember "
        f"WHERE CampaignId = '{org['campaign']}' ORDER BY Type"
    )["records"]
    assert [(m["Type"], m["LeadOrContactId"]) for m in members] == [
        ("Contact", org["contact"]),
        ("Lead", org["lead"]),
    ]
    relation = sf.AccountContactRelation.get(org["relation"])
    assert (relation["IsActive"], relation["IsDirect"], relation["Roles"]) == (
        True,
        False,
        "Decision Maker;Influencer",
    )


def test_one_relationship_per_account_and_contact(sf, org):
    result = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "records": [
                {
                    "attributes": {"type": "AccountContactRelation"},
                    "AccountId": org["account"],
                    "ContactId": org["contact"],
                }
            ]
        },
    )
    assert first_error(result[0])[0] == "DUPLICATE_VALUE"


def test_parent_paths_come_back_nested_with_their_attributes(sf, org):
    records = sf.query(
        "SELECT Id, Opportunity.Name, Opportunity.Account.Owner.Username, Contact.Email "
        f"FROM OpportunityContactRole WHERE Opportunity.Account.Industry = 'Banking' AND Id = '{org['role']}'"
    )["records"]
    assert len(records) == 1
    opportunity = records[0]["Opportunity"]
    base = "/services/data/v62.0/sobjects"
    assert opportunity["attributes"] == {
        "type": "Opportunity",
        "url": f"{base}/Opportunity/{org['opportunity']}",
    }
    assert opportunity["Name"].startswith("Deal")
    owner = opportunity["Account"]["Owner"]
    assert (
        owner["attributes"]["type"] == "User"
        and owner["Username"]
        == sf.query("SELECT Username FROM User WHERE Username LIKE 'integration%'")["records"][0]["Username"]
    )
    assert set(records[0]["Contact"]) == {"attributes", "Email"}  # only what was selected comes back


def test_a_missing_parent_reads_as_null_and_a_bad_path_is_refused(sandbox, sf, org):
    record = sf.query(f"SELECT Account.Name FROM Contact WHERE Id = '{org['contact']}'")["records"][0]
    assert record["Account"]["Name"].startswith("Acme")
    orphan = sf.Contact.create({"LastName": unique()})["id"]
    assert (
        sf.query(f"SELECT Account.Name FROM Contact WHERE Id = '{orphan}'")["records"][0]["Account"] is None
    )
    response = authed(sandbox).get(api(sandbox, "/query"), params={"q": "SELECT Acount.Name FROM Contact"})
    assert response.status_code == 400 and response.json()[0]["errorCode"] == "INVALID_FIELD"


def test_compound_address_is_selected_as_one_object(sf, org):
    record = sf.query(f"SELECT MailingAddress FROM Contact WHERE Id = '{org['contact']}'")["records"][0]
    assert record["MailingAddress"]["city"] == "Lyon" and record["MailingAddress"]["latitude"] == 45.75


def test_describe_reports_relationships_both_ways(sf):
    account = sf.Account.describe()
    children = {(r["childSObject"], r["field"]): r["relationshipName"] for r in account["childRelationships"]}
    assert children[("Contact", "AccountId")] == "Contacts"
    assert children[("AccountContactRelation", "AccountId")] == "AccountContactRelations"
    fields = {f["name"]: f for f in sf.OpportunityContactRole.describe()["fields"]}
    assert (fields["OpportunityId"]["referenceTo"], fields["OpportunityId"]["relationshipName"]) == (
        ["Opportunity"],
        "Opportunity",
    )
    assert fields["OpportunityId"]["updateable"] is False
