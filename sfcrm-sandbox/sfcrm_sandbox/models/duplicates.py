"""Duplicate rules: the org's active rules refuse a Lead or Contact whose e-mail another record of
the same object already has (``docs/salesforce-facts.md``, "Duplicate rules").

The sandbox models one alert rule per object, matching on ``Email`` exactly — without regard to case,
on the trimmed value the org stores — against the records already saved (not the other records of
the same request). Rules are off until switched on (``--duplicate-rule Lead:Email`` or
``POST /__sandbox/duplicate-rules``). An active rule runs on create and on edit; a record it matches
fails with ``DUPLICATES_DETECTED`` "Use one of these records?", unless the request allows saving
duplicates (``Sforce-Duplicate-Rule-Header: allowSave=true``, which bypasses alert rules). The e-mails
of Leads and Contacts are indexed whether a rule is on or not, so switching one on needs no scan.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sfcrm_sandbox.models.keys import key_value
from sfcrm_sandbox.models.values import error

if TYPE_CHECKING:
    from sfcrm_sandbox.models.store import OrgStore
    from sfcrm_sandbox.models.write_plan import Plan

DUPLICATES_MESSAGE = "Use one of these records?"


@dataclass(frozen=True)
class DuplicateRule:
    """An alert duplicate rule and the matching rule it uses.

    :param sobject: the object it guards.
    :param field: the field records match on (exactly, without regard to case).
    :param name: the duplicate rule's developer name.
    :param matching_rule: the matching rule's developer name.
    """

    sobject: str
    field: str
    name: str
    matching_rule: str


#: The rules the sandbox org has (inactive until switched on), by object.
RULES: dict[str, DuplicateRule] = {
    rule.sobject: rule
    for rule in (
        DuplicateRule(
            "Lead", "Email", "Sandbox_Lead_Email_Duplicate_Rule", "Sandbox_Lead_Email_Matching_Rule"
        ),
        DuplicateRule(
            "Contact", "Email", "Sandbox_Contact_Email_Duplicate_Rule", "Sandbox_Contact_Email_Matching_Rule"
        ),
    )
}
#: The fields the write path indexes for the rules, by object.
MATCH_FIELDS: dict[str, tuple[str, ...]] = {rule.sobject: (rule.field,) for rule in RULES.values()}


class UnknownRule(ValueError):
    """A rule the sandbox does not have (``Object:Field``)."""


def rule_of(text: str) -> DuplicateRule:
    """The rule ``Lead:Email`` / ``Contact:Email`` (or just ``Lead``) names; raises :class:`UnknownRule`."""
    sobject, _, field = text.partition(":")
    rule = next((r for r in RULES.values() if r.sobject.lower() == sobject.strip().lower()), None)
    if rule is None or (field.strip() and field.strip().lower() != rule.field.lower()):
        known = ", ".join(f"{r.sobject}:{r.field}" for r in RULES.values())
        raise UnknownRule(f"no duplicate rule {text!r}: the sandbox has {known}")
    return rule


class DuplicateRules:
    """Which of :data:`RULES` are active, and what they say about the records of a write.

    :param active: the objects whose rule starts active.
    """

    def __init__(self, active: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._active = {rule_of(name).sobject for name in active}

    def set_active(self, sobject: str, active: bool) -> None:
        rule = rule_of(sobject)
        with self._lock:
            (self._active.add if active else self._active.discard)(rule.sobject)

    def active(self, sobject: str) -> DuplicateRule | None:
        return RULES[sobject] if sobject in self._active else None

    def state(self) -> list[dict[str, Any]]:
        """Every rule and whether it is active (``GET /__sandbox/duplicate-rules``)."""
        return [
            {
                "object": rule.sobject,
                "field": rule.field,
                "name": rule.name,
                "matchingRule": rule.matching_rule,
                "active": rule.sobject in self._active,
            }
            for rule in RULES.values()
        ]

    def check(self, store: OrgStore, plans: list[Plan]) -> None:
        """Fail the planned records an active rule matches to a saved record."""
        by_object: dict[str, list[Plan]] = {}
        for plan in plans:
            if plan.ok and plan.sobject and self.active(plan.sobject):
                by_object.setdefault(plan.sobject, []).append(plan)
        for sobject, group in by_object.items():
            rule = RULES[sobject]
            keys = {}
            for plan in group:
                value = {**(plan.existing or {}), **plan.values}.get(rule.field)
                if value is not None:
                    keys[id(plan)] = key_value(value)
            found = store.find_keys(sobject, rule.field.lower(), list(keys.values()))
            for plan in group:
                matches = [i for i in found.get(keys.get(id(plan), ""), []) if i != plan.record_id]
                if matches:
                    plan.fail(duplicates_detected(rule, matches))


def duplicates_detected(rule: DuplicateRule, matches: list[str]) -> dict[str, Any]:
    """The per-record error, with the ``duplicateResult`` the single-record REST answer adds (the
    shape of the SOAP API's DuplicateResult; the records' urls are the response's to add)."""
    err = error("DUPLICATES_DETECTED", DUPLICATES_MESSAGE)
    err["duplicateResult"] = {
        "allowSave": True,  # an alert rule: the duplicate header may save it anyway
        "duplicateRule": rule.name,
        "duplicateRuleEntityType": rule.sobject,
        "errorMessage": DUPLICATES_MESSAGE,
        "matchResults": [
            {
                "entityType": rule.sobject,
                "errors": [],
                "matchEngine": "ExactMatchEngine",
                "matchRecords": [
                    {
                        "additionalInformation": [],
                        "fieldDiffs": [],
                        "matchConfidence": 100.0,
                        "record": {"attributes": {"type": rule.sobject}, "Id": record_id},
                    }
                    for record_id in matches
                ],
                "rule": rule.matching_rule,
                "size": len(matches),
                "success": True,
            }
        ],
    }
    return err


def public_error(err: dict[str, Any]) -> dict[str, Any]:
    """A per-record error as sObject Collections and the Bulk APIs report it (no duplicate details)."""
    return {key: value for key, value in err.items() if key != "duplicateResult"}
