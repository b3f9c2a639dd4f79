"""Opt-in lifecycle over HTTP: who gets an opt-in request when, Request Opt-In, and the task views.

Every test runs in its own company, sets the clock to a weekday morning in New York, and texts
numbers of its own (732 555 01xx, New Jersey), so replies and cooldowns never cross tests.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.e2e.company_api import TASK_MESSAGE, CompanyApi

pytestmark = pytest.mark.e2e

# Monday 7 December 2026, 10:00 in New York.
WEEKDAY_MORNING = "2026-12-07T15:00:00+00:00"
NEXT_REQUEST_AT = "2026-12-08T15:00:00+00:00"
ONE_HOUR_SECONDS = 3600
ONE_DAY_SECONDS = 86400
COMPANY_NAME = "Harbor Realty"
_phone_suffixes = itertools.count(1)


def new_phone() -> str:
    """Return a New Jersey test number that no other test of this module uses (+1 732 555 0101 to 0198)."""
    suffix = next(_phone_suffixes)
    assert suffix < 99, "this module ran out of 732 555 01xx numbers"
    return f"+17325550{100 + suffix}"


@pytest.fixture
def api(local_stack, company_id) -> CompanyApi:
    response = local_stack.call("POST", "/local/clock", None, {"now": WEEKDAY_MORNING})
    assert response.status_code == 200, response.text
    local_stack.wait_for_idle()
    company = CompanyApi(local_stack, company_id)
    company.expect(200, "PUT", "/company", {"name": COMPANY_NAME})
    return company


# Who gets an opt-in request, and when ---------------------------------------------------------


def test_party_added_after_launch_gets_request(api):
    buyer_phone, seller_phone = new_phone(), new_phone()
    buyer = api.create_contact("Buyer", buyer_phone)
    property_id, _ = api.create_property({buyer: "buyer"}, ["buyer", "seller"])
    api.launch(property_id)
    seller = api.create_contact("Seller", seller_phone)

    api.expect(201, "POST", f"/properties/{property_id}/parties", {"contact_id": seller, "role": "seller"})
    api.stack.wait_for_idle()

    assert api.requested_phones() == Counter({buyer_phone: 1, seller_phone: 1})
    assert api.sms(seller)["status"] == "pending"


def test_party_added_before_launch_waits_for_launch(api):
    buyer_phone, seller_phone = new_phone(), new_phone()
    buyer = api.create_contact("Buyer", buyer_phone)
    seller = api.create_contact("Seller", seller_phone)
    property_id, _ = api.create_property({buyer: "buyer"}, ["buyer", "seller"])

    api.expect(201, "POST", f"/properties/{property_id}/parties", {"contact_id": seller, "role": "seller"})
    api.stack.wait_for_idle()
    before_launch = api.texts()
    api.launch(property_id)

    assert before_launch == []
    assert api.sms(seller)["status"] == "pending"
    assert api.requested_phones() == Counter({buyer_phone: 1, seller_phone: 1})


def test_non_receiving_role_gets_no_request(api):
    buyer_phone, lender_phone = new_phone(), new_phone()
    buyer = api.create_contact("Buyer", buyer_phone)
    property_id, _ = api.create_property({buyer: "buyer"}, ["buyer"])
    api.launch(property_id)
    lender = api.create_contact("Lender", lender_phone)

    api.expect(201, "POST", f"/properties/{property_id}/parties", {"contact_id": lender, "role": "lender"})
    api.stack.wait_for_idle()

    assert api.requested_phones() == Counter({buyer_phone: 1})
    assert api.sms(lender)["status"] == "not_requested"


def test_task_added_after_launch_requests_its_recipients(api):
    buyer_phone, lender_phone, inspector_phone = new_phone(), new_phone(), new_phone()
    buyer = api.create_contact("Buyer", buyer_phone)
    lender = api.create_contact("Lender", lender_phone)
    inspector = api.create_contact("Inspector", inspector_phone)
    property_id, _ = api.create_property({buyer: "buyer", lender: "lender"}, ["buyer"])
    api.launch(property_id)
    after_launch = api.requested_phones()

    task = api.expect(
        201,
        "POST",
        f"/properties/{property_id}/sms-tasks",
        {
            "name": "Appraisal",
            "message": "The appraiser visits on Monday.",
            "recipient_roles": ["lender"],
            "recipient_contact_ids": [inspector],
        },
    )
    api.stack.wait_for_idle()

    assert task["recipient_roles"] == ["lender"]
    assert after_launch == Counter({buyer_phone: 1})
    assert api.requested_phones() == Counter({buyer_phone: 1, lender_phone: 1, inspector_phone: 1})


def test_recipient_added_after_launch_gets_request(api):
    buyer_phone, attorney_phone = new_phone(), new_phone()
    buyer = api.create_contact("Buyer", buyer_phone)
    attorney = api.create_contact("Attorney", attorney_phone)
    property_id, task_id = api.create_property({buyer: "buyer"}, ["buyer"])
    api.launch(property_id)

    added = api.expect(
        201,
        "POST",
        f"/properties/{property_id}/sms-tasks/{task_id}/recipients",
        {"contact_id": attorney},
    )
    api.stack.wait_for_idle()

    assert added["recipient_contact_ids"] == [attorney]
    assert api.requested_phones() == Counter({buyer_phone: 1, attorney_phone: 1})
    assert api.sms(attorney)["status"] == "pending"


def test_mobile_number_added_to_recipient_sends_request(api):
    phone = new_phone()
    buyer = api.create_contact("Buyer", None)
    property_id, _ = api.create_property({buyer: "buyer"}, ["buyer"])
    api.launch(property_id)
    status_at_launch = api.sms(buyer)["status"]

    patched = api.expect(200, "PATCH", f"/contacts/{buyer}", {"mobile_phone": phone})
    api.stack.wait_for_idle()

    assert status_at_launch == "no_mobile_number"
    assert patched["mobile_phone"] == phone
    assert api.requested_phones() == Counter({phone: 1})
    assert api.sms(buyer)["status"] == "pending"


def test_sms_enabled_again_sends_request(api):
    phone = new_phone()
    buyer = api.create_contact("Buyer", phone, sms_enabled=False)
    property_id, _ = api.create_property({buyer: "buyer"}, ["buyer"])
    api.launch(property_id)
    status_at_launch = api.sms(buyer)["status"]
    texts_at_launch = api.texts()

    api.expect(200, "PATCH", f"/contacts/{buyer}", {"sms_enabled": True})
    api.stack.wait_for_idle()

    assert status_at_launch == "sms_disabled"
    assert texts_at_launch == []
    assert api.requested_phones() == Counter({phone: 1})
    assert api.sms(buyer)["status"] == "pending"


def test_new_number_starts_not_requested(api):
    old_phone, new_number = new_phone(), new_phone()
    buyer = api.create_contact("Buyer", old_phone)
    property_id, _ = api.create_property({buyer: "buyer"}, ["buyer"])
    api.launch(property_id)
    api.reply(old_phone, "YES")
    status_on_old_number = api.sms(buyer)["status"]

    patched = api.expect(200, "PATCH", f"/contacts/{buyer}", {"mobile_phone": new_number})
    api.stack.wait_for_idle()

    assert status_on_old_number == "opted_in"
    assert patched["sms"]["status"] == "not_requested"
    assert patched["sms"]["can_send"] is False
    assert api.requested_phones() == Counter({old_phone: 1, new_number: 1})
    assert api.sms(buyer)["status"] == "pending"


def test_shared_number_gets_one_request(api):
    phone = new_phone()
    buyer = api.create_contact("Buyer", phone)
    co_buyer = api.create_contact("Co-buyer", f"({phone[2:5]}) {phone[5:8]}-{phone[8:]}")
    property_id, _ = api.create_property({buyer: "buyer", co_buyer: "seller"}, ["buyer", "seller"])

    api.launch(property_id)
    statuses = [api.sms(buyer), api.sms(co_buyer)]

    assert api.requested_phones() == Counter({phone: 1})
    assert statuses[0]["status"] == "pending"
    assert statuses[1]["status"] == "pending"
    assert statuses[0]["requested_at"] == statuses[1]["requested_at"]
    assert statuses[0]["next_request_at"] == statuses[1]["next_request_at"]


# Request Opt-In -------------------------------------------------------------------------------


def test_request_opt_in_returns_next_request_at(api):
    phone = new_phone()
    contact = api.create_contact("Buyer", phone)

    body = api.expect(202, "POST", f"/contacts/{contact}/opt-in-requests")
    api.stack.wait_for_idle()

    assert body["status"] == "sent"
    assert body["next_request_at"] == NEXT_REQUEST_AT
    assert body["message_id"] == api.texts("opt_in_request")[0]["message_id"]
    assert api.requested_phones() == Counter({phone: 1})


def test_request_opt_in_cooldown_lasts_a_day(api):
    phone = new_phone()
    contact = api.create_contact("Buyer", phone)
    api.expect(202, "POST", f"/contacts/{contact}/opt-in-requests")
    api.advance_clock(ONE_HOUR_SECONDS)

    blocked = api.call("POST", f"/contacts/{contact}/opt-in-requests")
    texts_after_block = api.requested_phones()
    api.advance_clock(ONE_DAY_SECONDS)
    allowed = api.call("POST", f"/contacts/{contact}/opt-in-requests")
    api.stack.wait_for_idle()

    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == str(ONE_DAY_SECONDS - ONE_HOUR_SECONDS)
    assert blocked.json()["next_request_at"] == NEXT_REQUEST_AT
    assert blocked.json()["error"]["code"] == "cooldown_active"
    assert texts_after_block == Counter({phone: 1})
    assert allowed.status_code == 202
    assert api.requested_phones() == Counter({phone: 2})


@pytest.mark.parametrize(
    ("reply", "code"), [("YES", "already_opted_in"), ("STOP", "opted_out")], ids=["opted-in", "opted-out"]
)
def test_request_opt_in_conflicts_after_reply(api, reply, code):
    phone = new_phone()
    contact = api.create_contact("Buyer", phone)
    api.expect(202, "POST", f"/contacts/{contact}/opt-in-requests")
    api.stack.wait_for_idle()
    api.reply(phone, reply)
    api.advance_clock(ONE_DAY_SECONDS)

    response = api.call("POST", f"/contacts/{contact}/opt-in-requests")
    api.stack.wait_for_idle()

    assert response.status_code == 409
    assert response.json()["error"]["code"] == code
    assert api.requested_phones() == Counter({phone: 1})


@pytest.mark.parametrize(
    ("has_phone", "sms_enabled", "code"),
    [(False, True, "no_mobile_number"), (True, False, "sms_disabled")],
    ids=["no-mobile-number", "sms-disabled"],
)
def test_request_opt_in_unprocessable_with_reason(api, has_phone, sms_enabled, code):
    contact = api.create_contact("Buyer", new_phone() if has_phone else None, sms_enabled)

    response = api.call("POST", f"/contacts/{contact}/opt-in-requests")
    api.stack.wait_for_idle()

    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert api.texts() == []


# Task views and Send --------------------------------------------------------------------------


@dataclass
class MixedTask:
    """A launched task whose recipients are in every state: opted in, pending, opted out, unreachable."""

    property_id: str
    task_id: str
    contacts: dict[str, str]
    phones: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def mixed_task(api) -> MixedTask:
    phones = {"buyer": new_phone(), "seller": new_phone(), "attorney": new_phone()}
    contacts = {
        "buyer": api.create_contact("Buyer", phones["buyer"]),
        "seller": api.create_contact("Seller", phones["seller"]),
        "attorney": api.create_contact("Attorney", phones["attorney"]),
        "buyer_agent": api.create_contact("Buyer agent", None),
        "title": api.create_contact("Title officer", new_phone(), sms_enabled=False),
    }
    property_id, task_id = api.create_property(
        {contact_id: role for role, contact_id in contacts.items()},
        ["buyer", "seller", "attorney", "buyer_agent", "title"],
    )
    api.launch(property_id)
    api.reply(phones["buyer"], "YES")
    api.reply(phones["attorney"], "STOP")
    return MixedTask(property_id, task_id, contacts, phones)


def test_task_view_warns_for_unsendable_recipients(api, mixed_task):
    view = api.expect(200, "GET", f"/properties/{mixed_task.property_id}/sms-tasks/{mixed_task.task_id}")
    recipients = {recipient["contact_id"]: recipient for recipient in view["recipients"]}
    by_role = {role: recipients[contact_id] for role, contact_id in mixed_task.contacts.items()}

    assert view["launched"] is True
    assert view["warning_count"] == 4
    assert by_role["buyer"]["status"] == "opted_in"
    assert by_role["buyer"]["warning"] is False
    assert by_role["buyer"]["reason"] is None
    expected_statuses = {
        "seller": "pending",
        "attorney": "opted_out",
        "buyer_agent": "no_mobile_number",
        "title": "sms_disabled",
    }
    for role, status in expected_statuses.items():
        assert by_role[role]["status"] == status, role
        assert by_role[role]["warning"] is True, role
        assert by_role[role]["reason"], role


def test_preview_shows_who_can_be_texted(api, mixed_task):
    preview = api.expect(
        200, "GET", f"/properties/{mixed_task.property_id}/sms-tasks/{mixed_task.task_id}/preview"
    )
    recipients = {recipient["contact_id"]: recipient for recipient in preview["recipients"]}
    by_role = {role: recipients[contact_id] for role, contact_id in mixed_task.contacts.items()}

    assert preview["message"] == TASK_MESSAGE
    assert preview["encoding"] == "GSM-7"
    assert preview["segments"] == 1
    assert preview["characters"] == len(TASK_MESSAGE)
    assert preview["sendable_count"] == 1
    assert by_role["buyer"]["can_send"] is True
    assert by_role["buyer"]["can_request_opt_in"] is False
    assert by_role["seller"]["can_send"] is False
    assert by_role["seller"]["can_request_opt_in"] is False
    assert by_role["seller"]["next_request_at"] == NEXT_REQUEST_AT
    assert by_role["attorney"]["can_send"] is False
    assert by_role["attorney"]["can_request_opt_in"] is False
    assert by_role["buyer_agent"]["can_send"] is False
    assert by_role["buyer_agent"]["can_request_opt_in"] is False
    assert by_role["title"]["can_request_opt_in"] is False
    for role in ("seller", "attorney", "buyer_agent", "title"):
        assert by_role[role]["reason"], role


def test_preview_counts_unicode_segments(api):
    message = "Closing moved to Friday 🏡 " + "please bring photo ID and the signed disclosures. " * 2
    buyer = api.create_contact("Buyer", new_phone())
    property_id, task_id = api.create_property({buyer: "buyer"}, ["buyer"], message=message)

    preview = api.expect(200, "GET", f"/properties/{property_id}/sms-tasks/{task_id}/preview")

    assert preview["encoding"] == "UCS-2"
    assert preview["segments"] == 2
    assert preview["recipients"][0]["can_request_opt_in"] is True
    assert preview["recipients"][0]["next_request_at"] is None


def test_send_texts_only_opted_in_recipients(api, mixed_task):
    before = api.texts()

    result = api.expect(
        200, "POST", f"/properties/{mixed_task.property_id}/sms-tasks/{mixed_task.task_id}/send"
    )
    api.stack.wait_for_idle()
    new_texts = [text for text in api.texts() if text not in before]
    outcomes = {outcome["contact_id"]: outcome for outcome in result["recipients"]}
    by_role = {role: outcomes[contact_id] for role, contact_id in mixed_task.contacts.items()}

    assert result["sent"] == 1
    assert [(text["kind"], text["destination"]) for text in new_texts] == [
        ("task_message", mixed_task.phones["buyer"])
    ]
    assert new_texts[0]["body"] == TASK_MESSAGE
    assert by_role["buyer"]["outcome"] == "sent"
    assert by_role["buyer"]["message_id"] == new_texts[0]["message_id"]
    for role in ("seller", "attorney", "buyer_agent", "title"):
        assert by_role[role]["outcome"] == "skipped", role
        assert by_role[role]["reason"], role
        assert by_role[role]["message_id"] is None, role


# One long walk: after every step, only opted-in phones got anything but an opt-in request ---


@dataclass
class ConsentWatch:
    """Check each new text of a company against the consents the test has given so far."""

    api: CompanyApi
    opted_in: set[str] = field(default_factory=set)
    opted_out: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)

    def new_texts(self, step: str) -> list[dict[str, Any]]:
        self.api.stack.wait_for_idle()
        fresh = [text for text in self.api.texts() if text["message_id"] not in self.seen]
        for text in fresh:
            phone = text["destination"]
            if text["kind"] == "task_message":
                assert phone in self.opted_in, f"{step}: task message to a phone that has not opted in"
            if text["kind"] == "opt_in_request":
                assert phone not in self.opted_in, f"{step}: opt-in request to an opted-in phone"
                assert phone not in self.opted_out, f"{step}: opt-in request to an opted-out phone"
        self.seen.update(text["message_id"] for text in fresh)
        return fresh


def kinds_to(texts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((text["kind"], text["destination"]) for text in texts)


def test_nobody_unconsented_is_ever_texted(api):
    watch = ConsentWatch(api)
    buyer_phone, seller_phone, lender_phone, agent_phone = (new_phone() for _ in range(4))
    buyer = api.create_contact("Buyer", buyer_phone)
    seller = api.create_contact("Seller", seller_phone)
    lender = api.create_contact("Lender", lender_phone)
    agent = api.create_contact("Buyer agent", None)
    property_id, task_id = api.create_property(
        {buyer: "buyer", seller: "seller", lender: "lender", agent: "buyer_agent"},
        ["buyer", "seller", "buyer_agent"],
    )
    send_path = f"/properties/{property_id}/sms-tasks/{task_id}/send"
    assert watch.new_texts("create") == []

    api.launch(property_id)
    assert kinds_to(watch.new_texts("launch")) == [
        ("opt_in_request", buyer_phone),
        ("opt_in_request", seller_phone),
    ]

    result = api.expect(200, "POST", send_path)
    assert result["sent"] == 0
    assert watch.new_texts("send before any opt-in") == []

    api.reply(buyer_phone, "YES")
    watch.opted_in.add(buyer_phone)
    assert kinds_to(watch.new_texts("buyer replies YES")) == [("opt_in_confirmation", buyer_phone)]

    api.expect(200, "POST", send_path)
    assert kinds_to(watch.new_texts("send after the buyer's YES")) == [("task_message", buyer_phone)]

    api.reply(seller_phone, "STOP")
    watch.opted_out.add(seller_phone)
    assert kinds_to(watch.new_texts("seller replies STOP")) == [("opt_out_confirmation", seller_phone)]

    # A task goes to a number at most once in 10 minutes, so the second Send waits that long.
    api.advance_clock(11 * 60)
    api.expect(200, "POST", send_path)
    assert kinds_to(watch.new_texts("send after the seller's STOP")) == [("task_message", buyer_phone)]

    api.expect(200, "PATCH", f"/contacts/{agent}", {"mobile_phone": agent_phone})
    assert kinds_to(watch.new_texts("agent gets a number")) == [("opt_in_request", agent_phone)]

    api.expect(
        201,
        "POST",
        f"/properties/{property_id}/sms-tasks",
        {"name": "Keys", "message": "Keys are at the office.", "recipient_contact_ids": [seller, lender]},
    )
    assert kinds_to(watch.new_texts("task added for seller and lender")) == [("opt_in_request", lender_phone)]

    api.advance_clock(ONE_DAY_SECONDS)
    assert watch.new_texts("a day passes") == []

    blocked = api.call("POST", f"/contacts/{seller}/opt-in-requests")
    assert blocked.status_code == 409
    assert watch.new_texts("Request Opt-In for the opted-out seller") == []

    api.expect(200, "POST", send_path)
    assert kinds_to(watch.new_texts("send a day later")) == [("task_message", buyer_phone)]

    api.reply(seller_phone, "START")
    watch.opted_out.discard(seller_phone)
    watch.opted_in.add(seller_phone)
    assert kinds_to(watch.new_texts("seller replies START")) == [("opt_in_confirmation", seller_phone)]

    api.advance_clock(11 * 60)
    api.expect(200, "POST", send_path)
    assert kinds_to(watch.new_texts("send after the seller's START")) == [
        ("task_message", buyer_phone),
        ("task_message", seller_phone),
    ]
