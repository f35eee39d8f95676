"""Cross-check: the provider's pre-flight validation and sfcrm-sandbox judge the same values alike.

The sandbox is the oracle every integration test trusts, so it must not share its rules with the
client it judges: its rules are written separately, from Salesforce's documentation
(``sfcrm-sandbox/docs/salesforce-facts.md``). Here a generated corpus of values — the hard cases
included: lower-case and wrong Id suffixes, 15- and 18-character Ids, Ids of other objects, wrong
lengths and characters, odd and non-ASCII e-mail addresses, boundary lengths counted in UTF-16,
padding Salesforce trims, names with ``__``, a trailing ``_`` or a leading digit — goes through
both: the client's row validation (``activation.row_validation``, ``activation.ids``,
``activation.field_check``) and the sandbox's own write path (its ``Writer`` and Tooling handler,
in process). Any value they judge differently fails the test, with both verdicts side by side.

Only this test tree may import both distributions.
"""

from __future__ import annotations

import random
import string
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sfcrm_sandbox.models.custom_fields import custom_field_spec
from sfcrm_sandbox.models.ids import KEY_PREFIXES, case_suffix
from sfcrm_sandbox.models.objects import OBJECTS
from sfcrm_sandbox.models.store import OrgStore
from sfcrm_sandbox.models.values import ValueRejected, coerce
from sfcrm_sandbox.models.writes import Writer
from sfcrm_sandbox.responses.call import Call
from sfcrm_sandbox.responses.describe import field_describe, object_describe
from sfcrm_sandbox.responses.tooling import ToolingResponses

from airflow_provider_sfcrm.activation.field_check import field_api_name
from airflow_provider_sfcrm.activation.ids import is_well_formed
from airflow_provider_sfcrm.activation.mapping import (
    build_mapping,
    build_records,
    check_mapping_against_describe,
    required_on_create,
)
from airflow_provider_sfcrm.activation.names import validate_api_name
from airflow_provider_sfcrm.activation.row_validation import (
    rules_from_describe,
    validate_chunk,
    well_formed_ids,
)

VERSION = "62.0"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

Verdict = tuple[str, str, tuple[str, ...]] | None  # (status code, message, fields), or None: accepted


# --- the two sides ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> OrgStore:
    """A sandbox org in process: its store, driven through its own writer and handlers."""
    store = OrgStore(Path(tmp_path_factory.mktemp("cross-check")) / "org.sqlite3", "cross.check@example.com")
    yield store
    store.close()


def sandbox_describe(store: OrgStore, sobject: str) -> dict[str, Any]:
    """The describe the sandbox answers for ``sobject`` (what the client builds its rules from)."""
    fields = [
        field_describe(spec, readable_only=not edit) for spec, edit in store.visible_fields(sobject).values()
    ]
    return object_describe(OBJECTS[sobject], VERSION, fields)


def sandbox_verdicts(
    store: OrgStore, records: list[dict[str, Any]], mode: str, field: str, *, json_body: bool = True
) -> list[Verdict]:
    """Write ``records`` with the sandbox's writer (all-or-none, so nothing is kept); return its
    error on ``field`` for each record (None when the record passed that field).

    :param json_body: ``False`` judges each record on its own, as the Bulk APIs do (REST refuses
        a value of the wrong kind for the whole request, which has no per-record verdict).
    """
    verdicts: list[Verdict] = []
    writer = Writer(store)
    for start in range(0, len(records), 200):
        results, _ = writer.save(
            records[start : start + 200], mode=mode, all_or_none=True, json_body=json_body
        )
        for result in results:
            error = next((e for e in result["errors"] if field in e["fields"]), None)
            verdicts.append(
                (error["statusCode"], error["message"], tuple(error["fields"])) if error else None
            )
    return verdicts


def client_verdicts(
    store: OrgStore,
    sobject: str,
    operation: str,
    field_mapping: dict[str, str],
    rows: dict[str, list],
    field: str,
) -> list[Verdict]:
    """The provider's row validation of ``rows`` (built from the sandbox's describe); its first
    error on ``field`` for each row."""
    describe = sandbox_describe(store, sobject)
    mapping = build_mapping(sobject=sobject, operation=operation, field_mapping=field_mapping)
    errors = validate_chunk(
        pa.table({column: pa.array(values, pa.string()) for column, values in rows.items()}),
        rules_from_describe(mapping, describe),
    )
    verdicts: list[Verdict] = []
    for position in range(len(next(iter(rows.values())))):
        error = next((e for e in errors.get(position, []) if field in e.fields), None)
        verdicts.append((error.status_code, error.message, tuple(error.fields)) if error else None)
    return verdicts


def _comparable(verdict: Any) -> Any:
    """How much of a long value a message echoes is presentation, not a rule: messages are compared
    with the echoed value cut to its first 255 characters (the client marks the cut with "...")."""
    if not isinstance(verdict, tuple):
        return verdict
    code, message, fields = verdict
    head, found, tail = message.partition(": data value too large: ")
    if found:
        echoed, _, limit = tail.rpartition(" (max length=")
        message = f"{head}{found}{echoed.removesuffix('...')[:255]} (max length={limit}"
    return code, message, fields


def assert_agree(values: Iterable[Any], client: list[Any], sandbox: list[Any], what: str) -> None:
    disagreements = [
        f"  {value!r}:\n    client:  {mine}\n    sandbox: {theirs}"
        for value, mine, theirs in zip(values, client, sandbox, strict=True)
        if _comparable(mine) != _comparable(theirs)
    ]
    assert not disagreements, f"{len(disagreements)} {what} judged differently:\n" + "\n".join(disagreements)


# --- corpora ------------------------------------------------------------------------------------


def _random_id15(draw: random.Random, prefix: str) -> str:
    return prefix + "".join(draw.choice(_BASE62) for _ in range(15 - len(prefix)))


def id_corpus() -> list[str]:
    """Ids of Contacts and of other objects, in every form, and near misses of every kind."""
    draw = random.Random(11)
    values: list[str] = ["003ak00000luKU1", "003ak00000luKU1AAM", "001RM000003oLnn", "00Di0000000icUBEAY"]
    for prefix in [*KEY_PREFIXES.values(), "a0D", "00q", "00O", "000"]:
        for _ in range(6):
            id15 = _random_id15(draw, prefix)
            suffix = case_suffix(id15)
            values += [id15, id15 + suffix, id15 + suffix.lower(), id15 + suffix[0].lower() + suffix[1:]]
            values += [id15.upper() + suffix, id15.lower() + suffix, id15.swapcase() + suffix]
            wrong = list(suffix)
            position = draw.randrange(3)
            wrong[position] = draw.choice(
                [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345" if c != suffix[position]]
            )
            values.append(id15 + "".join(wrong))
            values += [id15 + suffix[:1], id15 + suffix[:2], id15 + suffix + "A", id15[:14], id15[:-1] + "é"]
            values += [id15 + "999", id15 + "ZZ9", id15[:7] + "-" + id15[8:], id15[:7] + "_" + id15[8:]]
    values += ["", "003", "003ak00000luKU1 ", " 003ak00000luKU1", "003ak00000luKU1\n", "003ak00000luKU１"]
    values += [
        "003ak00000luKU1AAM ",
        "003ak00000luKU1AA M",
        "003ak00000luKU1AAM\t",
        "null",
        "0" * 15,
        "0" * 18,
    ]
    return values


def email_corpus() -> list[str]:
    atext = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~"
    draw = random.Random(12)
    values = [
        "ann@example.com",
        "Ann.Lee+tag@Mail.Example.co.uk",
        "a@b.co",
        "1@2.3",
        "a..b@test.jp",
        "a.@test.jp",
        "a...@test.jp",
        ".a@test.jp",
        "..a@test.jp",
        "a.b.c@test.jp",
        "!#$%&'*+-/=?^_`{|}~@example.com",
        "ann@example",
        "ann@localhost",
        "ann@@example.com",
        "ann@exa@mple.com",
        "@example.com",
        "ann@",
        "ann",
        "",
        " ",
        "ann lee@example.com",
        "ann@exa mple.com",
        "ann@-example.com",
        "ann@example-.com",
        "ann@ex-ample.com",
        "ann@ex--ample.com",
        "ann@exa_mple.com",
        "ann@example..com",
        "ann@.example.com",
        "ann@example.com.",
        "ann@example.c",
        "ann@123.456",
        "ann@[192.168.0.1]",
        '"ann lee"@example.com',
        '"ann"@example.com',
        "ann(comment)@example.com",
        "ann@example.com(comment)",
        "anné@example.com",
        "ann@exämple.com",
        "ann@xn--exmple-cua.com",
        "用户@例子.广告",
        "ann😀@example.com",
        "ann＠example.com",
        "ann@example。com",
        " ann@example.com",
        "ann@example.com ",
        "\tann@example.com\n",
        "\u00a0ann@example.com",
        "ann@example.com\u00a0",
        "ann@example.com\u2003",
        "\x01ann@example.com",
        "ann@exam\x00ple.com",
        "ANN@EXAMPLE.COM",
        "a" * 64 + "@example.com",
        "a" * 65 + "@example.com",
        "a@" + "b" * 63 + ".com",
        "a@" + "b" * 64 + ".com",
        "x" * 68 + "@example.com",  # 80 characters: the field's length
        "x" * 69 + "@example.com",  # 81
        "  " + "x" * 68 + "@example.com  ",  # 84 before trimming, 80 after
    ]
    for _ in range(300):
        local = "".join(draw.choice(atext + "..") for _ in range(draw.randint(1, 12)))
        labels = [
            "".join(
                draw.choice(string.ascii_lowercase + string.digits + "--_") for _ in range(draw.randint(1, 8))
            )
            for _ in range(draw.randint(1, 3))
        ]
        values.append(f"{local}@{'.'.join(labels)}")
    return values


def text_corpus(length: int) -> list[str]:
    """Values around ``length`` in ASCII, BMP and astral characters, with and without padding."""
    values = []
    for size in (length - 2, length - 1, length, length + 1):
        values += ["x" * size, "é" * size, "中" * size]
        values += ["x" * (size - 2) + "😀", "😀" * (size // 2), "x" * (size - 1) + "e\u0301"]
        values += [" " * 3 + "x" * size + " " * 3, "\t" + "x" * size, "\u00a0" + "x" * size]
        values += ["\u2003" + "x" * (size - 1), "x" * (size - 3) + "👩‍💻"]
    return values + ["", "   ", "x"]


def name_corpus() -> list[str]:
    draw = random.Random(13)
    values = [
        "crm_1_seg",
        "crm_1_seg__c",
        "Seg",
        "seg2",
        "a",
        "A1_b2_C3",
        "x" * 40,
        "y" * 41,
        "1seg",
        "_seg",
        "seg_",
        "seg__x",
        "seg___c",
        "seg__c__c",
        "__c",
        "",
        "seg x",
        " seg",
        "seg-x",
        "seg.x",
        "ségment",
        "seg😀",
        "SEG_UPPER",
        "z9__C",
        "w" * 40 + "__c",
        "v" * 41 + "__c",
    ]
    for _ in range(200):
        size = draw.choice([1, 2, 5, 12, 39, 40, 41])
        values.append("".join(draw.choice(string.ascii_letters + string.digits + "___") for _ in range(size)))
    unique: dict[str, str] = {}
    for value in values:  # field names are unique without regard to case
        unique.setdefault(value.lower().removesuffix("__c"), value)
    return list(unique.values())


# --- the checks ---------------------------------------------------------------------------------


def test_ids_of_contacts(org: OrgStore):
    values = id_corpus()
    client = client_verdicts(
        org,
        "Contact",
        "update",
        {"sfid": "Id", "last": "LastName"},
        {"sfid": values, "last": ["x"] * len(values)},
        "Id",
    )
    # In the sandbox, a well-formed Id of a Contact that does not exist fails later, with
    # INVALID_CROSS_REFERENCE_KEY: only the Id's form is compared.
    sandbox = [
        verdict if verdict and verdict[0] == "MALFORMED_ID" else None
        for verdict in sandbox_verdicts(
            org,
            [{"attributes": {"type": "Contact"}, "Id": v, "LastName": "x"} for v in values],
            "update",
            "Id",
        )
    ]
    # An empty identity is the client's own MISSING_IDENTITY (it never sends such a row).
    kept = [i for i, value in enumerate(values) if value.strip()]
    assert_agree([values[i] for i in kept], [client[i] for i in kept], [sandbox[i] for i in kept], "Ids")


def test_id_checks_agree_scalar_and_vectorised(org: OrgStore):
    from sfcrm_sandbox.models.ids import canonical_id

    values = id_corpus()
    vectorised = well_formed_ids(pa.array(values, pa.string()))
    assert_agree(
        values,
        [bool(is_well_formed(v)) and bool(vectorised[i]) for i, v in enumerate(values)],
        [canonical_id(v) is not None for v in values],
        "Ids (well formed or not)",
    )


def insert_verdicts(
    store: OrgStore, sobject: str, field: str, values: list[str], *, json_body: bool = True
) -> tuple[list[Verdict], list[Verdict]]:
    """Insert each value into ``sobject.field`` (other required fields filled in) on both sides:
    the client's verdicts and the sandbox's."""
    others = {"LastName": "x", **({"Company": "Acme"} if sobject == "Lead" else {})}
    others.pop(field, None)
    client = client_verdicts(
        store,
        sobject,
        "insert",
        {"value": field, **{name.lower(): name for name in others}},
        {"value": values, **{name.lower(): [v] * len(values) for name, v in others.items()}},
        field,
    )
    records = [{"attributes": {"type": sobject}, field: v, **others} for v in values]
    return client, sandbox_verdicts(store, records, "insert", field, json_body=json_body)


def assert_inserts_agree(store: OrgStore, sobject: str, field: str, values: list[str], what: str) -> None:
    assert_agree(values, *insert_verdicts(store, sobject, field, values), what)


@pytest.mark.parametrize("sobject", ["Contact", "Lead"])
def test_email_addresses(org: OrgStore, sobject: str):
    assert_inserts_agree(org, sobject, "Email", email_corpus(), "e-mail addresses")


@pytest.mark.parametrize(
    ("sobject", "field"),
    [
        ("Contact", "LastName"),
        ("Contact", "FirstName"),
        ("Contact", "Title"),
        ("Lead", "Company"),
        ("Lead", "Phone"),
    ],
)
def test_lengths_and_required_values(org: OrgStore, sobject: str, field: str):
    length = next(f for f in OBJECTS[sobject].fields if f.name == field).length
    assert_inserts_agree(org, sobject, field, text_corpus(length), f"{sobject}.{field} values")


def test_custom_field_names(org: OrgStore):
    tooling = ToolingResponses(org)
    metadata = {"type": "LongTextArea", "length": 32768, "visibleLines": 6}
    client, sandbox = [], []
    names = name_corpus()
    for name in names:
        try:
            field_api_name(name)
            client.append("accepted")
        except ValueError:
            client.append("refused")
        full_name = name if name.lower().endswith("__c") else name + "__c"
        reply = tooling.create_field(
            Call("POST", version=VERSION, body={"FullName": f"Lead.{full_name}", "Metadata": metadata})
        )
        assert reply.status in (201, 400), reply.body
        sandbox.append("accepted" if reply.status == 201 else "refused")
    assert_agree(names, client, sandbox, "custom field names")


def test_every_name_the_sandbox_has_passes_the_client(org: OrgStore):
    """The client's URL/SOQL name check is a safety filter, wider than Salesforce's naming rules: it
    must let through every name an org can have (standard objects and fields, created custom fields)."""
    names = [*OBJECTS, *(spec.name for sobject in OBJECTS for spec in org.all_fields(sobject))]
    refused = []
    for name in names:
        try:
            validate_api_name(name)
        except ValueError:
            refused.append(name)
    assert not refused


@pytest.mark.parametrize("sobject", ["Contact", "Lead", "Account", "Campaign"])
def test_describe_tells_the_client_what_the_sandbox_enforces(org: OrgStore, sobject: str):
    """What the client reads from describe — required fields and maximum lengths — is what the
    sandbox enforces on writes."""
    describe = sandbox_describe(org, sobject)
    assert required_on_create(describe) == [spec.name for spec in OBJECTS[sobject].required_fields]
    text_fields = {spec.name for spec in OBJECTS[sobject].fields if spec.is_text and spec.length}
    mapping = build_mapping(
        sobject=sobject,
        operation="insert",
        field_mapping={f"c_{f['name']}": f["name"] for f in describe["fields"] if f["createable"]},
    )
    limited = {mapping.attributes[column] for column in rules_from_describe(mapping, describe).max_lengths}
    assert limited == {
        name for name in text_fields if next(f for f in describe["fields"] if f["name"] == name)["createable"]
    }


# --- typed values: where the client already checks a value's kind ------------------------------


def _picklist(kind: str, restricted: bool, values: dict[str, bool], **more: Any) -> dict[str, Any]:
    """Picklist metadata: ``values`` maps each value to whether it is active."""
    return {
        "type": kind,
        "label": kind,
        "valueSet": {
            "restricted": restricted,
            "valueSetDefinition": {
                "value": [{"fullName": v, "isActive": active} for v, active in values.items()]
            },
        },
        **more,
    }


TYPED_FIELDS = {
    "Score__c": {"type": "Number", "precision": 18, "scale": 4, "label": "Score"},
    "Opted__c": {"type": "Checkbox", "label": "Opted"},
    "Since__c": {"type": "Date", "label": "Since"},
    "Seen__c": {"type": "DateTime", "label": "Seen"},
    "Amount__c": {"type": "Currency", "precision": 8, "scale": 2, "label": "Amount"},
    "Share__c": {"type": "Percent", "precision": 5, "scale": 2, "label": "Share"},
    "Count__c": {"type": "Number", "precision": 6, "scale": 0, "label": "Count"},
    "Tier__c": _picklist("Picklist", True, {"Gold": True, "Silver": True, "Bronze": False}),
    "Mood__c": _picklist("Picklist", False, {"Happy": True, "Sad": False}),
    "Topics__c": _picklist(
        "MultiselectPicklist", True, {"News": True, "Sports": True, "Old": False}, visibleLines=4
    ),
    "Tags__c": _picklist("MultiselectPicklist", False, {f"t{i}": True for i in range(3)}, visibleLines=4),
    "Home__c": {"type": "Url", "label": "Home"},
    "Mobile__c": {"type": "Phone", "label": "Mobile"},
    "Work_Email__c": {"type": "Email", "label": "Work Email"},
    "Code__c": {"type": "Text", "length": 10, "label": "Code"},
}
NUMBERS = ["12", " 12 ", "\t12\n", "+5", "-5", ".5", "5.", "1e5", "1E-2", "-0", "007", "12.50", "1_000"]
NUMBERS += ["١٢", "１２", "abc", "", "  ", "inf", "-Infinity", "NaN", "0x10", "1,5", "12.5.1", "--1", "1e"]
NUMBERS += ["e5", "12 34", "$10.00"]
WHOLE_NUMBERS = ["12", "12.0", "12.00", "-3", "1e3", "12.5", " 7 ", "+8", "x", ""]
BOOLEANS = ["true", "false", "TRUE", "False", " true ", "yes", "no", "1", "0", "t", "truee", "", " "]
DATES = ["2024-01-31", " 2024-01-31 ", "2024-02-29", "2023-02-29", "2024-02-30", "2024-1-5", "31/01/2024"]
DATES += ["2024-01-31T10:00:00Z", "2024-01-31T10:00", "20240131", "", "2024-01-31garbage", "9999-12-31"]
DATE_TIMES = ["2024-01-31T10:00:00Z", "2024-01-31T10:00:00.123+01:00", "2024-01-31T10:00:00+0100"]
DATE_TIMES += ["2024-01-31T10:00", "2024-01-31", " 2024-01-31T10:00:00Z ", "2024-01-31T10:00:00.123456789Z"]
DATE_TIMES += ["yesterday", "", "2024-01-31T10:00:00 UTC", "2024/01/31T10:00:00Z", "10:00:00"]


@pytest.fixture(scope="module")
def typed_org(org: OrgStore) -> OrgStore:
    """The module's org with the typed custom fields on Contact, readable and editable."""
    writer = Writer(org)
    for name, metadata in TYPED_FIELDS.items():
        org.add_custom_field("Contact", custom_field_spec(name, metadata))
        results, _ = writer.save(
            [
                {
                    "attributes": {"type": "FieldPermissions"},
                    "ParentId": org.permission_set_id,
                    "SobjectType": "Contact",
                    "Field": f"Contact.{name}",
                    "PermissionsRead": True,
                    "PermissionsEdit": True,
                }
            ],
            mode="insert",
        )
        assert results[0]["success"], results
    return org


def assert_kinds_agree(store: OrgStore, sobject: str, field: str, values: list[str]) -> None:
    """The client's kind check of each value against the sandbox's, record by record (Bulk's view);
    only that rule is compared: a value's range, say, the client leaves to Salesforce."""
    client, sandbox = insert_verdicts(store, sobject, field, values, json_body=False)
    kinds = [
        verdict if verdict and verdict[0] == "INVALID_TYPE_ON_FIELD_IN_RECORD" else None
        for verdict in sandbox
    ]
    assert_agree(values, client, kinds, f"{sobject}.{field} values")


@pytest.mark.parametrize(
    ("sobject", "field", "values"),
    [
        ("Contact", "Score__c", NUMBERS),
        ("Lead", "NumberOfEmployees", WHOLE_NUMBERS),
        ("Contact", "Opted__c", BOOLEANS),
        ("Contact", "Since__c", DATES),
        ("Contact", "Seen__c", DATE_TIMES),
    ],
)
def test_kinds_of_values(typed_org: OrgStore, sobject: str, field: str, values: list[str]):
    assert_kinds_agree(typed_org, sobject, field, values)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Seen__c", "2024-01-31 10:00:00"),
        ("Seen__c", "2024-13-01T00:00:00Z"),
        ("Seen__c", "2024-01-31T25:00:00Z"),
        ("Seen__c", "2024-01-31T10:00:00+24:00"),
        ("Seen__c", "2024-01-31Z"),
        ("Since__c", "2024-01-31 10:00:00"),
        ("Since__c", "2024-01-31Z"),
    ],
)
def test_date_times_salesforce_cannot_read(typed_org: OrgStore, field: str, value: str):
    """A space before the time, months, days and hours out of range: REST would refuse the whole
    request (JSON_PARSER_ERROR), so the client refuses the row."""
    client, _ = insert_verdicts(typed_org, "Contact", field, [value], json_body=False)
    assert client[0] is not None and client[0][0] == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    assert_kinds_agree(typed_org, "Contact", field, [value])


# --- typed values: every rule of a field's own definition --------------------------------------

RANGES = ["0", "999999.99", "999999.994", "999999.995", "-999999.995", "1000000", "1e6", "1e5"]
RANGES += ["123.456", "0.005", " 42 ", "12345678901234567890", "1e300", "abc", "", "-0.004"]
PICKS = ["Gold", "Silver", " Gold ", "gold", "Bronze", "Platinum", "", "Gold;Silver", "x" * 300]
MOODS = ["Happy", "Sad", "Angry", "happy", "", "y" * 256]
TOPICS = ["News", "News;Sports", " News ; Sports ", "News;News", "Old", "News;Old", "news", ";;", ""]
TOPICS += ["Sports;Unknown;Also", "News;" * 3]
TAGS = ["t0;t1", ";".join(f"t{i}" for i in range(100)), ";".join(f"t{i}" for i in range(101))]
TAGS += [";".join(["t1"] * 150), ";".join("x" * 40 for _ in range(120)), "free text", ""]
TAGS += [";".join(f"{i:02d}" + "x" * 43 for i in range(95))]  # 4,464 characters stored: too long
URLS = ["https://example.com", "not a url at all", "u" * 255, "u" * 256]
PHONES = ["+1 (555) 010-0000", "call me", "9" * 40, "9" * 41]
EMAILS = ["ann@example.com", "ann@", " ann@example.com ", "a" * 69 + "@example.com"]
CODES = ["ABC", "x" * 10, "x" * 11, "  " + "x" * 10 + "  ", "😀" * 5, "😀" * 6]
EVERY_TYPE_VALUES = [
    ("Amount__c", RANGES),
    ("Share__c", RANGES + ["999.99", "999.994", "999.995", "1000"]),
    ("Count__c", RANGES + ["999999.4", "999999.5", "-999999.5"]),
    ("Score__c", NUMBERS),
    ("Tier__c", PICKS),
    ("Mood__c", MOODS),
    ("Topics__c", TOPICS),
    ("Tags__c", TAGS),
    ("Home__c", URLS),
    ("Mobile__c", PHONES),
    ("Work_Email__c", EMAILS),
    ("Code__c", CODES),
    ("Opted__c", BOOLEANS),
    ("Since__c", DATES),
    ("Seen__c", DATE_TIMES),
]


@pytest.mark.parametrize(("field", "values"), EVERY_TYPE_VALUES)
def test_every_rule_of_every_type(typed_org: OrgStore, field: str, values: list[str]):
    """Every verdict on the field — kind, range, picklist values, length, e-mail form — is the
    same on both sides, message included (Bulk's per-record view)."""
    client, sandbox = insert_verdicts(typed_org, "Contact", field, values, json_body=False)
    assert_agree(values, client, sandbox, f"Contact.{field} values")


@pytest.mark.parametrize(("field", "values"), EVERY_TYPE_VALUES)
def test_what_the_client_sends_is_stored_as_the_value_given(
    typed_org: OrgStore, field: str, values: list[str]
):
    """For each value both accept, the typed value the client sends (a number, a boolean, a UTC
    date-time, a cleaned multi-select) is stored exactly as the text given would have been."""
    client, _ = insert_verdicts(typed_org, "Contact", field, values, json_body=False)
    accepted = [v for v, verdict in zip(values, client, strict=True) if verdict is None]
    describe = sandbox_describe(typed_org, "Contact")
    mapping = check_mapping_against_describe(
        build_mapping(
            sobject="Contact", operation="insert", field_mapping={"value": field, "last": "LastName"}
        ),
        describe,
    )
    records = build_records(
        pa.table({"value": pa.array(accepted, pa.string()), "last": ["x"] * len(accepted)}), mapping
    )
    spec = typed_org.visible_fields("Contact")[field.lower()][0]

    def stored(value: Any) -> Any:
        try:
            return coerce(spec, value)
        except ValueRejected as refused:
            return refused.error["statusCode"]

    differences = [
        f"  {given!r}: sent {record.get(field)!r} → {stored(record.get(field))!r}, given → {stored(given)!r}"
        for given, record in zip(accepted, records, strict=True)
        if stored(record.get(field)) != stored(given)
    ]
    assert not differences, f"{len(differences)} values stored differently:\n" + "\n".join(differences)
    if field in ("Seen__c",):
        assert all(record[field].endswith("Z") for record in records if field in record)
