"""An unmodified simple-salesforce drives both Bulk APIs against the sandbox: ``sf.bulk`` (1.0, what
Airflow's official ``SalesforceBulkOperator`` calls) and ``sf.bulk2`` (2.0). Every run leaves the
org as its input describes, checked by SOQL."""

from __future__ import annotations

import csv
import io

import pytest

from tests.integration._clients import create_custom_field, unique

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def key(sf):
    """An external-id field on Contact to upsert on."""
    return create_custom_field(
        sf, "Contact", {"type": "Text", "length": 40, "externalId": True, "label": "Key"}
    )


def contacts_named(sf, name, *fields, deleted=False):
    columns = ", ".join(("Id", "FirstName", *fields))
    soql = f"SELECT {columns} FROM Contact WHERE LastName = '{name}' ORDER BY FirstName"
    return sf.query_all(soql, include_deleted=deleted)["records"]


# --- Bulk API 1.0: sf.bulk ---------------------------------------------------------------------


def test_bulk_insert_in_batches_answers_per_record_results_in_order(sf):
    name = unique("B1")
    data = [{"LastName": name, "FirstName": f"F{i:02d}"} for i in range(25)] + [{"FirstName": "no last name"}]
    results = sf.bulk.Contact.insert(data, batch_size=10)
    assert len(results) == 26 and all(r["success"] and r["created"] for r in results[:25])
    assert results[25]["success"] is False
    assert results[25]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert [r["Id"] for r in contacts_named(sf, name)] == [r["id"] for r in results[:25]]


def test_bulk_update_upsert_delete_and_hard_delete(sf, key):
    name = unique("B1")
    made = sf.bulk.Contact.insert(
        [{"LastName": name, "FirstName": f"F{i}", key: f"{name}-{i}"} for i in range(4)]
    )
    ids = [r["id"] for r in made]
    updated = sf.bulk.Contact.update(
        [{"Id": ids[0], "Title": "Boss"}, {"Id": "003000000000000AAA", "Title": "x"}]
    )
    assert updated[0]["success"] and not updated[1]["success"]
    upserted = sf.bulk.Contact.upsert(
        [{key: f"{name}-1", "Title": "Upserted"}, {key: f"{name}-9", "LastName": name, "FirstName": "F9"}],
        external_id_field=key,
    )
    assert [(r["success"], r["created"]) for r in upserted] == [(True, False), (True, True)]
    assert sf.bulk.Contact.delete([{"Id": ids[2]}])[0]["success"]
    assert sf.bulk.Contact.hard_delete([{"Id": ids[3]}])[0]["success"]
    rows = {r["FirstName"]: r for r in contacts_named(sf, name, "Title", "IsDeleted", deleted=True)}
    assert sorted(rows) == ["F0", "F1", "F2", "F9"]  # F3 hard-deleted: not even in queryAll
    assert (rows["F0"]["Title"], rows["F1"]["Title"], rows["F2"]["IsDeleted"]) == ("Boss", "Upserted", True)


def test_bulk_serial_mode_and_detailed_results(sf):
    name = unique("B1")
    results = sf.bulk.Contact.insert(
        [{"LastName": name, "FirstName": f"F{i}"} for i in range(5)],
        batch_size=2,
        use_serial=True,
        include_detailed_results=True,
    )
    assert [r["FirstName"] for r in results] == [f"F{i}" for i in range(5)]
    assert all(r["success"] and r["LastName"] == name for r in results)
    assert len(contacts_named(sf, name)) == 5


def test_bulk_query_and_query_all(sf):
    name = unique("B1")
    made = sf.bulk.Contact.insert([{"LastName": name, "FirstName": f"F{i}"} for i in range(3)])
    sf.bulk.Contact.delete([{"Id": made[0]["id"]}])
    live = sf.bulk.Contact.query(f"SELECT Id, FirstName FROM Contact WHERE LastName = '{name}'")
    everything = sf.bulk.Contact.query_all(f"SELECT Id, FirstName FROM Contact WHERE LastName = '{name}'")
    assert sorted(r["FirstName"] for r in live) == ["F1", "F2"]
    assert sorted(r["FirstName"] for r in everything) == ["F0", "F1", "F2"]
    assert all(r["attributes"]["type"] == "Contact" for r in everything)


# --- Bulk API 2.0: sf.bulk2 --------------------------------------------------------------------


def test_bulk2_insert_update_and_results(sf):
    name = unique("B2")
    (summary,) = sf.bulk2.Contact.insert(
        records=[{"LastName": name, "FirstName": f"F{i}", "Email": f"f{i}@x.io"} for i in range(5)]
        + [{"LastName": name, "FirstName": "Bad", "Email": "nope"}],
        wait=0,
    )
    assert (
        summary["numberRecordsProcessed"],
        summary["numberRecordsFailed"],
        summary["numberRecordsTotal"],
    ) == (6, 1, 6)
    job_id = summary["job_id"]
    success = list(csv.DictReader(io.StringIO(sf.bulk2.Contact.get_successful_records(job_id))))
    failed = list(csv.DictReader(io.StringIO(sf.bulk2.Contact.get_failed_records(job_id))))
    assert len(success) == 5 and all(row["sf__Created"] == "true" for row in success)
    assert failed[0]["sf__Error"].startswith("INVALID_EMAIL_ADDRESS:") and failed[0]["FirstName"] == "Bad"
    assert (
        sf.bulk2.Contact.get_unprocessed_records(job_id).strip() != ""
    )  # the header: simple-salesforce asks for unprocessedRecords
    everything = sf.bulk2.Contact.get_all_ingest_records(job_id)
    assert (
        len(everything["successfulRecords"]),
        len(everything["failedRecords"]),
        everything["unprocessedRecords"],
    ) == (5, 1, [])
    (updated,) = sf.bulk2.Contact.update(
        records=[{"Id": row["sf__Id"], "Title": "T"} for row in success[:2]], wait=0
    )
    assert updated["numberRecordsFailed"] == 0
    titles = [r["Title"] for r in contacts_named(sf, name, "Title")]
    assert titles == ["T", "T", None, None, None]


def test_bulk2_upsert_on_an_external_id_and_on_id(sf, key):
    name = unique("B2")
    sf.bulk2.Contact.upsert(
        records=[{key: f"{name}-a", "LastName": name, "FirstName": "A"}], external_id_field=key, wait=0
    )
    (again,) = sf.bulk2.Contact.upsert(
        records=[
            {key: f"{name}-a", "LastName": name, "FirstName": "A2"},
            {key: f"{name}-b", "LastName": name, "FirstName": "B"},
        ],
        external_id_field=key,
        wait=0,
    )
    assert (again["numberRecordsProcessed"], again["numberRecordsFailed"]) == (2, 0)
    rows = contacts_named(sf, name, key)
    assert [(r["FirstName"], r[key]) for r in rows] == [("A2", f"{name}-a"), ("B", f"{name}-b")]
    # simple-salesforce's default upsert key is Id: rows with an Id update, rows without insert.
    (by_id,) = sf.bulk2.Contact.upsert(
        records=[
            {"Id": rows[0]["Id"], "LastName": name, "FirstName": "A3"},
            {"Id": "", "LastName": name, "FirstName": "C"},
        ],
        wait=0,
    )
    assert by_id["numberRecordsFailed"] == 0
    assert [r["FirstName"] for r in contacts_named(sf, name)] == ["A3", "B", "C"]


def test_bulk2_delete_and_hard_delete(sf):
    name = unique("B2")
    made = sf.bulk.Contact.insert([{"LastName": name, "FirstName": f"F{i}"} for i in range(3)])
    sf.bulk2.Contact.delete(records=[{"Id": made[0]["id"]}], wait=0)
    sf.bulk2.Contact.hard_delete(records=[{"Id": made[1]["id"]}], wait=0)
    rows = contacts_named(sf, name, "IsDeleted", deleted=True)
    assert [(r["FirstName"], r["IsDeleted"]) for r in rows] == [("F0", True), ("F2", False)]


def test_bulk2_csv_files_split_into_several_jobs(sf, tmp_path):
    name = unique("B2")
    path = tmp_path / "contacts.csv"
    path.write_text("LastName,FirstName\n" + "".join(f"{name},F{i:02d}\n" for i in range(30)))
    summaries = sf.bulk2.Contact.insert(csv_file=str(path), batch_size=10, concurrency=3, wait=0)
    assert len(summaries) == 3 and sum(s["numberRecordsProcessed"] for s in summaries) == 30
    assert len({s["job_id"] for s in summaries}) == 3
    assert len(contacts_named(sf, name)) == 30


def test_bulk2_query_pages_and_download(sf, tmp_path):
    name = unique("B2")
    sf.bulk2.Contact.insert(records=[{"LastName": name, "FirstName": f"F{i:02d}"} for i in range(25)], wait=0)
    pages = list(
        sf.bulk2.Contact.query(
            f"SELECT FirstName FROM Contact WHERE LastName = '{name}' ORDER BY FirstName",
            max_records=10,
            wait=0,
        )
    )
    assert [len(list(csv.DictReader(io.StringIO(page)))) for page in pages] == [10, 10, 5]
    assert list(csv.DictReader(io.StringIO(pages[2])))[-1]["FirstName"] == "F24"
    downloaded = sf.bulk2.Contact.download(
        f"SELECT Id FROM Contact WHERE LastName = '{name}'", str(tmp_path), max_records=20, wait=0
    )
    assert [d["number_of_records"] for d in downloaded] == [20, 5]
    all_pages = list(sf.bulk2.Contact.query_all(f"SELECT Id FROM Contact WHERE LastName = '{name}'", wait=0))
    assert sum(len(list(csv.DictReader(io.StringIO(page)))) for page in all_pages) == 25
