"""Launch flow over HTTP through the local stack: opt-in requests, a YES reply, tenancy and cooldown."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from dataclasses import dataclass

import pytest

pytestmark = pytest.mark.e2e

BUYER_PHONE = "+12015550101"
SELLER_PHONE = "+12015550102"
LENDER_PHONE = "+12015550103"


@dataclass(frozen=True)
class LaunchedProperty:
    company_id: str
    property_id: str
    contacts: dict[str, str]


def create_contact(local_stack, company_id: str, name: str, phone: str) -> str:
    response = local_stack.call("POST", "/contacts", company_id, {"name": name, "mobile_phone": phone})
    assert response.status_code == 201, response.text
    return response.json()["contact_id"]


@pytest.fixture(scope="module")
def launched(local_stack) -> LaunchedProperty:
    """A company with buyer, seller and lender, and a launched property texting buyer and seller."""
    company_id = f"e2e-launch-{uuid.uuid4().hex[:8]}"
    response = local_stack.call("PUT", "/company", company_id, {"name": "Harbor Realty"})
    assert response.status_code == 200, response.text
    contacts = {
        "buyer": create_contact(local_stack, company_id, "Buyer", BUYER_PHONE),
        "seller": create_contact(local_stack, company_id, "Seller", SELLER_PHONE),
        "lender": create_contact(local_stack, company_id, "Lender", LENDER_PHONE),
    }
    body = {
        "address": "12 Harbor Street, Hoboken, NJ",
        "parties": [{"contact_id": contact_id, "role": role} for role, contact_id in contacts.items()],
        "sms_tasks": [
            {
                "name": "Closing reminders",
                "message": "Reminder: the closing is on Friday at 10:00.",
                "recipient_roles": ["buyer", "seller"],
            }
        ],
    }
    response = local_stack.call("POST", "/properties", company_id, body)
    assert response.status_code == 201, response.text
    property_id = response.json()["property_id"]

    response = local_stack.call("POST", f"/properties/{property_id}/launch", company_id)
    assert response.status_code == 202, response.text
    local_stack.wait_for_idle()
    return LaunchedProperty(company_id, property_id, contacts)


@pytest.fixture(scope="module")
def buyer_replied_yes(local_stack, launched) -> LaunchedProperty:
    response = local_stack.call("POST", "/local/inbound-sms", None, {"from": BUYER_PHONE, "body": "YES"})
    assert response.status_code == 202, response.text
    local_stack.wait_for_idle()
    return launched


def sms_status(local_stack, launched: LaunchedProperty, role: str) -> dict:
    response = local_stack.call("GET", f"/contacts/{launched.contacts[role]}", launched.company_id)
    assert response.status_code == 200, response.text
    return response.json()["sms"]


def test_launch_sends_two_opt_in_requests(local_stack, launched):
    texts = local_stack.outbox(launched.company_id, kind="opt_in_request")

    assert len(texts) == 2
    assert sorted(text["destination"] for text in texts) == [BUYER_PHONE, SELLER_PHONE]


def test_launch_sends_nothing_to_lender(local_stack, launched):
    destinations = {text["destination"] for text in local_stack.outbox(launched.company_id)}

    assert LENDER_PHONE not in destinations


def test_yes_reply_opts_buyer_in(local_stack, buyer_replied_yes):
    status = sms_status(local_stack, buyer_replied_yes, "buyer")

    assert status["status"] == "opted_in"
    assert status["can_send"] is True


def test_seller_pending_with_next_request_at(local_stack, buyer_replied_yes):
    status = sms_status(local_stack, buyer_replied_yes, "seller")

    assert status["status"] == "pending"
    assert status["next_request_at"] is not None


def test_lender_not_requested(local_stack, buyer_replied_yes):
    status = sms_status(local_stack, buyer_replied_yes, "lender")

    assert status["status"] == "not_requested"


def test_second_launch_conflicts_and_sends_nothing(local_stack, buyer_replied_yes):
    company_id = buyer_replied_yes.company_id
    before = local_stack.outbox(company_id, kind="opt_in_request")

    response = local_stack.call("POST", f"/properties/{buyer_replied_yes.property_id}/launch", company_id)
    local_stack.wait_for_idle()

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_launched"
    assert len(before) == 2
    assert local_stack.outbox(company_id, kind="opt_in_request") == before


def test_missing_company_header_unauthorized(local_stack, launched):
    response = local_stack.call("GET", f"/contacts/{launched.contacts['buyer']}", None)

    assert response.status_code == 401
    assert "X-Company-Id" in response.json()["hint"]


def test_other_company_contact_not_found(local_stack, launched, company_id):
    response = local_stack.call("GET", f"/contacts/{launched.contacts['buyer']}", company_id)

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_invalid_number_rejected_naming_mobile_phone(local_stack, company_id):
    response = local_stack.call(
        "POST", "/contacts", company_id, {"name": "Nobody", "mobile_phone": "+1 999 555 0101"}
    )

    assert response.status_code == 422
    fields = [item["field"] for item in response.json()["error"]["fields"]]
    assert any(field.endswith("mobile_phone") for field in fields), fields


def test_undeclared_route_not_found(local_stack, company_id):
    response = local_stack.call("DELETE", "/company", company_id)

    assert response.status_code == 404


def test_concurrent_opt_in_requests_send_one_text(local_stack, company_id):
    # NOTE: the local stack runs one invocation at a time, so the twenty requests reach the
    # function one after another. This checks the cooldown as concurrent callers see it, not a
    # race between two conditional writes inside DynamoDB.
    phone = "+12015550150"
    contact_id = create_contact(local_stack, company_id, "Concurrent", phone)
    start = threading.Barrier(20)
    statuses: list[int] = []
    statuses_lock = threading.Lock()

    def request_opt_in() -> None:
        start.wait()
        response = local_stack.call("POST", f"/contacts/{contact_id}/opt-in-requests", company_id)
        with statuses_lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=request_opt_in) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    local_stack.wait_for_idle()

    assert Counter(statuses) == Counter({202: 1, 429: 19})
    texts = local_stack.outbox(company_id, kind="opt_in_request")
    assert [text["destination"] for text in texts] == [phone]
