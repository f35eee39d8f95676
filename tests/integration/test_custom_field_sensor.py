"""SalesforceCustomFieldSensor and SalesforceCustomFieldTrigger against the HTTPS sandbox."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from airflow.sdk.exceptions import AirflowSensorTimeout, TaskDeferred

from airflow_provider_sfcrm.activation.field_check import FieldStatus, FieldVerdict
from airflow_provider_sfcrm.exceptions import SfCrmFieldValidationError
from airflow_provider_sfcrm.hooks.salesforce_crm import SalesforceCrmHook
from airflow_provider_sfcrm.sensors.custom_fields import SalesforceCustomFieldSensor
from airflow_provider_sfcrm.triggers.custom_fields import SalesforceCustomFieldTrigger
from tests.conftest import create_audience_field, set_connection_env, unique_mapping_id

TRIGGER_PATH = "airflow_provider_sfcrm.triggers.custom_fields.SalesforceCustomFieldTrigger"


@pytest.fixture
def hook(sfcrm_conn: str) -> SalesforceCrmHook:
    return SalesforceCrmHook(sfcrm_conn_id=sfcrm_conn)


def _sensor(mapping_ids, *, deferrable: bool = False, **kwargs) -> SalesforceCustomFieldSensor:
    kwargs.setdefault("poke_interval", 0.2)
    kwargs.setdefault("timeout", 30)
    return SalesforceCustomFieldSensor(
        task_id="wait_for_fields", sobject="Contact", mapping_ids=mapping_ids, deferrable=deferrable, **kwargs
    )


def _events(trigger: SalesforceCustomFieldTrigger) -> list:
    async def collect():
        return [event async for event in trigger.run()]

    return asyncio.run(collect())


def _trigger(mapping_ids, conn_id: str = "sfcrm_default", **kwargs) -> SalesforceCustomFieldTrigger:
    kwargs.setdefault("poke_interval", 0.2)
    kwargs.setdefault("deadline", time.time() + 30)
    return SalesforceCustomFieldTrigger(
        sfcrm_conn_id=conn_id, sobject="Contact", mapping_ids=mapping_ids, **kwargs
    )


# --- acceptance (b): a field waiting cannot fix fails the first poke ---------------------------


@pytest.mark.timeout(120)
def test_acceptance_text_area_255_fails_at_first_poke(sandbox_factory, monkeypatch):
    org = sandbox_factory()  # a fresh org: crm_3_seg must be exactly the field made here
    set_connection_env(monkeypatch, "sfcrm_default", org)
    create_audience_field(SalesforceCrmHook(), "Contact", "crm_3_seg", "textarea")

    for deferrable in (False, True):
        describes_before = org.calls_to("describe")
        # A long poke interval: had the sensor not failed at once, it would sleep past the test's timeout.
        sensor = _sensor(["crm_1_seg", "crm_3_seg"], deferrable=deferrable, poke_interval=600)

        with pytest.raises(SfCrmFieldValidationError) as err:
            sensor.execute(context={})

        assert "crm_3_seg" in str(err.value)
        assert "Text Area (255)" in str(err.value)
        assert err.value.verdicts["crm_3_seg"]["actual_type"] == "Text Area (255)"
        assert org.calls_to("describe") == describes_before + 1  # one poke, one describe


# --- poke semantics ------------------------------------------------------------------------------


def test_poke_waits_while_missing_or_read_only_then_succeeds(hook):
    ready, late, read_only = (unique_mapping_id(p) for p in ("ready", "late", "ro"))
    create_audience_field(hook, "Contact", ready)
    create_audience_field(hook, "Contact", read_only, access="read")
    sensor = _sensor([ready, late, read_only])

    assert sensor.poke(context={}).is_done is False
    create_audience_field(hook, "Contact", late, access=None)  # created, still hidden by FLS
    assert sensor.poke(context={}).is_done is False
    permission_set = hook.get_user_permission_set_id()
    hook.grant_field_access("Contact", f"{late}__c", permission_set)
    assert sensor.poke(context={}).is_done is False  # the read-only one still blocks
    result = _sensor([ready, late]).poke(context={})

    assert result.is_done is True
    assert {v["status"] for v in result.xcom_value.values()} == {"ok"}


def test_non_deferrable_sensor_returns_the_report_once_a_thread_creates_the_field(hook):
    mapping_id = unique_mapping_id("thread")
    timer = threading.Timer(1.0, create_audience_field, args=(SalesforceCrmHook(), "Contact", mapping_id))
    timer.start()
    try:
        report = _sensor([mapping_id]).execute(context={})
    finally:
        timer.join()
    assert report[mapping_id]["status"] == "ok"


def test_non_deferrable_sensor_times_out(hook):
    with pytest.raises(AirflowSensorTimeout):
        _sensor([unique_mapping_id("never")], timeout=0.5).execute(context={})


# --- deferral ------------------------------------------------------------------------------------


def test_deferrable_sensor_returns_at_once_when_all_fields_are_ok(hook, capfd):
    mapping_id = unique_mapping_id("now")
    create_audience_field(hook, "Contact", mapping_id)
    capfd.readouterr()
    report = _sensor([mapping_id], deferrable=True).execute(context={})
    assert report[mapping_id]["status"] == "ok"
    # It says what it found, not only when something is wrong.
    found = f"1 audience field on Contact is usable: {mapping_id}__c (Text Area (Long), 32,768 characters)"
    assert found in capfd.readouterr().out


def test_deferrable_sensor_defers_to_a_serialisable_trigger(hook):
    mapping_id = unique_mapping_id("defer")
    sensor = _sensor(f"{mapping_id}, crm_other_seg", deferrable=True, poke_interval=5, timeout=120)
    started = time.time()

    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(context={})

    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.timeout.total_seconds() >= 120
    classpath, kwargs = deferred.value.trigger.serialize()
    assert classpath == TRIGGER_PATH
    assert set(kwargs) == {"sfcrm_conn_id", "sobject", "mapping_ids", "poke_interval", "deadline"}
    assert kwargs["mapping_ids"] == [mapping_id, "crm_other_seg"]
    assert kwargs["sobject"] == "Contact" and kwargs["poke_interval"] == 5
    assert started + 120 <= kwargs["deadline"] <= time.time() + 120
    json.dumps(kwargs)  # only plain values cross to the triggerer


def test_trigger_serialise_round_trip():
    trigger = _trigger(["crm_1_seg", "crm_2_seg__c"], conn_id="some_conn", poke_interval=7, deadline=123.5)
    classpath, kwargs = trigger.serialize()
    again = SalesforceCustomFieldTrigger(**kwargs)
    assert classpath == TRIGGER_PATH
    assert again.serialize() == (classpath, kwargs)
    assert kwargs == {
        "sfcrm_conn_id": "some_conn",
        "sobject": "Contact",
        "mapping_ids": ["crm_1_seg", "crm_2_seg__c"],
        "poke_interval": 7.0,
        "deadline": 123.5,
    }


# --- the trigger's single event -------------------------------------------------------------------


def test_trigger_fires_success_once_a_thread_creates_and_grants_the_fields(hook):
    first, second = unique_mapping_id("trig"), unique_mapping_id("trig")
    create_audience_field(hook, "Contact", first)

    def create_later() -> None:
        late_hook = SalesforceCrmHook()
        create_audience_field(late_hook, "Contact", second, access=None)
        time.sleep(0.5)
        late_hook.grant_field_access("Contact", f"{second}__c", late_hook.get_user_permission_set_id())

    timer = threading.Timer(1.0, create_later)
    timer.start()
    try:
        events = _events(_trigger([first, second]))
    finally:
        timer.join()

    assert len(events) == 1
    assert events[0].payload["status"] == "success"
    assert {v["status"] for v in events[0].payload["verdicts"].values()} == {"ok"}


@pytest.mark.parametrize(
    ("kind", "actual_type"), [("textarea", "Text Area (255)"), ("html", "Rich Text Area"), ("email", "Email")]
)
def test_trigger_fires_error_for_a_field_waiting_cannot_fix(hook, kind, actual_type):
    mapping_id = unique_mapping_id("bad")
    create_audience_field(hook, "Contact", mapping_id, kind)

    events = _events(_trigger([mapping_id, unique_mapping_id("missing")]))

    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "error"
    assert mapping_id in payload["message"] and actual_type in payload["message"]
    assert payload["verdicts"][mapping_id]["status"] == "wrong_type"


def test_trigger_fires_timeout_naming_what_is_still_missing(sfcrm_conn):
    mapping_id = unique_mapping_id("late")
    events = _events(_trigger([mapping_id], deadline=time.time() + 0.5))
    assert len(events) == 1
    assert events[0].payload["status"] == "timeout"
    assert mapping_id in events[0].payload["message"]
    assert events[0].payload["verdicts"][mapping_id]["status"] == "missing"


def test_trigger_error_on_refused_login_carries_no_secret(sandbox, monkeypatch):
    conn = sandbox.connection_dict()
    conn["password"] = "not-the-password-9731"
    monkeypatch.setenv("AIRFLOW_CONN_SFCRM_BAD", json.dumps(conn))

    events = _events(_trigger(["crm_1_seg"], conn_id="sfcrm_bad"))

    assert len(events) == 1
    payload = events[0].payload
    assert payload["status"] == "error"
    assert payload["message"]
    for secret in ("not-the-password-9731", sandbox.security_token, sandbox.client_secret):
        assert secret not in json.dumps(payload)


# --- resuming --------------------------------------------------------------------------------------


def test_execute_complete_returns_the_report_on_success(capfd):
    verdict = FieldVerdict(
        "crm_1_seg", "crm_1_seg__c", FieldStatus.OK, "usable", actual_type="Text Area (Long)", length=32768
    )
    verdicts = {"crm_1_seg": verdict.to_dict()}
    assert (
        _sensor(["crm_1_seg"]).execute_complete({}, {"status": "success", "verdicts": verdicts}) == verdicts
    )
    assert "1 audience field on Contact is usable: crm_1_seg__c (Text Area (Long)" in capfd.readouterr().out


@pytest.mark.parametrize(
    ("event", "error", "match"),
    [
        (
            {"status": "error", "message": "crm_3_seg is a Text Area (255) field"},
            SfCrmFieldValidationError,
            "crm_3_seg",
        ),
        (
            {"status": "timeout", "message": "timed out waiting for crm_9_seg"},
            AirflowSensorTimeout,
            "crm_9_seg",
        ),
        ({"status": "weird"}, SfCrmFieldValidationError, "weird"),
        (None, SfCrmFieldValidationError, "without an event"),
    ],
)
def test_execute_complete_raises_on_anything_but_success(event, error, match):
    with pytest.raises(error, match=match):
        _sensor(["crm_1_seg"]).execute_complete({}, event)
