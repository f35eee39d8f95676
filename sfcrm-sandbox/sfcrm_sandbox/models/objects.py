"""The standard objects of the sandbox org: their fields, types, lengths, required-ness and relationships.

They follow the real standard objects (Salesforce's Object Reference and captured describe
results): the CRM objects a Salesforce source extracts (Account, Contact, Lead, Opportunity,
OpportunityContactRole, Campaign, CampaignMember, AccountContactRelation) with their standard fields,
lookups and the relationship names SOQL reaches them by, and the setup objects the product touches
(``docs/salesforce-facts.md``, "Objects"). Fields an org gets from features it may not have (Data.com,
person accounts, territories, ...) are left out.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sfcrm_sandbox.models.fields import FieldSpec, ObjectSpec

# --- field builders: keep the object tables below readable ------------------------------------


def _text(name: str, label: str, length: int, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "string", label, length, **kw)


def _area(name: str, label: str, length: int = 255) -> FieldSpec:
    # Text Area (255) stays filterable; Text Area (Long) is not (docs/salesforce-facts.md, "Describe").
    return FieldSpec(
        name, "textarea", label, length, extra_type_info="plaintextarea", filterable=length <= 255
    )


def _pick(name: str, label: str, values: tuple[str, ...], **kw: Any) -> FieldSpec:
    return FieldSpec(name, "picklist", label, 255 if kw.pop("wide", True) else 40, picklist=values, **kw)


def _bool(name: str, label: str, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "boolean", label, nillable=False, defaulted_on_create=True, default=False, **kw)


def _ref(name: str, label: str, *targets: str, children: str | None = None, **kw: Any) -> FieldSpec:
    """A lookup; ``children`` is the relationship name of these records on the parent (``Contacts``)."""
    return FieldSpec(name, "reference", label, 18, reference_to=targets, child_relationship=children, **kw)


def _number(name: str, label: str, kind: str, precision: int, scale: int = 0, **kw: Any) -> FieldSpec:
    return FieldSpec(name, kind, label, precision=precision, scale=scale, **kw)


def _ro(spec: FieldSpec) -> FieldSpec:
    return replace(spec, createable=False, updateable=False)


def _system_fields(*, owner: bool = True, deleted: bool = True) -> tuple[FieldSpec, ...]:
    specs: list[FieldSpec] = []
    if deleted:
        specs.append(_ro(_bool("IsDeleted", "Deleted")))
    if owner:
        specs.append(_ref("OwnerId", "Owner ID", "User", nillable=False, defaulted_on_create=True))
    specs += [
        _ro(FieldSpec("CreatedDate", "datetime", "Created Date", nillable=False, defaulted_on_create=True)),
        _ro(_ref("CreatedById", "Created By ID", "User", nillable=False, defaulted_on_create=True)),
        _ro(
            FieldSpec(
                "LastModifiedDate", "datetime", "Last Modified Date", nillable=False, defaulted_on_create=True
            )
        ),
        _ro(
            _ref("LastModifiedById", "Last Modified By ID", "User", nillable=False, defaulted_on_create=True)
        ),
        _ro(
            FieldSpec(
                "SystemModstamp", "datetime", "System Modstamp", nillable=False, defaulted_on_create=True
            )
        ),
    ]
    return tuple(specs)


def _id(label: str) -> FieldSpec:
    return _ro(FieldSpec("Id", "id", label, 18, nillable=False, defaulted_on_create=True, id_lookup=True))


def custom_object_fields(name_field: FieldSpec) -> tuple[FieldSpec, ...]:
    """The standard fields every custom object has: Id, owner, its name field, deletion, audit."""
    deleted, owner, *audit = _system_fields()
    return (_id("Record ID"), owner, name_field, deleted, *audit)


_SALUTATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx.")
_LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
# The values a new org ships (Setup's default value set of Industry, shared by Account and Lead).
_INDUSTRIES = (
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
)
_RATINGS = ("Hot", "Warm", "Cold")
_LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
_GEOCODE_ACCURACIES = (
    "Address",
    "NearAddress",
    "Block",
    "Street",
    "ExtendedZip",
    "Zip",
    "Neighborhood",
    "City",
    "County",
    "State",
    "Unknown",
)
# The parts of a person's name: components of the compound Name field.
_PERSON_NAME = {"extra_type_info": "personname", "compound_field_name": "Name"}


def _name_parts() -> tuple[FieldSpec, ...]:
    return (
        _text("LastName", "Last Name", 80, nillable=False, **_PERSON_NAME),
        _text("FirstName", "First Name", 40, **_PERSON_NAME),
        _pick("Salutation", "Salutation", _SALUTATIONS, compound_field_name="Name"),
        _text("MiddleName", "Middle Name", 40, **_PERSON_NAME),
        _text("Suffix", "Suffix", 40, **_PERSON_NAME),
        _ro(_text("Name", "Full Name", 121, nillable=False, name_field=True, extra_type_info="personname")),
    )


def _address(prefix: str, label: str) -> tuple[FieldSpec, ...]:
    """An address: its components, then the compound ``<prefix>Address`` field that combines them."""
    compound = f"{prefix}Address"
    part = {"compound_field_name": compound}
    label_prefix = f"{label} " if label else ""
    return (
        replace(_area(f"{prefix}Street", f"{label_prefix}Street"), **part),
        _text(f"{prefix}City", f"{label_prefix}City", 40, **part),
        _text(f"{prefix}State", f"{label_prefix}State/Province", 80, **part),
        _text(f"{prefix}PostalCode", f"{label_prefix}Zip/Postal Code", 20, **part),
        _text(f"{prefix}Country", f"{label_prefix}Country", 80, **part),
        _number(f"{prefix}Latitude", f"{label_prefix}Latitude", "double", 18, 15, **part),
        _number(f"{prefix}Longitude", f"{label_prefix}Longitude", "double", 18, 15, **part),
        _pick(
            f"{prefix}GeocodeAccuracy",
            f"{label_prefix}Geocode Accuracy",
            _GEOCODE_ACCURACIES,
            wide=False,
            **part,
        ),
        _ro(FieldSpec(compound, "address", f"{label_prefix}Address", filterable=False)),
    )


CONTACT = ObjectSpec(
    "Contact",
    "Contact",
    "Contacts",
    (
        _id("Contact ID"),
        _ref("MasterRecordId", "Master Record ID", "Contact", createable=False, updateable=False),
        _ref("AccountId", "Account ID", "Account", children="Contacts"),
        *_name_parts(),
        *_address("Other", "Other"),
        *_address("Mailing", "Mailing"),
        FieldSpec("Phone", "phone", "Business Phone", 40),
        FieldSpec("Fax", "phone", "Business Fax", 40),
        FieldSpec("MobilePhone", "phone", "Mobile Phone", 40),
        FieldSpec("HomePhone", "phone", "Home Phone", 40),
        FieldSpec("OtherPhone", "phone", "Other Phone", 40),
        _ref("ReportsToId", "Reports To ID", "Contact"),
        FieldSpec("Email", "email", "Email", 80, id_lookup=True),
        _text("Title", "Title", 128),
        _text("Department", "Department", 80),
        _pick("LeadSource", "Lead Source", _LEAD_SOURCES),
        FieldSpec("Birthdate", "date", "Birthdate"),
        _area("Description", "Contact Description", 32000),
        _bool("HasOptedOutOfEmail", "Email Opt Out"),
        _bool("HasOptedOutOfFax", "Fax Opt Out"),
        _bool("DoNotCall", "Do Not Call"),
        _ro(FieldSpec("LastActivityDate", "date", "Last Activity")),
        _text("EmailBouncedReason", "Email Bounced Reason", 255),
        FieldSpec("EmailBouncedDate", "datetime", "Email Bounced Date"),
        *_system_fields(),
    ),
)

LEAD = ObjectSpec(
    "Lead",
    "Lead",
    "Leads",
    (
        _id("Lead ID"),
        _ref("MasterRecordId", "Master Record ID", "Lead", createable=False, updateable=False),
        *_name_parts(),
        _text("Title", "Title", 128),
        _text("Company", "Company", 255, nillable=False),
        *_address("", ""),
        FieldSpec("Phone", "phone", "Phone", 40),
        FieldSpec("MobilePhone", "phone", "Mobile Phone", 40),
        FieldSpec("Fax", "phone", "Fax", 40),
        FieldSpec("Email", "email", "Email", 80, id_lookup=True),
        FieldSpec("Website", "url", "Website", 255),
        _area("Description", "Description", 32000),
        _pick("LeadSource", "Lead Source", _LEAD_SOURCES),
        # Status is required but defaulted by the org (the picklist's default value).
        _pick(
            "Status",
            "Status",
            _LEAD_STATUSES,
            nillable=False,
            defaulted_on_create=True,
            default=_LEAD_STATUSES[0],
        ),
        _pick("Industry", "Industry", _INDUSTRIES),
        _pick("Rating", "Rating", _RATINGS),
        FieldSpec("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
        FieldSpec("NumberOfEmployees", "int", "Employees", digits=8),
        _bool("HasOptedOutOfEmail", "Email Opt Out"),
        _bool("HasOptedOutOfFax", "Fax Opt Out"),
        _bool("DoNotCall", "Do Not Call"),
        # IsConverted is set only by lead conversion: read-only to the API.
        _ro(_bool("IsConverted", "Converted")),
        _ro(FieldSpec("ConvertedDate", "date", "Converted Date")),
        _ro(_ref("ConvertedAccountId", "Converted Account ID", "Account")),
        _ro(_ref("ConvertedContactId", "Converted Contact ID", "Contact")),
        _bool("IsUnreadByOwner", "Unread By Owner"),
        _ro(FieldSpec("LastActivityDate", "date", "Last Activity")),
        _text("EmailBouncedReason", "Email Bounced Reason", 255),
        FieldSpec("EmailBouncedDate", "datetime", "Email Bounced Date"),
        *_system_fields(),
    ),
)

ACCOUNT = ObjectSpec(
    "Account",
    "Account",
    "Accounts",
    (
        _id("Account ID"),
        _ref("MasterRecordId", "Master Record ID", "Account", createable=False, updateable=False),
        _text("Name", "Account Name", 255, nillable=False, name_field=True),
        _pick(
            "Type",
            "Account Type",
            (
                "Prospect",
                "Customer - Direct",
                "Customer - Channel",
                "Channel Partner / Reseller",
                "Installation Partner",
                "Technology Partner",
                "Other",
            ),
        ),
        _ref("ParentId", "Parent Account ID", "Account", children="ChildAccounts"),
        *_address("Billing", "Billing"),
        *_address("Shipping", "Shipping"),
        FieldSpec("Phone", "phone", "Account Phone", 40),
        FieldSpec("Fax", "phone", "Account Fax", 40),
        _text("AccountNumber", "Account Number", 40),
        FieldSpec("Website", "url", "Website", 255),
        _text("Sic", "SIC Code", 20),
        _pick("Industry", "Industry", _INDUSTRIES),
        FieldSpec("AnnualRevenue", "currency", "Annual Revenue", precision=18, scale=0),
        FieldSpec("NumberOfEmployees", "int", "Employees", digits=8),
        _pick("Ownership", "Ownership", ("Public", "Private", "Subsidiary", "Other")),
        _text("TickerSymbol", "Ticker Symbol", 20),
        _area("Description", "Account Description", 32000),
        _pick("Rating", "Account Rating", _RATINGS),
        _text("Site", "Account Site", 80),
        *_system_fields(),
    ),
)

CAMPAIGN = ObjectSpec(
    "Campaign",
    "Campaign",
    "Campaigns",
    (
        _id("Campaign ID"),
        _text("Name", "Name", 80, nillable=False, name_field=True),
        _ref("ParentId", "Parent Campaign ID", "Campaign", children="ChildCampaigns"),
        _pick(
            "Type",
            "Type",
            (
                "Conference",
                "Webinar",
                "Trade Show",
                "Public Relations",
                "Partners",
                "Referral Program",
                "Advertisement",
                "Banner Ads",
                "Direct Mail",
                "Email",
                "Telemarketing",
                "Other",
            ),
        ),
        _pick("Status", "Status", ("Planned", "In Progress", "Completed", "Aborted"), default="Planned"),
        FieldSpec("StartDate", "date", "Start Date"),
        FieldSpec("EndDate", "date", "End Date"),
        FieldSpec("ExpectedRevenue", "currency", "Expected Revenue in Campaign", precision=18),
        FieldSpec("BudgetedCost", "currency", "Budgeted Cost in Campaign", precision=18),
        FieldSpec("ActualCost", "currency", "Actual Cost in Campaign", precision=18),
        FieldSpec("ExpectedResponse", "percent", "Expected Response (%)", precision=10, scale=2),
        FieldSpec("NumberSent", "double", "Num Sent in Campaign", precision=18),
        _bool("IsActive", "Active"),
        _area("Description", "Description", 32000),
        _ro(FieldSpec("NumberOfLeads", "int", "Leads in Campaign", digits=9)),
        _ro(FieldSpec("NumberOfContacts", "int", "Contacts in Campaign", digits=9)),
        *_system_fields(),
    ),
)

CAMPAIGN_MEMBER = ObjectSpec(
    "CampaignMember",
    "Campaign Member",
    "Campaign Members",
    (
        _id("Campaign Member ID"),
        _ref(
            "CampaignId",
            "Campaign ID",
            "Campaign",
            nillable=False,
            updateable=False,
            children="CampaignMembers",
        ),
        _ref("LeadId", "Lead ID", "Lead", updateable=False, children="CampaignMembers"),
        _ref("ContactId", "Contact ID", "Contact", updateable=False, children="CampaignMembers"),
        _pick("Status", "Status", ("Sent", "Responded"), defaulted_on_create=True, default="Sent"),
        _ro(_bool("HasResponded", "Responded")),
        _ro(FieldSpec("FirstRespondedDate", "date", "First Responded Date")),
        # Set by the org from LeadId / ContactId (models/derived.py).
        _ro(_pick("Type", "Type", ("Lead", "Contact"), wide=False)),
        _ro(_ref("LeadOrContactId", "Lead or Contact ID", "Contact", "Lead")),
        *_system_fields(owner=False),
    ),
)

_STAGES = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
)
_CONTACT_ROLES = (
    "Business User",
    "Decision Maker",
    "Economic Buyer",
    "Economic Decision Maker",
    "Evaluator",
    "Executive Sponsor",
    "Influencer",
    "Technical Buyer",
    "Other",
)

OPPORTUNITY = ObjectSpec(
    "Opportunity",
    "Opportunity",
    "Opportunities",
    (
        _id("Opportunity ID"),
        _ref("AccountId", "Account ID", "Account", children="Opportunities"),
        _bool("IsPrivate", "Private"),
        _text("Name", "Name", 120, nillable=False, name_field=True),
        _area("Description", "Description", 32000),
        _pick("StageName", "Stage", _STAGES, nillable=False),
        FieldSpec("Amount", "currency", "Amount", precision=18, scale=2),
        # Defaulted from the stage when not given (models/derived.py).
        _number("Probability", "Probability (%)", "percent", 3, 0),
        _ro(FieldSpec("ExpectedRevenue", "currency", "Expected Amount", precision=18, scale=2)),
        _number("TotalOpportunityQuantity", "Quantity", "double", 18, 2),
        FieldSpec("CloseDate", "date", "Close Date", nillable=False),
        _pick(
            "Type",
            "Opportunity Type",
            (
                "Existing Customer - Upgrade",
                "Existing Customer - Replacement",
                "Existing Customer - Downgrade",
                "New Customer",
            ),
        ),
        _text("NextStep", "Next Step", 255),
        _pick("LeadSource", "Lead Source", _LEAD_SOURCES),
        _ro(_bool("IsClosed", "Closed")),
        _ro(_bool("IsWon", "Won")),
        _ro(
            _pick(
                "ForecastCategory",
                "Forecast Category",
                ("Omitted", "Pipeline", "BestCase", "Forecast", "Closed"),
                wide=False,
            )
        ),
        _pick(
            "ForecastCategoryName",
            "Forecast Category",
            ("Omitted", "Pipeline", "Best Case", "Commit", "Closed"),
        ),
        _ref("CampaignId", "Campaign ID", "Campaign", children="Opportunities"),
        _ro(_bool("HasOpportunityLineItem", "Has Line Item")),
        _ro(FieldSpec("LastActivityDate", "date", "Last Activity")),
        _ro(FieldSpec("FiscalQuarter", "int", "Fiscal Quarter", digits=9)),
        _ro(FieldSpec("FiscalYear", "int", "Fiscal Year", digits=9)),
        _ro(_text("Fiscal", "Fiscal Period", 6)),
        *_system_fields(),
    ),
)

OPPORTUNITY_CONTACT_ROLE = ObjectSpec(
    "OpportunityContactRole",
    "Opportunity Contact Role",
    "Opportunity Contact Role",
    (
        _id("Opportunity Contact Role ID"),
        _ref(
            "OpportunityId",
            "Opportunity ID",
            "Opportunity",
            nillable=False,
            updateable=False,
            children="OpportunityContactRoles",
        ),
        _ref("ContactId", "Contact ID", "Contact", nillable=False, children="OpportunityContactRoles"),
        _pick("Role", "Role", _CONTACT_ROLES),
        _bool("IsPrimary", "Primary"),
        *_system_fields(owner=False),
    ),
)

ACCOUNT_CONTACT_RELATION = ObjectSpec(
    "AccountContactRelation",
    "Account Contact Relationship",
    "Account Contact Relationship",
    (
        _id("Account Contact Relationship ID"),
        _ref(
            "AccountId",
            "Account ID",
            "Account",
            nillable=False,
            updateable=False,
            children="AccountContactRelations",
        ),
        _ref(
            "ContactId",
            "Contact ID",
            "Contact",
            nillable=False,
            updateable=False,
            children="AccountContactRelations",
        ),
        FieldSpec("Roles", "multipicklist", "Roles", 4099, picklist=_CONTACT_ROLES),
        # True for the relation to the contact's own account, which the org keeps itself; the sandbox
        # does not create those (docs/salesforce-facts.md, "Objects").
        _ro(_bool("IsDirect", "Direct")),
        FieldSpec("IsActive", "boolean", "Active", nillable=False, defaulted_on_create=True, default=True),
        FieldSpec("StartDate", "date", "Start Date"),
        FieldSpec("EndDate", "date", "End Date"),
        *_system_fields(owner=False),
    ),
)

USER = ObjectSpec(
    "User",
    "User",
    "Users",
    (
        _id("User ID"),
        _text("Username", "Username", 80, nillable=False, unique=True, id_lookup=True),
        _text("LastName", "Last Name", 80, nillable=False),
        _text("FirstName", "First Name", 40),
        _ro(_text("Name", "Full Name", 121, nillable=False, name_field=True)),
        _text("Alias", "Alias", 8, nillable=False),
        FieldSpec("Email", "email", "Email", 128, nillable=False),
        _bool("IsActive", "Active"),
        _ref("ProfileId", "Profile ID", "Profile", nillable=False),
        _pick("UserType", "User Type", ("Standard", "AutomatedProcess"), createable=False, updateable=False),
        _pick("TimeZoneSidKey", "Time Zone", ("GMT", "Europe/Paris", "America/Los_Angeles"), nillable=False),
        _pick("LocaleSidKey", "Locale", ("en_US", "fr_FR"), nillable=False),
        _pick("EmailEncodingKey", "Email Encoding", ("UTF-8",), nillable=False),
        _pick("LanguageLocaleKey", "Language", ("en_US",), nillable=False),
        *_system_fields(owner=False, deleted=False),
    ),
    # Users are setup data here: seeded by the sandbox, not created through the API.
    createable=False,
    deletable=False,
    data=False,
)

PROFILE = ObjectSpec(
    "Profile",
    "Profile",
    "Profiles",
    (
        _id("Profile ID"),
        _text("Name", "Name", 255, nillable=False, name_field=True),
        _text("UserType", "User Type", 40),
        _text("Description", "Description", 255),
        *_system_fields(owner=False, deleted=False),
    ),
    createable=False,
    updateable=False,
    deletable=False,
    data=False,
)

ORGANIZATION = ObjectSpec(
    "Organization",
    "Organization",
    "Organizations",
    (
        _id("Organization ID"),
        _text("Name", "Name", 80, nillable=False, name_field=True),
        _text("OrganizationType", "Edition", 40),
        _text("InstanceName", "Instance Name", 5),
        _ro(_bool("IsSandbox", "Is Sandbox")),
        *_system_fields(owner=False, deleted=False),
    ),
    createable=False,
    updateable=False,
    deletable=False,
    data=False,
)

PERMISSION_SET = ObjectSpec(
    "PermissionSet",
    "Permission Set",
    "Permission Sets",
    (
        _id("Permission Set ID"),
        _text("Name", "Name", 80, nillable=False),
        _text("Label", "Label", 80, nillable=False, name_field=True),
        _ro(_ref("ProfileId", "Profile ID", "Profile")),
        _ro(_bool("IsOwnedByProfile", "Is Owned By Profile")),
        _ro(_bool("IsCustom", "Custom")),
        _text("Description", "Description", 255),
        _ro(_text("NamespacePrefix", "Namespace Prefix", 15)),
        *_system_fields(owner=False, deleted=False),
    ),
    data=False,
)

PERMISSION_SET_ASSIGNMENT = ObjectSpec(
    "PermissionSetAssignment",
    "Permission Set Assignment",
    "Permission Set Assignments",
    (
        _id("Permission Set Assignment ID"),
        _ref("AssigneeId", "Assignee ID", "User", nillable=False, updateable=False),
        _ref("PermissionSetId", "Permission Set ID", "PermissionSet", nillable=False, updateable=False),
        _ro(
            FieldSpec(
                "SystemModstamp", "datetime", "System Modstamp", nillable=False, defaulted_on_create=True
            )
        ),
    ),
    updateable=False,
    data=False,
)


def _grant_fields(label: str, *own: FieldSpec) -> tuple[FieldSpec, ...]:
    """The fields of a permission set's grant on an object (or one of its fields): ``own`` between
    the object and the timestamp."""
    return (
        _id(f"{label} ID"),
        _ref("ParentId", "Parent ID", "PermissionSet", nillable=False, updateable=False),
        _pick("SobjectType", "Object Type", (), nillable=False, updateable=False, wide=False),
        *own,
        _ro(
            FieldSpec(
                "SystemModstamp", "datetime", "System Modstamp", nillable=False, defaulted_on_create=True
            )
        ),
    )


FIELD_PERMISSIONS = ObjectSpec(
    "FieldPermissions",
    "Field Permissions",
    "Field Permissions",
    _grant_fields(
        "Field Permissions",
        _pick("Field", "Field Name", (), nillable=False, updateable=False),
        _bool("PermissionsEdit", "Edit Field"),
        _bool("PermissionsRead", "Read Field"),
    ),
    data=False,
)

# Object-level access (CRUD) a permission set grants; the sandbox's profile has it on every
# standard object, so grants matter for custom objects.
OBJECT_PERMISSIONS = ObjectSpec(
    "ObjectPermissions",
    "Object Permissions",
    "Object Permissions",
    _grant_fields(
        "Object Permissions",
        _bool("PermissionsCreate", "Create"),
        _bool("PermissionsRead", "Read"),
        _bool("PermissionsEdit", "Edit"),
        _bool("PermissionsDelete", "Delete"),
        _bool("PermissionsViewAllRecords", "View All"),
        _bool("PermissionsModifyAllRecords", "Modify All"),
    ),
    data=False,
)

OBJECTS: dict[str, ObjectSpec] = {
    spec.name: spec
    for spec in (
        ACCOUNT,
        ACCOUNT_CONTACT_RELATION,
        CAMPAIGN,
        CAMPAIGN_MEMBER,
        CONTACT,
        FIELD_PERMISSIONS,
        LEAD,
        OBJECT_PERMISSIONS,
        OPPORTUNITY,
        OPPORTUNITY_CONTACT_ROLE,
        ORGANIZATION,
        PERMISSION_SET,
        PERMISSION_SET_ASSIGNMENT,
        PROFILE,
        USER,
    )
}
OBJECTS_BY_LOWER = {name.lower(): spec for name, spec in OBJECTS.items()}

# Objects that may receive custom fields through the Tooling API.
CUSTOMIZABLE = (
    "Account",
    "AccountContactRelation",
    "Campaign",
    "CampaignMember",
    "Contact",
    "Lead",
    "Opportunity",
    "OpportunityContactRole",
)

#: Child relationships: (parent object, relationship name) → (child object, its lookup to the parent),
#: from the lookups that name one (``child_relationship``). sObject Tree nests children under these
#: names; describe lists them in ``childRelationships``.
CHILD_RELATIONSHIPS: dict[tuple[str, str], tuple[str, str]] = {
    (parent, lookup.child_relationship): (child.name, lookup.name)
    for child in sorted(OBJECTS.values(), key=lambda spec: spec.name)
    for lookup in child.fields
    if lookup.child_relationship
    for parent in lookup.reference_to
}

#: Objects a SOSL search looks in when it names none (describe says ``searchable``).
SEARCHABLE = ("Account", "Campaign", "Contact", "Lead", "User")

# --- the Tooling API's objects ----------------------------------------------------------------


def _definition(name: str, label: str, developer_name: str, *own: FieldSpec) -> ObjectSpec:
    """A Tooling API definition object: its developer name, ``own`` fields, full name and Metadata."""
    return ObjectSpec(
        name,
        label,
        f"{label}s",
        (
            _id(f"{label} ID"),
            _ro(_text("DeveloperName", developer_name, 40, nillable=False)),
            *own,
            _text("FullName", "Full Name", 255),
            _ro(_text("NamespacePrefix", "Namespace Prefix", 15)),
            _ro(_pick("ManageableState", "Manageable State", ("unmanaged", "installed"), wide=False)),
            FieldSpec("Metadata", "complexvalue", "Metadata", filterable=False),
            *_system_fields(owner=False, deleted=False),
        ),
        updateable=False,
        deletable=False,
        data=False,
    )


CUSTOM_FIELD = _definition(
    "CustomField",
    "Custom Field Definition",
    "Field Name",
    _ro(_text("TableEnumOrId", "Table Enum or ID", 40, nillable=False)),
)
CUSTOM_OBJECT = _definition(
    "CustomObject",
    "Custom Object Definition",
    "Object Name",
    _ro(_text("SharingModel", "Sharing Model", 40)),
    _ro(_text("Description", "Description", 1000)),
)
#: What ``tooling/sobjects`` lists: the Tooling API objects the sandbox answers.
TOOLING_OBJECTS = {"CustomField": CUSTOM_FIELD, "CustomObject": CUSTOM_OBJECT}
