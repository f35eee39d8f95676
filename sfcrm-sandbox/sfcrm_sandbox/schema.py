"""Standard objects of the sandbox org, custom field specs, and their describe rendering.

Field names, types, lengths and required-ness follow the real standard objects (captured describe
responses, Salesforce's object reference). Only the fields this product and its tests touch plus
the usual system fields are modelled; the shapes of describe results follow salesforce-api.md §3.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

# Key prefixes (first three characters of an Id): one table for the product and its sandbox.
from airflow_provider_sfcrm.activation.ids import KEY_PREFIXES  # noqa: E402,F401

_STRING_TYPES = {"string", "textarea", "email", "phone", "url", "picklist", "combobox"}
_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
}


@dataclass(frozen=True)
class FieldSpec:
    """One field of an object, with what describe reports about it and what writes must respect.

    :param name: API name (canonical case).
    :param type: describe ``type`` (``string``, ``textarea``, ``email``, ``reference``, ...).
    :param label: UI label (used in error messages such as STRING_TOO_LONG).
    :param length: maximum characters for text types, 0 otherwise.
    :param nillable: may be null; a createable, non-nillable, non-defaulted field is required.
    :param createable: may be set on insert.
    :param updateable: may be set on update.
    :param defaulted_on_create: the org fills it when the insert leaves it empty.
    :param default: value the org fills in (for ``defaulted_on_create`` fields).
    :param unique: values must be unique across the object's live records.
    :param external_id: usable as the key of an upsert.
    :param reference_to: target objects of a lookup.
    :param extra_type_info: ``plaintextarea`` / ``richtextarea`` / ``personname`` / ``imageurl``.
    :param html: ``htmlFormatted`` (rich text).
    :param custom: a custom field (``__c``).
    :param filterable: usable in WHERE (long text areas are not).
    :param picklist: picklist values (first is the default when ``default`` is None).
    :param name_field: the object's name field.
    :param id_lookup: usable to look a record up (Id, external ids, some standard fields).
    """

    name: str
    type: str
    label: str
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted_on_create: bool = False
    default: Any = None
    unique: bool = False
    external_id: bool = False
    reference_to: tuple[str, ...] = ()
    extra_type_info: str | None = None
    html: bool = False
    custom: bool = False
    filterable: bool = True
    picklist: tuple[str, ...] = ()
    name_field: bool = False
    id_lookup: bool = False
    precision: int = 0
    scale: int = 0
    digits: int = 0

    @property
    def required(self) -> bool:
        return (
            self.createable and not self.nillable and not self.defaulted_on_create and self.type != "boolean"
        )

    @property
    def is_text(self) -> bool:
        return self.type in _STRING_TYPES

    @property
    def sortable(self) -> bool:
        return self.filterable

    def describe(self, *, readable_only: bool = False) -> dict[str, Any]:
        """The per-field describe dict (keys of a real capture, salesforce-api.md §3.1)."""
        createable = self.createable and not readable_only
        updateable = self.updateable and not readable_only
        byte_length = self.length * 3 if self.is_text else (18 if self.type in ("id", "reference") else 0)
        length = self.length if (self.is_text or self.type in ("id", "reference")) else 0
        return {
            "aggregatable": self.filterable,
            "aiPredictionField": False,
            "autoNumber": False,
            "byteLength": byte_length,
            "calculated": False,
            "calculatedFormula": None,
            "cascadeDelete": False,
            "caseSensitive": False,
            "compoundFieldName": None,
            "controllerName": None,
            "createable": createable,
            "custom": self.custom,
            "defaultValue": self.default if self.type in ("boolean",) else None,
            "defaultValueFormula": None,
            "defaultedOnCreate": self.defaulted_on_create,
            "dependentPicklist": False,
            "deprecatedAndHidden": False,
            "digits": self.digits,
            "displayLocationInDecimal": False,
            "encrypted": False,
            "externalId": self.external_id,
            "extraTypeInfo": self.extra_type_info,
            "filterable": self.filterable,
            "filteredLookupInfo": None,
            "formulaTreatNullNumberAsZero": False,
            "groupable": self.filterable and self.type not in ("double", "currency", "percent", "datetime"),
            "highScaleNumber": False,
            "htmlFormatted": self.html,
            "idLookup": self.id_lookup or self.external_id,
            "inlineHelpText": None,
            "label": self.label,
            "length": length,
            "mask": None,
            "maskType": None,
            "name": self.name,
            "nameField": self.name_field,
            "namePointing": False,
            "nillable": self.nillable,
            "permissionable": self.custom or (self.nillable and self.type not in ("id",)),
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": value == self.default,
                    "label": value,
                    "validFor": None,
                    "value": value,
                }
                for value in self.picklist
            ],
            "polymorphicForeignKey": len(self.reference_to) > 1,
            "precision": self.precision,
            "queryByDistance": False,
            "referenceTargetField": None,
            "referenceTo": list(self.reference_to),
            "relationshipName": (self.name[:-2] if self.name.endswith("Id") and self.reference_to else None),
            "relationshipOrder": None,
            "restrictedDelete": False,
            "restrictedPicklist": False,
            "scale": self.scale,
            "searchPrefilterable": self.type == "reference",
            "soapType": _SOAP_TYPES.get(self.type, "xsd:string"),
            "sortable": self.sortable,
            "type": self.type,
            "unique": self.unique,
            "updateable": updateable,
            "writeRequiresMasterRead": False,
        }


@dataclass(frozen=True)
class ObjectSpec:
    """A standard object: its label, key prefix, what may be done with it and its standard fields.

    :param name: API name.
    :param label: singular label.
    :param label_plural: plural label.
    :param fields: standard fields in describe order.
    :param createable: records may be created through the API.
    :param updateable: records may be updated through the API.
    :param deletable: records may be deleted through the API.
    :param data: holds business data that ``/__sandbox/reset`` empties (not setup data).
    """

    name: str
    label: str
    label_plural: str
    fields: tuple[FieldSpec, ...]
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    data: bool = True

    @property
    def key_prefix(self) -> str:
        return KEY_PREFIXES[self.name]

    @cached_property
    def field_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)

    def has_field(self, name: str) -> bool:
        return name in self.field_names

    @cached_property
    def required_fields(self) -> tuple[FieldSpec, ...]:
        """Standard fields an insert must set (checked for every record written: computed once)."""
        return tuple(f for f in self.fields if f.required)


# --- field builders: keep the object tables below readable ------------------------------------


def _text(name: str, label: str, length: int, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "string", label, length, **kw)


def _area(name: str, label: str, length: int = 255) -> FieldSpec:
    # Text Area (255) stays filterable; Text Area (Long) is not (salesforce-api.md §3.1 table).
    return FieldSpec(
        name, "textarea", label, length, extra_type_info="plaintextarea", filterable=length <= 255
    )


def _pick(name: str, label: str, values: tuple[str, ...], **kw: Any) -> FieldSpec:
    return FieldSpec(name, "picklist", label, 255 if kw.pop("wide", True) else 40, picklist=values, **kw)


def _bool(name: str, label: str, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "boolean", label, nillable=False, defaulted_on_create=True, default=False, **kw)


def _ref(name: str, label: str, *targets: str, **kw: Any) -> FieldSpec:
    return FieldSpec(name, "reference", label, 18, reference_to=targets, **kw)


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


_SALUTATIONS = ("Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx.")
_LEAD_SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other")
_INDUSTRIES = (
    "Agriculture",
    "Banking",
    "Education",
    "Finance",
    "Healthcare",
    "Retail",
    "Technology",
    "Other",
)
_RATINGS = ("Hot", "Warm", "Cold")
_LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
_NAME_PARTS = (
    _pick("Salutation", "Salutation", _SALUTATIONS),
    _text("MiddleName", "Middle Name", 40, extra_type_info="personname"),
    _text("Suffix", "Suffix", 40, extra_type_info="personname"),
)


def _address(prefix: str, label: str) -> tuple[FieldSpec, ...]:
    return (
        _area(f"{prefix}Street", f"{label} Street"),
        _text(f"{prefix}City", f"{label} City", 40),
        _text(f"{prefix}State", f"{label} State/Province", 80),
        _text(f"{prefix}PostalCode", f"{label} Zip/Postal Code", 20),
        _text(f"{prefix}Country", f"{label} Country", 80),
    )


CONTACT = ObjectSpec(
    "Contact",
    "Contact",
    "Contacts",
    (
        _id("Contact ID"),
        _ref("MasterRecordId", "Master Record ID", "Contact", createable=False, updateable=False),
        _ref("AccountId", "Account ID", "Account"),
        _text("LastName", "Last Name", 80, nillable=False, extra_type_info="personname"),
        _text("FirstName", "First Name", 40, extra_type_info="personname"),
        *_NAME_PARTS,
        _ro(_text("Name", "Full Name", 121, nillable=False, name_field=True, extra_type_info="personname")),
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
        _text("LastName", "Last Name", 80, nillable=False, extra_type_info="personname"),
        _text("FirstName", "First Name", 40, extra_type_info="personname"),
        *_NAME_PARTS,
        _ro(_text("Name", "Full Name", 121, nillable=False, name_field=True, extra_type_info="personname")),
        _text("Title", "Title", 128),
        _text("Company", "Company", 255, nillable=False),
        _area("Street", "Street"),
        _text("City", "City", 40),
        _text("State", "State/Province", 80),
        _text("PostalCode", "Zip/Postal Code", 20),
        _text("Country", "Country", 80),
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
            ("Prospect", "Customer - Direct", "Customer - Channel", "Partner", "Other"),
        ),
        _ref("ParentId", "Parent Account ID", "Account"),
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
        _ref("ParentId", "Parent Campaign ID", "Campaign"),
        _pick("Type", "Type", ("Conference", "Webinar", "Email", "Advertisement", "Other")),
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
        _ref("CampaignId", "Campaign ID", "Campaign", nillable=False, updateable=False),
        _ref("LeadId", "Lead ID", "Lead", updateable=False),
        _ref("ContactId", "Contact ID", "Contact", updateable=False),
        _pick("Status", "Status", ("Sent", "Responded"), defaulted_on_create=True, default="Sent"),
        _ro(_bool("HasResponded", "Responded")),
        _ro(FieldSpec("FirstRespondedDate", "date", "First Responded Date")),
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

FIELD_PERMISSIONS = ObjectSpec(
    "FieldPermissions",
    "Field Permissions",
    "Field Permissions",
    (
        _id("Field Permissions ID"),
        _ref("ParentId", "Parent ID", "PermissionSet", nillable=False, updateable=False),
        _pick("SobjectType", "Object Type", (), nillable=False, updateable=False, wide=False),
        _pick("Field", "Field Name", (), nillable=False, updateable=False),
        _bool("PermissionsEdit", "Edit Field"),
        _bool("PermissionsRead", "Read Field"),
        _ro(
            FieldSpec(
                "SystemModstamp", "datetime", "System Modstamp", nillable=False, defaulted_on_create=True
            )
        ),
    ),
    data=False,
)

OBJECTS: dict[str, ObjectSpec] = {
    spec.name: spec
    for spec in (
        ACCOUNT,
        CAMPAIGN,
        CAMPAIGN_MEMBER,
        CONTACT,
        FIELD_PERMISSIONS,
        LEAD,
        ORGANIZATION,
        PERMISSION_SET,
        PERMISSION_SET_ASSIGNMENT,
        PROFILE,
        USER,
    )
}
OBJECTS_BY_LOWER = {name.lower(): spec for name, spec in OBJECTS.items()}

# Objects that may receive custom fields through the Tooling API.
CUSTOMIZABLE = ("Account", "Campaign", "CampaignMember", "Contact", "Lead")

# --- custom fields (Tooling API `CustomField`) --------------------------------------------------

LONG_TEXT_MIN, LONG_TEXT_MAX = 256, 131072


class CustomFieldError(ValueError):
    """A Tooling ``CustomField`` create request that Salesforce would refuse."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


def custom_field_spec(name: str, metadata: dict[str, Any]) -> FieldSpec:
    """Turn Tooling ``Metadata`` of a new field into its :class:`FieldSpec` (raises CustomFieldError)."""
    kind = metadata.get("type")
    label = metadata.get("label") or name[:-3].replace("_", " ")
    external_id = bool(metadata.get("externalId"))
    unique = bool(metadata.get("unique"))
    length = metadata.get("length")
    if kind in ("Text", "LongTextArea", "Html") and not isinstance(length, int):
        raise CustomFieldError(
            "FIELD_INTEGRITY_EXCEPTION", f"Must specify 'length' for a CustomField of type {kind}"
        )
    if kind == "Text":
        if not 1 <= length <= 255:
            raise CustomFieldError("FIELD_INTEGRITY_EXCEPTION", "Length must be between 1 and 255")
        spec = FieldSpec(name, "string", label, length)
    elif kind == "TextArea":
        spec = FieldSpec(name, "textarea", label, 255, extra_type_info="plaintextarea")
    elif kind in ("LongTextArea", "Html"):
        if kind == "LongTextArea" and not isinstance(metadata.get("visibleLines"), int):
            raise CustomFieldError(
                "FIELD_INTEGRITY_EXCEPTION",
                "Must specify 'visibleLines' for a CustomField of type LongTextArea",
            )
        if not LONG_TEXT_MIN <= length <= LONG_TEXT_MAX:
            raise CustomFieldError(
                "FIELD_INTEGRITY_EXCEPTION", f"Length must be between {LONG_TEXT_MIN} and {LONG_TEXT_MAX}"
            )
        rich = kind == "Html"
        spec = FieldSpec(
            name,
            "textarea",
            label,
            length,
            extra_type_info="richtextarea" if rich else "plaintextarea",
            html=rich,
            filterable=False,
        )
    elif kind == "Email":
        spec = FieldSpec(name, "email", label, 80)
    else:
        raise CustomFieldError(
            "FIELD_INTEGRITY_EXCEPTION", f"Unsupported custom field type in this sandbox: {kind!r}"
        )
    if (external_id or unique) and spec.type not in ("string", "email"):
        raise CustomFieldError(
            "FIELD_INTEGRITY_EXCEPTION", f"A field of type {kind} can't be an external ID or unique"
        )
    return replace(spec, custom=True, external_id=external_id, unique=unique)


def field_spec_to_json(spec: FieldSpec) -> dict[str, Any]:
    """Persistable form of a custom field spec (the store keeps them in SQLite)."""
    return {
        "name": spec.name,
        "type": spec.type,
        "label": spec.label,
        "length": spec.length,
        "extra_type_info": spec.extra_type_info,
        "html": spec.html,
        "filterable": spec.filterable,
        "external_id": spec.external_id,
        "unique": spec.unique,
    }


def field_spec_from_json(data: dict[str, Any]) -> FieldSpec:
    return FieldSpec(custom=True, **data)


# --- describe rendering ------------------------------------------------------------------------


def object_urls(version: str, name: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{name}"
    return {
        "compactLayouts": f"{base}/describe/compactLayouts",
        "rowTemplate": f"{base}/{{ID}}",
        "approvalLayouts": f"{base}/describe/approvalLayouts",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "listviews": f"{base}/listviews",
        "describe": f"{base}/describe",
        "quickActions": f"{base}/quickActions",
        "layouts": f"{base}/describe/layouts",
        "sobject": base,
    }


def object_summary(spec: ObjectSpec, version: str) -> dict[str, Any]:
    """The object's entry in the global describe (and ``objectDescribe`` of basic info)."""
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": spec.createable,
        "custom": False,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": spec.deletable,
        "deprecatedAndHidden": False,
        "feedEnabled": spec.data,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": spec.key_prefix,
        "label": spec.label,
        "labelPlural": spec.label_plural,
        "layoutable": spec.data,
        "mergeable": spec.name in ("Account", "Contact", "Lead"),
        "mruEnabled": spec.data,
        "name": spec.name,
        "queryable": True,
        "replicateable": True,
        "retrieveable": True,
        "searchable": spec.data,
        "triggerable": spec.data,
        "undeletable": spec.data,
        "updateable": spec.updateable,
        "urls": object_urls(version, spec.name),
    }


def object_describe(spec: ObjectSpec, version: str, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The full ``sobjects/{name}/describe`` body, ``fields`` already filtered by field-level security."""
    body = object_summary(spec, version)
    body.update(
        {
            "actionOverrides": [],
            "childRelationships": [],
            "compactLayoutable": spec.data,
            "defaultImplementation": None,
            "extendedBy": None,
            "extendsInterfaces": None,
            "fields": fields,
            "implementedBy": None,
            "implementsInterfaces": None,
            "listviewable": None,
            "lookupLayoutable": None,
            "namedLayoutInfos": [],
            "networkScopeFieldName": None,
            "recordTypeInfos": [],
            "searchLayoutable": spec.data,
            "sobjectDescribeOption": "FULL",
            "supportedScopes": [{"label": "All", "name": "everything"}, {"label": "My", "name": "mine"}],
        }
    )
    return dict(sorted(body.items()))
