"""Delivery over HTTP: redelivered replies, concurrent opt-in triggers, provider opt-outs, dead letters.

Every test runs in its own company, sets the clock to a weekday morning in New York, and texts
numbers of its own (908 555 01xx, New Jersey). Numbers put on the local opt-out list stay there
for the whole session, so no other test may use them.
"""

from __future__ import annotations

import itertools
import threading
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.e2e.company_api import CompanyApi

pytestmark = pytest.mark.e2e

# Monday 7 December 2026, 10:00 in New York.
WEEKDAY_MORNING = "2026-12-07T15:00:00+00:00"
COMPANY_NAME = "Harbor Realty"
CONCURRENT_API_CALLS = 10
CONCURRENT_PARTY_ADDS = 5
CONCURRENT_RECIPIENT_ADDS = 4
THREAD_JOIN_SECONDS = 60
_phone_suffixes = itertools.count(1)


def new_phone() -> str:
    """Return a New Jersey test number that no other test uses (+1 908 555 0101 to 0198)."""
    suffix = next(_phone_suffixes)
    assert suffix < 99, "this module ran out of 908 555 01xx numbers"
    return f"+19085550{100 + suffix}"


@dataclass
class ReliabilityApi(CompanyApi):
    """`CompanyApi` that also reports the dead letters added since the test started."""

    dead_letters_at_start: int = 0

    def new_dead_letters(self) -> list[str]:
        """Return the functions whose events failed every attempt since this test started."""
        self.stack.wait_for_idle()
        return [letter["function"] for letter in dead_letters(self.stack)[self.dead_letters_at_start :]]


def dead_letters(local_stack) -> list[dict[str, Any]]:
    response = requests.get(local_stack.url("/local/dead-letters"), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def api(local_stack, company_id) -> CompanyApi:
    response = local_stack.call("POST", "/local/clock", None, {"now": WEEKDAY_MORNING})
    assert response.status_code == 200, response.text
    local_stack.wait_for_idle()
    # NOTE: each test checks new_dead_letters() itself. A fixture teardown cannot, because the
    # e2e conftest stops the stack before fixture teardowns run after the session's last e2e test.
    company = ReliabilityApi(local_stack, company_id, len(dead_letters(local_stack)))
    company.expect(200, "PUT", "/company", {"name": COMPANY_NAME})
    return company


def pending_contact(api: CompanyApi) -> tuple[str, str]:
    """Create a contact with a new number, send it an opt-in request, and return (contact id, phone)."""
    phone = new_phone()
    contact = api.create_contact("Buyer", phone)
    api.expect(202, "POST", f"/contacts/{contact}/opt-in-requests")
    api.stack.wait_for_idle()
    return contact, phone


# Redelivered replies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "reply_kind"),
    [("YES", "opted_in", "opt_in_confirmation"), ("STOP", "opted_out", "opt_out_confirmation")],
)
def test_same_inbound_message_twice_applied_once(local_stack, api, body, status, reply_kind):
    contact, phone = pending_contact(api)
    inbound = {"from": phone, "body": body, "inbound_message_id": f"inbound-{uuid.uuid4().hex}"}

    for _ in range(2):
        response = local_stack.call("POST", "/local/inbound-sms", None, inbound)
        assert response.status_code == 202, response.text
        local_stack.wait_for_idle()
    replies = [text for text in api.texts() if text["kind"] != "opt_in_request"]
    inbound_entries = [entry for entry in api.history(contact) if entry["direction"] == "inbound"]

    assert api.sms(contact)["status"] == status
    assert [text["kind"] for text in replies] == [reply_kind]
    assert len(inbound_entries) == 1
    assert inbound_entries[0]["message_id"] == inbound["inbound_message_id"]
    assert api.new_dead_letters() == []


def test_same_inbound_message_posted_together_applied_once(local_stack, api):
    contact, phone = pending_contact(api)
    inbound = {"from": phone, "body": "YES", "inbound_message_id": f"inbound-{uuid.uuid4().hex}"}

    responses = [local_stack.call("POST", "/local/inbound-sms", None, inbound) for _ in range(2)]
    local_stack.wait_for_idle()
    replies = [text for text in api.texts() if text["kind"] != "opt_in_request"]

    assert [response.status_code for response in responses] == [202, 202]
    assert api.sms(contact)["status"] == "opted_in"
    assert [text["kind"] for text in replies] == ["opt_in_confirmation"]
    # Both entries carry the same instant, because the local clock does not move between them.
    assert sorted(entry["action"] for entry in api.history(contact)) == [
        "confirmation_sent",
        "opt_in_requested",
        "opted_in",
    ]
    assert api.new_dead_letters() == []


# Concurrent triggers for one phone ------------------------------------------------------------


def test_concurrent_api_and_event_triggers_send_one_text(local_stack, api):
    # NOTE: the local stack runs one function invocation at a time, so the twenty triggers reach
    # the functions one after another in an order the test does not control. This checks what
    # concurrent callers and events see, not a race between conditional writes inside DynamoDB.
    phone = new_phone()
    contact = api.create_contact("Buyer", phone)
    # Not launched yet, with the contact as buyer: launching it requests opt-in from the contact.
    unlaunched, _ = api.create_property({contact: "buyer"}, ["buyer"])
    # Launched without recipients: adding the contact as buyer, or by hand, triggers a request.
    party_targets = []
    for _ in range(CONCURRENT_PARTY_ADDS):
        property_id, _ = api.create_property({}, ["buyer"])
        api.launch(property_id)
        party_targets.append(property_id)
    recipient_targets = []
    for _ in range(CONCURRENT_RECIPIENT_ADDS):
        property_id, task_id = api.create_property({}, ["seller"])
        api.launch(property_id)
        recipient_targets.append((property_id, task_id))
    assert api.texts() == []

    calls: list[tuple[str, str, dict[str, str] | None]] = [
        ("POST", f"/contacts/{contact}/opt-in-requests", None) for _ in range(CONCURRENT_API_CALLS)
    ]
    calls.append(("POST", f"/properties/{unlaunched}/launch", None))
    calls.extend(
        ("POST", f"/properties/{property_id}/parties", {"contact_id": contact, "role": "buyer"})
        for property_id in party_targets
    )
    calls.extend(
        ("POST", f"/properties/{property_id}/sms-tasks/{task_id}/recipients", {"contact_id": contact})
        for property_id, task_id in recipient_targets
    )
    assert len(calls) == 20
    start = threading.Barrier(len(calls))
    results: dict[int, int] = {}
    results_lock = threading.Lock()

    def send(index: int, method: str, path: str, body: dict[str, str] | None) -> None:
        start.wait()
        response = api.call(method, path, body)
        with results_lock:
            results[index] = response.status_code

    threads = [threading.Thread(target=send, args=(index, *call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_JOIN_SECONDS)
    local_stack.wait_for_idle(timeout=60)
    api_statuses = Counter(results[index] for index in range(CONCURRENT_API_CALLS))
    other_statuses = [results[index] for index in range(CONCURRENT_API_CALLS, len(calls))]

    assert len(results) == len(calls)
    assert set(api_statuses) <= {202, 429}
    assert api_statuses[202] <= 1
    assert other_statuses == [202] + [201] * (CONCURRENT_PARTY_ADDS + CONCURRENT_RECIPIENT_ADDS)
    assert [text["destination"] for text in api.texts()] == [phone]
    assert api.sms(contact)["status"] == "pending"
    requests_in_ledger = [entry for entry in api.history(contact) if entry["action"] == "opt_in_requested"]
    assert len(requests_in_ledger) == 1
    assert api.new_dead_letters() == []


# Provider opt-outs at send time ---------------------------------------------------------------


def test_launch_marks_provider_opted_out_phone(local_stack, api):
    listed_phone, buyer_phone, seller_phone = new_phone(), new_phone(), new_phone()
    listed = api.create_contact("Listed", listed_phone)
    buyer = api.create_contact("Buyer", buyer_phone)
    seller = api.create_contact("Seller", seller_phone)
    response = local_stack.call("POST", "/local/opt-out-list", None, {"phone": listed_phone})
    assert response.status_code == 200, response.text
    property_id, _ = api.create_property(
        {listed: "buyer", buyer: "buyer", seller: "seller"}, ["buyer", "seller"]
    )

    api.launch(property_id)
    history = api.history(listed)

    assert api.sms(listed)["status"] == "opted_out"
    assert [(entry["action"], entry["cause"]) for entry in history] == [("opted_out", "provider_report")]
    assert api.sms(buyer)["status"] == "pending"
    assert api.sms(seller)["status"] == "pending"
    assert sorted(text["destination"] for text in api.texts()) == sorted([buyer_phone, seller_phone])
    assert api.new_dead_letters() == []


def test_provider_opted_out_phone_gets_no_retry(local_stack, api):
    listed_phone = new_phone()
    listed = api.create_contact("Listed", listed_phone)
    response = local_stack.call("POST", "/local/opt-out-list", None, {"phone": listed_phone})
    assert response.status_code == 200, response.text

    first = api.call("POST", f"/contacts/{listed}/opt-in-requests")
    second = api.call("POST", f"/contacts/{listed}/opt-in-requests")
    local_stack.wait_for_idle()

    assert first.status_code == 409
    assert second.status_code == 409
    assert api.sms(listed)["status"] == "opted_out"
    assert api.texts() == []
    assert api.new_dead_letters() == []


# Dead letters ---------------------------------------------------------------------------------


def test_parallel_send_clicks_text_each_recipient_once(local_stack, api):
    contact, phone = pending_contact(api)
    response = local_stack.call("POST", "/local/inbound-sms", None, {"from": phone, "body": "YES"})
    assert response.status_code == 202, response.text
    local_stack.wait_for_idle()
    property_id, task_id = api.create_property({contact: "buyer"}, ["buyer"])
    path = f"/properties/{property_id}/sms-tasks/{task_id}/send"
    barrier = threading.Barrier(10)
    statuses: list[int] = []

    def click() -> None:
        barrier.wait()
        statuses.append(api.call("POST", path).status_code)

    threads = [threading.Thread(target=click) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 10
    assert len(api.texts("task_message")) == 1


def test_dead_letters_empty(local_stack):
    local_stack.wait_for_idle()

    assert dead_letters(local_stack) == []


def test_idle_waits_for_events_to_finish(local_stack, api):
    contact = api.create_contact("Buyer", new_phone())
    property_id, _ = api.create_property({contact: "buyer"}, ["buyer"])
    api.expect(202, "POST", f"/properties/{property_id}/launch")

    response = local_stack.call("GET", "/local/idle?wait_seconds=10", None)

    assert response.json() == {"idle": True}
    assert len(api.texts("opt_in_request")) == 1


def test_idle_rejects_wait_over_30_seconds(local_stack):
    response = local_stack.call("GET", "/local/idle?wait_seconds=31", None)

    assert response.status_code == 400


@pytest.mark.parametrize(
    "body",
    [{"advance_seconds": 1e12}, {"now": "0001-01-01T00:00:00+14:00"}, {"now": "9999-12-31T23:59:59Z"}],
)
def test_clock_out_of_range_is_rejected(local_stack, body):
    response = local_stack.call("POST", "/local/clock", None, body)

    assert response.status_code == 400
    assert response.json()["error"]["fields"][0]["field"] in body
