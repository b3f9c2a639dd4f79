"""Each function's entry point, fed the sample events in events/, with real adapters under moto.

moto does not implement End User Messaging, so texts go to an in-memory fake sender; DynamoDB,
EventBridge and Powertools idempotency are moto's.
"""

from __future__ import annotations

import importlib.util
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from sms_consent import container
from sms_consent.domain.clock import ManualClock
from sms_consent.domain.model import (
    Cause,
    Company,
    Consent,
    ConsentStatus,
    Contact,
    Party,
    Property,
    ScheduledSend,
    SmsTask,
)

from tests.fakes import FakeSmsSender

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
COMPANY = "acme-realty"
CONTACT_ID = "3f6c0e0b9d2a4f59a1c1d2e3f4a5b6c7"
PROPERTY_ID = "9a8b7c6d5e4f40312233445566778899"
TASK_ID = "1a2b3c4d5e6f47788990aabbccddeeff"
PHONE = "+12015550101"
OUR_NUMBER = "+12015550100"
NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New Jersey


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def handler(function: str):
    spec = importlib.util.spec_from_file_location(
        f"function_{function}", ROOT / "functions" / function / "app.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lambda_handler


def lambda_context(function: str = "test") -> SimpleNamespace:
    return SimpleNamespace(
        function_name=function,
        memory_limit_in_mb=512,
        invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{function}",
        aws_request_id=str(uuid.uuid4()),
        get_remaining_time_in_millis=lambda: 15000,
    )


@pytest.fixture
def world(tables, monkeypatch):
    bus = "sms-consent-test"
    boto3.client("events", region_name="us-east-1").create_event_bus(Name=bus)
    for name, value in {
        "EVENT_BUS_NAME": bus,
        "ORIGINATION_NUMBER": OUR_NUMBER,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "SmsConsentTest",
        "POWERTOOLS_SERVICE_NAME": "sms-consent",
    }.items():
        monkeypatch.setenv(name, value)
    sender = FakeSmsSender(OUR_NUMBER)
    clock = ManualClock(NOW)
    container.configure(clock=clock, sender=sender)
    built = container.get_container()
    yield SimpleNamespace(container=built, sender=sender, clock=clock)
    container.reset()


def add_contact(
    world, contact_id: str = CONTACT_ID, phone: str | None = PHONE, sms_enabled: bool = True
) -> None:
    world.container.directory_repository.create_contact(
        Contact(COMPANY, contact_id, "Dana Buyer", phone, sms_enabled, NOW, NOW)
    )


def add_property(world, parties: list[Party], launched: bool = True, manual: list[str] | None = None) -> None:
    world.container.directory_repository.put_company(Company(COMPANY, "Harbor Realty"))
    prop = Property(
        company_id=COMPANY,
        property_id=PROPERTY_ID,
        address="12 Harbor Way",
        parties=parties,
        sms_tasks=[
            SmsTask(TASK_ID, "Closing reminder", "Closing is on Friday.", ["buyer", "seller"], manual or [])
        ],
        created_at=NOW,
        launched_at=NOW if launched else None,
    )
    world.container.directory_repository.save_property(prop, expected_version=None)


def consent_status(world, phone: str = PHONE) -> ConsentStatus:
    found = world.container.consent_repository.get_phone_consents(COMPANY, [phone]).get(phone)
    return found.consent.status if found else ConsentStatus.NOT_REQUESTED


# HTTP API -----------------------------------------------------------------------------------------


def test_api_create_contact_event_returns_201(world):
    response = handler("api")(load_event("api_create_contact.json"), lambda_context())

    assert response["statusCode"] == 201
    assert json.loads(response["body"])["mobile_phone"] == PHONE


def test_api_event_without_company_claim_returns_401(world):
    event = load_event("api_create_contact.json")
    del event["requestContext"]["authorizer"]

    response = handler("api")(event, lambda_context())

    assert response["statusCode"] == 401


def test_request_opt_in_event_sends_one_text(world):
    add_contact(world)

    response = handler("request_opt_in")(load_event("api_request_opt_in.json"), lambda_context())

    assert response["statusCode"] == 202
    assert len(world.sender.texts_to(PHONE)) == 1
    assert consent_status(world) is ConsentStatus.PENDING


def test_request_opt_in_event_twice_returns_429(world):
    add_contact(world)
    opt_in = handler("request_opt_in")
    opt_in(load_event("api_request_opt_in.json"), lambda_context())
    second = load_event("api_request_opt_in.json")
    second["requestContext"]["requestId"] = "another-request"

    response = opt_in(second, lambda_context())

    assert response["statusCode"] == 429
    assert "Retry-After" in response["headers"]
    assert len(world.sender.texts_to(PHONE)) == 1


# EventBridge --------------------------------------------------------------------------------------


def test_tasks_launched_event_requests_opt_in(world):
    add_contact(world)
    add_property(world, [Party(CONTACT_ID, "buyer")])

    handler("launch_tasks")(load_event("eventbridge_tasks_launched.json"), lambda_context())

    assert len(world.sender.texts_to(PHONE)) == 1
    assert consent_status(world) is ConsentStatus.PENDING


def test_tasks_launched_event_delivered_twice_sends_once(world):
    add_contact(world)
    add_property(world, [Party(CONTACT_ID, "buyer")])
    launch = handler("launch_tasks")

    launch(load_event("eventbridge_tasks_launched.json"), lambda_context())
    launch(load_event("eventbridge_tasks_launched.json"), lambda_context())

    assert len(world.sender.texts_to(PHONE)) == 1


def test_tasks_launched_replayed_after_cooldown_sends_nothing(world):
    add_contact(world)
    add_property(world, [Party(CONTACT_ID, "buyer")])
    launch = handler("launch_tasks")
    launch(load_event("eventbridge_tasks_launched.json"), lambda_context())
    world.clock.advance(25 * 3600)

    launch(load_event("eventbridge_tasks_launched.json"), lambda_context())

    assert len(world.sender.texts_to(PHONE)) == 1


def test_tasks_launched_skips_role_without_task(world):
    add_contact(world)
    add_property(world, [Party(CONTACT_ID, "lender")])

    handler("launch_tasks")(load_event("eventbridge_tasks_launched.json"), lambda_context())

    assert world.sender.texts_to(PHONE) == []


def test_malformed_eventbridge_event_is_dropped_without_error(world):
    event = load_event("eventbridge_tasks_launched.json")
    event["detail"] = {"company_id": COMPANY}

    handler("launch_tasks")(event, lambda_context())

    assert world.sender.sent == []


def test_party_added_event_requests_opt_in(world):
    add_contact(world)
    add_property(world, [Party(CONTACT_ID, "buyer")])

    handler("party_added")(load_event("eventbridge_party_added.json"), lambda_context())

    assert len(world.sender.texts_to(PHONE)) == 1


def test_party_added_to_unlaunched_property_sends_nothing(world):
    add_contact(world)
    add_property(world, [Party(CONTACT_ID, "buyer")], launched=False)

    handler("party_added")(load_event("eventbridge_party_added.json"), lambda_context())

    assert world.sender.sent == []


def test_recipient_added_event_requests_opt_in(world):
    add_contact(world)
    add_property(world, [], manual=[CONTACT_ID])

    handler("party_added")(load_event("eventbridge_recipient_added.json"), lambda_context())

    assert len(world.sender.texts_to(PHONE)) == 1


def test_contact_updated_event_requests_opt_in(world):
    add_contact(world)
    add_property(world, [Party(CONTACT_ID, "seller")])

    handler("party_added")(load_event("eventbridge_contact_updated.json"), lambda_context())

    assert len(world.sender.texts_to(PHONE)) == 1


# SNS ----------------------------------------------------------------------------------------------


def pending_consent(world) -> None:
    world.container.directory_repository.put_company(Company(COMPANY, "Harbor Realty"))
    from sms_consent.domain.model import LedgerAction, LedgerEntry
    from sms_consent.domain.ports import ConsentChange

    consent = Consent(
        COMPANY, PHONE, ConsentStatus.PENDING, requested_at=NOW, origination_number=OUR_NUMBER, updated_at=NOW
    )
    entry = LedgerEntry(
        COMPANY,
        PHONE,
        NOW,
        "seed",
        LedgerAction.OPT_IN_REQUESTED,
        ConsentStatus.PENDING,
        Cause.LAUNCH,
        "outbound",
    )
    world.container.consent_repository.apply_changes([ConsentChange(consent, entry)])


def test_inbound_yes_opts_in(world):
    pending_consent(world)

    handler("inbound_sms")(load_event("sns_inbound_sms.json"), lambda_context())

    assert consent_status(world) is ConsentStatus.OPTED_IN
    assert len(world.sender.texts_to(PHONE)) == 1


def test_inbound_redelivered_changes_nothing(world):
    pending_consent(world)
    inbound = handler("inbound_sms")
    inbound(load_event("sns_inbound_sms.json"), lambda_context())

    inbound(load_event("sns_inbound_sms.json"), lambda_context())

    assert len(world.sender.texts_to(PHONE)) == 1
    actions = [entry.action.value for entry in world.container.consent_repository.ledger(COMPANY, PHONE)]
    assert sorted(actions) == ["confirmation_sent", "opt_in_requested", "opted_in"]


def test_inbound_stop_opts_out(world):
    pending_consent(world)
    event = load_event("sns_inbound_sms.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message.update(messageBody="Stop please", messageKeyword="STOP", inboundMessageId="stop-1")
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)

    handler("inbound_sms")(event, lambda_context())

    assert consent_status(world) is ConsentStatus.OPTED_OUT
    assert "START" in world.sender.texts_to(PHONE)[0].body


def test_inbound_unparsable_message_is_dropped(world):
    event = load_event("sns_inbound_sms.json")
    event["Records"][0]["Sns"]["Message"] = "not json"

    handler("inbound_sms")(event, lambda_context())

    assert world.sender.sent == []


# Schedules ----------------------------------------------------------------------------------------


def test_release_scheduled_event_sends_due_request(world):
    add_contact(world)
    world.container.directory_repository.put_company(Company(COMPANY, "Harbor Realty"))
    world.container.consent_repository.put_scheduled(
        ScheduledSend(COMPANY, PHONE, "opt_in_request", NOW, Cause.LAUNCH, [CONTACT_ID], created_at=NOW)
    )

    handler("release_scheduled")(load_event("schedule_release_scheduled.json"), lambda_context())

    assert len(world.sender.texts_to(PHONE)) == 1
    assert world.container.consent_repository.due_scheduled(NOW, 10) == []


def test_sync_opt_outs_event_marks_listed_phone(world):
    pending_consent(world)
    world.sender.opted_out.add(PHONE)

    handler("sync_opt_outs")(load_event("schedule_sync_opt_outs.json"), lambda_context())

    assert consent_status(world) is ConsentStatus.OPTED_OUT


# Log audit ----------------------------------------------------------------------------------------


def test_log_audit_sees_handler_log_lines(world):
    from tests.log_audit import AUDIT

    add_contact(world)
    before = len(AUDIT.lines)

    handler("request_opt_in")(load_event("api_request_opt_in.json"), lambda_context())

    new_lines = AUDIT.lines[before:]
    assert any("Opt-in request sent" in line for line in new_lines)
    assert any("***0101" in line for line in new_lines)


def test_api_form_encoded_body_returns_415(world):
    event = load_event("api_create_contact.json")
    event["headers"]["content-type"] = "application/x-www-form-urlencoded"

    response = handler("api")(event, lambda_context())

    assert response["statusCode"] == 415
    assert "application/json" in json.loads(response["body"])["error"]["message"]


def test_api_json_with_charset_is_accepted(world):
    event = load_event("api_create_contact.json")
    event["headers"]["content-type"] = "application/json; charset=utf-8"

    response = handler("api")(event, lambda_context())

    assert response["statusCode"] == 201


def test_api_deeply_nested_json_returns_400(world):
    event = load_event("api_create_contact.json")
    event["body"] = "[" * 30000 + "]" * 30000

    response = handler("api")(event, lambda_context())

    assert response["statusCode"] == 400


def test_consent_history_csv_neutralizes_formula_replies(world):
    pending_consent(world)
    add_contact(world)
    event = load_event("sns_inbound_sms.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message.update(
        messageBody='=HYPERLINK("http://127.0.0.1/?"&A1,"please stop texting me")',
        inboundMessageId="formula-1",
    )
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    handler("inbound_sms")(event, lambda_context())
    request = load_event("api_create_contact.json")
    request.update(
        routeKey="GET /contacts/{contact_id}/consent-history.csv",
        rawPath=f"/contacts/{CONTACT_ID}/consent-history.csv",
        body=None,
        pathParameters={"contact_id": CONTACT_ID},
    )
    request["requestContext"].update(
        routeKey=request["routeKey"],
        http={**request["requestContext"]["http"], "method": "GET", "path": request["rawPath"]},
    )

    response = handler("api")(request, lambda_context())

    assert response["statusCode"] == 200
    assert "'=HYPERLINK" in response["body"]
    assert "\n=HYPERLINK" not in response["body"]
    assert ",=HYPERLINK" not in response["body"]


def test_inbound_stop_with_lone_surrogate_still_opts_out(world):
    pending_consent(world)
    event = load_event("sns_inbound_sms.json")
    event["Records"][0]["Sns"]["Message"] = (
        '{"originationNumber": "+12015550101", "destinationNumber": "+12015550100", '
        '"messageBody": "STOP \\ud800", "inboundMessageId": "surrogate-1"}'
    )

    handler("inbound_sms")(event, lambda_context())

    assert consent_status(world) is ConsentStatus.OPTED_OUT
