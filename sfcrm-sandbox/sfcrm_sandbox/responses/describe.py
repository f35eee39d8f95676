"""Describe: the global describe (``sobjects``), an object's basic info and its full describe.

Rendering follows captured real describe results (``docs/salesforce-facts.md``, "Describe"): the
fields list holds only what field-level security lets the integration user see, fields it may read
but not edit say ``createable``/``updateable`` false, and ``If-Modified-Since`` answers 304 while
the schema has not changed since.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

from sfcrm_sandbox.models.access import ObjectAccess
from sfcrm_sandbox.models.fields import FieldSpec, ObjectSpec
from sfcrm_sandbox.models.objects import CHILD_RELATIONSHIPS, SEARCHABLE, TOOLING_OBJECTS
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.responses.call import Call, Reply, not_found

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
    "complexvalue": "xsd:anyType",
    "address": "urn:address",
    "location": "urn:location",
}


def field_describe(spec: FieldSpec, *, readable_only: bool = False) -> dict[str, Any]:
    """The per-field describe entry (the keys of a captured real one).

    :param readable_only: field-level security grants read but not edit.
    """
    createable = spec.createable and not readable_only
    updateable = spec.updateable and not readable_only
    byte_length = spec.length * 3 if spec.is_text else (18 if spec.type in ("id", "reference") else 0)
    length = spec.length if (spec.is_text or spec.type in ("id", "reference")) else 0
    return {
        "aggregatable": spec.filterable,
        "aiPredictionField": False,
        "autoNumber": spec.auto_number,
        "byteLength": byte_length,
        "calculated": False,
        "calculatedFormula": None,
        "cascadeDelete": False,
        "caseSensitive": False,
        "compoundFieldName": spec.compound_field_name,
        "controllerName": None,
        "createable": createable,
        "custom": spec.custom,
        "defaultValue": spec.default if spec.type in ("boolean",) else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": spec.defaulted_on_create,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": spec.digits,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": spec.external_id,
        "extraTypeInfo": spec.extra_type_info,
        "filterable": spec.filterable,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": spec.groupable,
        "highScaleNumber": False,
        "htmlFormatted": spec.html,
        "idLookup": spec.id_lookup or spec.external_id,
        "inlineHelpText": None,
        "label": spec.label,
        "length": length,
        "mask": None,
        "maskType": None,
        "name": spec.name,
        "nameField": spec.name_field,
        "namePointing": False,
        "nillable": spec.nillable,
        # Required fields cannot be hidden, so they take no field-level security.
        "permissionable": spec.nillable and spec.type != "id" and not spec.auto_number,
        "picklistValues": picklist_values(spec),
        "polymorphicForeignKey": len(spec.reference_to) > 1,
        "precision": spec.precision,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(spec.reference_to),
        "relationshipName": spec.relationship_name,
        "relationshipOrder": None,
        "restrictedDelete": False,
        "restrictedPicklist": spec.restricted_picklist,
        "scale": spec.scale,
        "searchPrefilterable": spec.type == "reference",
        "soapType": _SOAP_TYPES.get(spec.type, "xsd:string"),
        "sortable": spec.sortable,
        "type": spec.type,
        "unique": spec.unique,
        "updateable": updateable,
        "writeRequiresMasterRead": False,
    }


def picklist_values(spec: FieldSpec) -> list[dict[str, Any]]:
    """A picklist's active values in order, its default ones marked (a multi-select picklist may
    have several). Inactive values are not listed (UNVERIFIED: describe lists the values users can
    pick; Salesforce's ``active`` flag is then always true)."""
    defaults = set((spec.default or "").split(";")) if spec.type in ("picklist", "multipicklist") else set()
    return [
        {"active": True, "defaultValue": value in defaults, "label": value, "validFor": None, "value": value}
        for value in spec.picklist
    ]


def object_urls(version: str, name: str, tooling: bool = False) -> dict[str, str]:
    base = f"/services/data/v{version}/{'tooling/' if tooling else ''}sobjects/{name}"
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


def object_summary(
    spec: ObjectSpec, version: str, tooling: bool = False, access: ObjectAccess | None = None
) -> dict[str, Any]:
    """The object's entry in the global describe (and ``objectDescribe`` of basic info).

    :param access: what the user may do with the object's records (default: what the object allows).
    """
    if access is None:
        access = ObjectAccess(True, spec.createable, spec.updateable, spec.deletable)
    stored = spec.data and not spec.event
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": access.create,
        "custom": spec.custom,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": access.delete,
        "deprecatedAndHidden": False,
        "feedEnabled": stored and not spec.custom,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": spec.key_prefix,
        "label": spec.label,
        "labelPlural": spec.label_plural,
        "layoutable": stored,
        "mergeable": spec.name in ("Account", "Contact", "Lead"),
        "mruEnabled": stored,
        "name": spec.name,
        # A platform event is published only: it cannot be queried, retrieved or replicated.
        "queryable": spec.queryable,
        "replicateable": not spec.event,
        "retrieveable": not spec.event,
        "searchable": spec.name in SEARCHABLE,
        "triggerable": spec.data,
        "undeletable": stored,
        "updateable": access.edit,
        "urls": object_urls(version, spec.name, tooling),
    }


def child_relationships(parent: str) -> list[dict[str, Any]]:
    """The ``childRelationships`` of ``parent``'s describe."""
    return [
        {
            "cascadeDelete": False,
            "childSObject": child,
            "deprecatedAndHidden": False,
            "field": lookup,
            "junctionIdListNames": [],
            "junctionReferenceTo": [],
            "relationshipName": name,
            "restrictedDelete": False,
        }
        for (owner, name), (child, lookup) in CHILD_RELATIONSHIPS.items()
        if owner == parent
    ]


def object_describe(
    spec: ObjectSpec,
    version: str,
    fields: list[dict[str, Any]],
    tooling: bool = False,
    access: ObjectAccess | None = None,
) -> dict[str, Any]:
    """The full ``sobjects/{name}/describe`` body, ``fields`` already filtered by field-level security."""
    body = object_summary(spec, version, tooling, access)
    body.update(
        {
            "actionOverrides": [],
            "childRelationships": child_relationships(spec.name),
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


def _global(
    call: Call,
    specs: Iterable[ObjectSpec],
    tooling: bool = False,
    access: Callable[[str], ObjectAccess] | None = None,
) -> Reply:
    return Reply(
        200,
        {
            "encoding": "UTF-8",
            "maxBatchSize": 200,
            "sobjects": [
                object_summary(spec, call.version, tooling, access(spec.name) if access else None)
                for spec in sorted(specs, key=lambda s: s.name)
            ],
        },
    )


class DescribeResponses:
    """``sobjects``, ``sobjects/{sobject}`` and ``sobjects/{sobject}/describe``.

    :param store: the org.
    """

    def __init__(self, store: OrgStore) -> None:
        self.store = store

    def global_describe(self, call: Call) -> Reply:
        """``sobjects``: the objects the user can see, standard, custom and platform events."""
        store = self.store
        return _global(
            call,
            [spec for spec in store.schema.objects.values() if store.object_access(spec.name).read],
            access=store.object_access,
        )

    def tooling_global_describe(self, call: Call) -> Reply:
        """``tooling/sobjects``: the Tooling API objects the sandbox answers."""
        return _global(call, TOOLING_OBJECTS.values(), tooling=True)

    def tooling_describe(self, call: Call) -> Reply:
        """``tooling/sobjects/{sobject}/describe``."""
        spec = TOOLING_OBJECTS.get(call.params["sobject"])
        if spec is None:
            return not_found()
        fields = [field_describe(f) for f in spec.fields]
        return Reply(200, object_describe(spec, call.version, fields, tooling=True))

    def tooling_info(self, call: Call) -> Reply:
        spec = TOOLING_OBJECTS.get(call.params["sobject"])
        if spec is None:
            return not_found()
        return Reply(200, {"objectDescribe": object_summary(spec, call.version, True), "recentItems": []})

    def sobject_info(self, call: Call) -> Reply:
        spec = self.store.object_spec(call.params["sobject"])
        if spec is None:
            return not_found()
        summary = object_summary(spec, call.version, access=self.store.object_access(spec.name))
        return Reply(200, {"objectDescribe": summary, "recentItems": []})

    def describe(self, call: Call) -> Reply:
        spec = self.store.object_spec(call.params["sobject"])
        if spec is None:
            return not_found()
        changed = self.store.schema_changed
        headers = {"Last-Modified": formatdate(changed, usegmt=True)}
        since = call.headers.get("if-modified-since")
        if since:
            try:
                if changed <= parsedate_to_datetime(since).timestamp():
                    return Reply(304, None, headers=headers)
            except (TypeError, ValueError):
                pass  # an unreadable date is ignored, as HTTP servers do
        fields = [
            field_describe(field_spec, readable_only=not editable)
            for field_spec, editable in self.store.visible_fields(spec.name).values()
        ]
        access = self.store.object_access(spec.name)
        return Reply(200, object_describe(spec, call.version, fields, access=access), headers=headers)
