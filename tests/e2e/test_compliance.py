"""Consent rules over HTTP: STOP and its variants, START, HELP, crediting a YES, quiet hours, the ledger.

Every test runs in its own company, or in two where a rule spans companies, and sets the clock it
needs. Each test texts numbers of its own (973 555 01xx in New Jersey, 305 555 01xx in Florida),
so a reply in one test never reaches the consents of another.
"""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from collections import Counter
from typing import Any

import phonenumbers
import pytest
import requests

from tests.e2e.company_api import CompanyApi

pytestmark = pytest.mark.e2e

# Monday 7 December 2026, 10:00 in New York.
WEEKDAY_MORNING = "2026-12-07T15:00:00+00:00"
# The same Monday at 20:30 and 22:30 in New York (UTC-5 in December), then Tuesday 08:00 and 08:05.
NEW_YORK_2030 = "2026-12-08T01:30:00+00:00"
NEW_YORK_2230 = "2026-12-08T03:30:00+00:00"
NEW_YORK_0800 = "2026-12-08T13:00:00+00:00"
NEW_YORK_0805 = "2026-12-08T13:05:00+00:00"
# Tuesday 00:00:30 UTC: a move from WEEKDAY_MORNING to here crosses the daily schedule's boundary.
AFTER_MIDNIGHT_UTC = "2026-12-08T00:00:30+00:00"
COMPANY_NAME = "Harbor Realty"
OTHER_COMPANY_NAME = "Bayside Homes"
_new_jersey_suffixes = itertools.count(1)
_florida_suffixes = itertools.count(1)


def new_phone() -> str:
    """Return a New Jersey test number that no other test uses (+1 973 555 0101 to 0198)."""
    suffix = next(_new_jersey_suffixes)
    assert suffix < 99, "this module ran out of 973 555 01xx numbers"
    return f"+19735550{100 + suffix}"


def new_florida_phone() -> str:
    """Return a valid Miami test number (+1 305 555 0101 to 0198) that no other test uses."""
    suffix = next(_florida_suffixes)
    assert suffix < 99, "this module ran out of 305 555 01xx numbers"
    phone = f"+13055550{100 + suffix}"
    assert phonenumbers.is_valid_number(phonenumbers.parse(phone)), phone
    return phone


@pytest.fixture
def set_clock(local_stack):
    def move(now: str) -> dict[str, Any]:
        response = local_stack.call("POST", "/local/clock", None, {"now": now})
        assert response.status_code == 200, response.text
        local_stack.wait_for_idle()
        return response.json()

    return move


def new_company(local_stack, company_id: str, name: str) -> CompanyApi:
    company = CompanyApi(local_stack, company_id)
    company.expect(200, "PUT", "/company", {"name": name})
    return company


@pytest.fixture
def api(local_stack, company_id, set_clock) -> CompanyApi:
    set_clock(WEEKDAY_MORNING)
    return new_company(local_stack, company_id, COMPANY_NAME)


@pytest.fixture
def other_api(local_stack, company_id) -> CompanyApi:
    return new_company(local_stack, f"{company_id}-other", OTHER_COMPANY_NAME)


def reply(local_stack, phone: str, body: str, **fields: str) -> str:
    """Post an inbound text from ``phone``, wait until it is handled, and return its inbound message id."""
    response = local_stack.call("POST", "/local/inbound-sms", None, {"from": phone, "body": body, **fields})
    assert response.status_code == 202, response.text
    local_stack.wait_for_idle()
    return response.json()["inbound_message_id"]


def texts_to(local_stack, phone: str) -> list[dict[str, Any]]:
    """Return every text to ``phone``, of any company (replies to unknown phones have no company)."""
    entries = requests.get(local_stack.url("/local/outbox"), timeout=30).json()
    return [entry for entry in entries if entry["destination"] == phone]


def pending_contact(api: CompanyApi, name: str = "Buyer") -> tuple[str, str]:
    """Create a contact with a new number, launch a task to it, and return (contact id, phone)."""
    phone = new_phone()
    contact = api.create_contact(name, phone)
    api.launch_for(contact)
    assert api.sms(contact)["status"] == "pending"
    return contact, phone


# STOP and its variants ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", ["STOP", "stop!!", "Stop. Thank you", "please stop texting me", "wrong number"]
)
def test_stop_variant_opts_out_with_one_confirmation(local_stack, api, body):
    contact, phone = pending_contact(api)

    reply(local_stack, phone, body)
    replies = [text for text in texts_to(local_stack, phone) if text["kind"] != "opt_in_request"]

    assert api.sms(contact)["status"] == "opted_out"
    assert [text["kind"] for text in replies] == ["opt_out_confirmation"]
    assert COMPANY_NAME in replies[0]["body"]
    assert "START" in replies[0]["body"]


def test_stop_inside_a_question_changes_nothing(local_stack, api):
    contact, phone = pending_contact(api)
    before = texts_to(local_stack, phone)

    reply(local_stack, phone, "Can we stop by the house Tuesday?")

    assert api.sms(contact)["status"] == "pending"
    assert texts_to(local_stack, phone) == before


def test_opt_out_sticks_everywhere(local_stack, api):
    contact, phone = pending_contact(api)
    first_property, _ = api.create_property({contact: "seller"}, ["seller"])
    reply(local_stack, phone, "STOP")
    texts_after_stop = texts_to(local_stack, phone)

    api.launch(first_property)
    second_launch = api.call("POST", f"/properties/{first_property}/launch")
    recreated = api.create_contact("Buyer, second record", phone)
    api.launch_for(recreated, role="seller")
    request_old = api.call("POST", f"/contacts/{contact}/opt-in-requests")
    request_new = api.call("POST", f"/contacts/{recreated}/opt-in-requests")
    local_stack.wait_for_idle()

    assert [text["kind"] for text in texts_after_stop] == ["opt_in_request", "opt_out_confirmation"]
    assert second_launch.status_code == 409
    assert request_old.status_code == 409
    assert request_old.json()["error"]["code"] == "opted_out"
    assert request_new.status_code == 409
    assert api.sms(recreated)["status"] == "opted_out"
    assert texts_to(local_stack, phone) == texts_after_stop


def test_start_after_stop_opts_in(local_stack, api):
    contact, phone = pending_contact(api)
    reply(local_stack, phone, "STOP")

    reply(local_stack, phone, "START")
    kinds = [text["kind"] for text in texts_to(local_stack, phone)]

    assert api.sms(contact)["status"] == "opted_in"
    assert api.sms(contact)["can_send"] is True
    assert kinds == ["opt_in_request", "opt_out_confirmation", "opt_in_confirmation"]


# HELP and replies without a request -----------------------------------------------------------


def test_help_names_company_and_stop(local_stack, api):
    contact, phone = pending_contact(api)

    reply(local_stack, phone, "HELP")
    replies = [text for text in texts_to(local_stack, phone) if text["kind"] != "opt_in_request"]

    assert [text["kind"] for text in replies] == ["help"]
    assert COMPANY_NAME in replies[0]["body"]
    assert "STOP" in replies[0]["body"]
    assert api.sms(contact)["status"] == "pending"


def test_yes_without_pending_request_gets_help(local_stack, api):
    contact, phone = pending_contact(api)
    reply(local_stack, phone, "YES")
    opted_in_at = api.sms(contact)["opted_in_at"]

    reply(local_stack, phone, "YES")
    last = texts_to(local_stack, phone)[-1]

    assert last["kind"] == "help"
    assert COMPANY_NAME in last["body"]
    assert "STOP" in last["body"]
    assert api.sms(contact)["status"] == "opted_in"
    assert api.sms(contact)["opted_in_at"] == opted_in_at


def test_yes_from_unknown_phone_gets_help(local_stack, api):
    phone = new_phone()
    contact = api.create_contact("Never asked", phone)

    reply(local_stack, phone, "YES")
    texts = texts_to(local_stack, phone)

    assert [text["kind"] for text in texts] == ["help"]
    assert "STOP" in texts[0]["body"]
    assert api.sms(contact)["status"] == "not_requested"


# One phone, two companies ---------------------------------------------------------------------


def test_stop_opts_out_of_every_company(local_stack, api, other_api):
    phone = new_phone()
    ours = api.create_contact("Buyer", phone)
    theirs = other_api.create_contact("Buyer", phone)
    api.launch_for(ours)
    other_api.launch_for(theirs)

    reply(local_stack, phone, "STOP")
    replies = [text for text in texts_to(local_stack, phone) if text["kind"] != "opt_in_request"]

    assert api.sms(ours)["status"] == "opted_out"
    assert other_api.sms(theirs)["status"] == "opted_out"
    assert [text["kind"] for text in replies] == ["opt_out_confirmation"]
    assert COMPANY_NAME in replies[0]["body"]
    assert OTHER_COMPANY_NAME in replies[0]["body"]


def test_yes_credited_to_company_it_answers(local_stack, api, other_api):
    phone = new_phone()
    ours = api.create_contact("Buyer", phone)
    theirs = other_api.create_contact("Buyer", phone)
    api.launch_for(ours)
    other_api.launch_for(theirs)
    our_request = api.texts("opt_in_request")[0]["message_id"]

    # The other company's request is the latest, so only the message id can credit ours.
    reply(local_stack, phone, "YES", previous_published_message_id=our_request)
    confirmation = texts_to(local_stack, phone)[-1]

    assert api.sms(ours)["status"] == "opted_in"
    assert other_api.sms(theirs)["status"] == "pending"
    assert confirmation["kind"] == "opt_in_confirmation"
    assert confirmation["company_id"] == api.company_id
    assert COMPANY_NAME in confirmation["body"]


# Quiet hours ----------------------------------------------------------------------------------


def test_launch_at_night_deferred_until_morning(local_stack, api, set_clock):
    phone = new_phone()
    contact = api.create_contact("Buyer", phone)
    set_clock(NEW_YORK_2230)

    api.launch_for(contact)
    at_night = api.sms(contact)
    texts_at_night = texts_to(local_stack, phone)
    moved = set_clock(NEW_YORK_0805)

    assert texts_at_night == []
    assert at_night["status"] == "not_requested"
    assert at_night["scheduled_for"] == NEW_YORK_0800
    assert "ReleaseScheduledFunction" in moved["ran"]
    assert [text["kind"] for text in texts_to(local_stack, phone)] == ["opt_in_request"]
    assert api.sms(contact)["status"] == "pending"
    assert api.sms(contact)["scheduled_for"] is None


def test_florida_deferred_while_new_jersey_sent(local_stack, api, set_clock):
    florida_phone, jersey_phone = new_florida_phone(), new_phone()
    florida = api.create_contact("Miami buyer", florida_phone)
    jersey = api.create_contact("Hoboken seller", jersey_phone)
    property_id, _ = api.create_property({florida: "buyer", jersey: "seller"}, ["buyer", "seller"])
    set_clock(NEW_YORK_2030)

    api.launch(property_id)
    florida_texts_at_night = texts_to(local_stack, florida_phone)
    florida_at_night = api.sms(florida)
    set_clock(NEW_YORK_0805)

    assert florida_texts_at_night == []
    assert florida_at_night["status"] == "not_requested"
    assert florida_at_night["scheduled_for"] == NEW_YORK_0800
    assert [text["sent_at"] for text in texts_to(local_stack, jersey_phone)] == [NEW_YORK_2030]
    assert [text["sent_at"] for text in texts_to(local_stack, florida_phone)] == [NEW_YORK_0805]
    assert api.sms(jersey)["status"] == "pending"
    assert api.sms(florida)["status"] == "pending"


def test_request_opt_in_click_at_night_sent_once(local_stack, api, set_clock):
    phone = new_phone()
    contact = api.create_contact("Buyer", phone)
    set_clock(NEW_YORK_2230)
    api.launch_for(contact)

    clicked = api.call("POST", f"/contacts/{contact}/opt-in-requests")
    local_stack.wait_for_idle()
    texts_at_night = texts_to(local_stack, phone)
    set_clock(NEW_YORK_0805)

    assert clicked.status_code == 202
    assert clicked.json()["status"] == "sent"
    assert [text["kind"] for text in texts_at_night] == ["opt_in_request"]
    assert texts_to(local_stack, phone) == texts_at_night


@pytest.mark.parametrize(
    ("night_reply", "morning_kinds"),
    [(None, ["task_message"]), ("STOP", [])],
    ids=["sent-in-the-morning", "dropped-after-stop"],
)
def test_task_message_at_night_deferred(local_stack, api, set_clock, night_reply, morning_kinds):
    phone = new_phone()
    contact = api.create_contact("Buyer", phone)
    property_id, task_id = api.create_property({contact: "buyer"}, ["buyer"])
    api.launch(property_id)
    reply(local_stack, phone, "YES")
    set_clock(NEW_YORK_2230)

    sent = api.expect(200, "POST", f"/properties/{property_id}/sms-tasks/{task_id}/send")
    local_stack.wait_for_idle()
    task_texts_at_night = api.texts("task_message")
    if night_reply:
        reply(local_stack, phone, night_reply)
    set_clock(NEW_YORK_0805)

    assert sent["sent"] == 0
    assert sent["recipients"][0]["outcome"] == "scheduled"
    assert sent["recipients"][0]["scheduled_for"] == NEW_YORK_0800
    assert task_texts_at_night == []
    assert [text["kind"] for text in api.texts("task_message")] == morning_kinds


# Consent ledger -------------------------------------------------------------------------------


def test_consent_history_lists_request_and_reply(local_stack, api):
    contact, phone = pending_contact(api)
    request_text = texts_to(local_stack, phone)[0]
    inbound_id = f"inbound-{uuid.uuid4().hex}"
    reply(local_stack, phone, "Yes", inbound_message_id=inbound_id)

    history = api.expect(200, "GET", f"/contacts/{contact}/consent-history")
    entries = {entry["action"]: entry for entry in history["entries"]}

    assert history["phone"] == phone
    assert Counter(entry["action"] for entry in history["entries"]) == Counter(
        {"opt_in_requested": 1, "opted_in": 1, "confirmation_sent": 1}
    )
    requested = entries["opt_in_requested"]
    assert requested["text"] == request_text["body"]
    assert requested["message_id"] == request_text["message_id"]
    assert requested["cause"] == "launch"
    assert requested["direction"] == "outbound"
    assert requested["destination_number"] == phone
    assert requested["status_after"] == "pending"
    answered = entries["opted_in"]
    assert answered["text"] == "Yes"
    assert answered["message_id"] == inbound_id
    assert answered["cause"] == "recipient_reply"
    assert answered["direction"] == "inbound"
    assert answered["origination_number"] == phone
    assert answered["status_after"] == "opted_in"


def test_consent_history_csv_has_header_and_rows(local_stack, api):
    contact, phone = pending_contact(api)
    reply(local_stack, phone, "STOP")

    response = api.call("GET", f"/contacts/{contact}/consent-history.csv")
    rows = list(csv.reader(io.StringIO(response.text)))

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert rows[0][:4] == ["phone", "recorded_at", "action", "status_after"]
    assert "message_id" in rows[0]
    # Both entries carry the same instant, because the local clock does not move between them.
    assert sorted(row[rows[0].index("action")] for row in rows[1:]) == [
        "confirmation_sent",
        "opt_in_requested",
        "opted_out",
    ]
    assert {row[0] for row in rows[1:]} == {phone}


# Provider opt-outs ----------------------------------------------------------------------------


def test_provider_opt_out_list_synced_daily(local_stack, api, set_clock):
    contact, phone = pending_contact(api)
    response = local_stack.call("POST", "/local/opt-out-list", None, {"phone": phone})
    assert response.status_code == 200, response.text

    moved = set_clock(AFTER_MIDNIGHT_UTC)
    history = api.expect(200, "GET", f"/contacts/{contact}/consent-history")["entries"]

    assert "SyncOptOutsFunction" in moved["ran"]
    assert api.sms(contact)["status"] == "opted_out"
    assert history[-1]["action"] == "opted_out"
    assert history[-1]["cause"] == "provider_report"
    assert [text["kind"] for text in texts_to(local_stack, phone)] == ["opt_in_request"]
