"""Compound address fields read as one object built from their components."""

from __future__ import annotations

from sfcrm_sandbox.models.compound import compound_fields, with_compound_values
from sfcrm_sandbox.models.objects import OBJECTS

VISIBLE = {f.name.lower(): (f, True) for f in OBJECTS["Contact"].fields}


def test_only_selected_compound_fields_are_built():
    assert compound_fields(VISIBLE, ["Id", "LastName"]) == {}
    found = compound_fields(VISIBLE, ["Id", "mailingaddress"])
    assert list(found) == ["MailingAddress"]
    assert found["MailingAddress"]["MailingPostalCode"] == "postalCode"


def test_an_address_is_an_object_of_its_components_or_null():
    rows = [
        {"MailingStreet": "1 Main St", "MailingCity": "Paris", "MailingLatitude": 48.85},
        {"MailingStreet": None},
    ]
    built = list(with_compound_values(rows, compound_fields(VISIBLE, ["MailingAddress"])))
    assert built[0]["MailingAddress"] == {
        "street": "1 Main St",
        "city": "Paris",
        "state": None,
        "postalCode": None,
        "country": None,
        "latitude": 48.85,
        "longitude": None,
        "geocodeAccuracy": None,
    }
    assert built[1]["MailingAddress"] is None
