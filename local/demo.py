"""Walkthrough of the service on a fresh local stack. It exits 1 when an outcome is not the expected one.

Each scenario is a function that takes a `Walkthrough` and drives the API over HTTP. To add one,
write the function and append it to `SCENARIOS`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from local.stack import LocalStack, StackOptions

COMPANY_ID = "harbor-realty"
# A Monday, 10:00 in New York: quiet hours allow texts to 201 numbers from 08:00 to 21:00 local time.
WEEKDAY_MORNING = "2026-12-07T15:00:00+00:00"
# Tuesday 8 December 2026: 22:30 of the Monday and 08:05 in New York (UTC-5 in December).
NEW_YORK_LATE_EVENING = "2026-12-08T03:30:00+00:00"
NEW_YORK_MORNING_AFTER = "2026-12-08T13:05:00+00:00"
NEW_YORK_WINDOW_OPENS = "2026-12-08T13:00:00+00:00"
BUYER_PHONE = "+12015550101"
SELLER_PHONE = "+12015550102"
LENDER_PHONE = "+12015550103"
CO_BUYER_PHONE = "+12015550104"
LATE_BUYER_PHONE = "+12015550105"
ONE_DAY_SECONDS = 86400
TWO_HOURS_SECONDS = 7200
# The launch of "Launch flow" at WEEKDAY_MORNING starts the seller's 24-hour cooldown.
SELLER_NEXT_REQUEST_AT = "2026-12-08T15:00:00+00:00"
IDLE_TIMEOUT_SECONDS = 20.0
REQUEST_TIMEOUT_SECONDS = 30.0
# Key in `Walkthrough.shared` of the ids that "Launch flow" leaves for the later scenarios.
LAUNCHED_PROPERTY = "launched_property"


class ExpectationFailed(Exception):
    """A response that the rest of the scenario cannot build on (for example, a failed create)."""


@dataclass
class Walkthrough:
    """HTTP helpers for scenarios, and the record of expectations that failed."""

    base_url: str
    company_id: str = COMPANY_ID
    # Ids that a scenario leaves for the next ones, such as the property that "Launch flow" launched.
    shared: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    checks: int = 0
    session: requests.Session = field(default_factory=requests.Session)

    def step(self, title: str) -> None:
        print(f"\n== {title}")

    def show(self, label: str, value: Any) -> None:
        """Print a value that the step produced, under the checks of that step."""
        print(f"   ->    {label}: {value}")

    def request(self, method: str, path: str, body: Any = None, company: bool = True) -> requests.Response:
        headers = {"X-Company-Id": self.company_id} if company else {}
        return self.session.request(
            method, f"{self.base_url}{path}", json=body, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS
        )

    def expect_status(
        self, method: str, path: str, status: int, body: Any = None, company: bool = True
    ) -> Any:
        """Send a request, check its status and return the JSON body.

        A failed create or update raises `ExpectationFailed`, because later steps need its result.
        """
        response = self.request(method, path, body, company)
        self.check(
            response.status_code == status,
            f"{method} {path} returns {status}",
            f"got {response.status_code}: {response.text[:300]}",
        )
        if response.status_code != status and method in ("POST", "PUT") and status in (200, 201):
            raise ExpectationFailed(f"{method} {path} failed, so the scenario cannot go on")
        try:
            return response.json()
        except ValueError:
            return None

    def check(self, condition: bool, expectation: str, detail: str = "") -> bool:
        self.checks += 1
        if condition:
            print(f"   ok    {expectation}")
        else:
            print(f"   FAIL  {expectation}{f' ({detail})' if detail else ''}")
            self.failures.append(f"{expectation}{f' ({detail})' if detail else ''}")
        return condition

    def wait_until_idle(self, timeout: float = IDLE_TIMEOUT_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.request("GET", "/local/idle", company=False).json().get("idle"):
                return
            time.sleep(0.05)
        self.check(False, f"all events are handled within {timeout:.0f} s")

    def outbox(self, kind: str | None = None) -> list[dict[str, Any]]:
        entries = self.request("GET", "/local/outbox", company=False).json()
        return [entry for entry in entries if kind is None or entry["kind"] == kind]

    def texts_since(self, before: list[dict[str, Any]], kind: str | None = None) -> list[dict[str, Any]]:
        """Return the outbox entries added after the snapshot ``before`` (an earlier `outbox`)."""
        seen = {entry["message_id"] for entry in before}
        return [entry for entry in self.outbox(kind) if entry["message_id"] not in seen]

    def set_clock(self, now: str) -> dict[str, Any]:
        """Set the local clock, wait for the scheduled functions it ran, and return the route's body."""
        moved = self.expect_status("POST", "/local/clock", 200, {"now": now}, company=False)
        self.wait_until_idle()
        return moved or {}

    def create_contact(self, name: str, phone: str | None) -> str:
        created = self.expect_status("POST", "/contacts", 201, {"name": name, "mobile_phone": phone})
        return created["contact_id"]

    def create_property(self, address: str, parties: dict[str, str], task_roles: list[str]) -> dict[str, Any]:
        """Create a property with ``parties`` (role to contact id) and one SMS task for ``task_roles``."""
        return self.expect_status(
            "POST",
            "/properties",
            201,
            {
                "address": address,
                "parties": [{"contact_id": contact_id, "role": role} for role, contact_id in parties.items()],
                "sms_tasks": [
                    {
                        "name": "Closing reminders",
                        "message": "Reminder: the closing is on Friday at 10:00.",
                        "recipient_roles": task_roles,
                    }
                ],
            },
        )

    def sms_status(self, contact_id: str) -> dict[str, Any]:
        return _sms(self.expect_status("GET", f"/contacts/{contact_id}", 200))


# Scenarios -----------------------------------------------------------------------------------


def launch_flow(walk: Walkthrough) -> None:
    """Launch sends opt-in requests to the SMS task's recipients only, once."""
    walk.step("Set the local clock to a weekday morning (10:00 in New York)")
    walk.expect_status("POST", "/local/clock", 200, {"now": WEEKDAY_MORNING}, company=False)

    walk.step("Create the company and three contacts")
    walk.expect_status("PUT", "/company", 200, {"name": "Harbor Realty"})
    contacts = {}
    for role, phone in (("buyer", BUYER_PHONE), ("seller", SELLER_PHONE), ("lender", LENDER_PHONE)):
        created = walk.expect_status(
            "POST", "/contacts", 201, {"name": f"Demo {role}", "mobile_phone": phone}
        )
        contacts[role] = created["contact_id"]

    walk.step("Create a property whose SMS task goes to the buyer and the seller")
    prop = walk.expect_status(
        "POST",
        "/properties",
        201,
        {
            "address": "12 Harbor Street, Hoboken, NJ",
            "parties": [{"contact_id": contact_id, "role": role} for role, contact_id in contacts.items()],
            "sms_tasks": [
                {
                    "name": "Closing reminders",
                    "message": "Reminder: the closing is on Friday at 10:00.",
                    "recipient_roles": ["buyer", "seller"],
                }
            ],
        },
    )
    property_id = prop["property_id"]
    walk.shared[LAUNCHED_PROPERTY] = {
        "property_id": property_id,
        "task_id": prop["task_ids"][0],
        "contacts": contacts,
    }

    walk.step("Launch the property; the launch-tasks function sends the opt-in requests")
    walk.expect_status("POST", f"/properties/{property_id}/launch", 202)
    walk.wait_until_idle()
    requests_sent = walk.outbox("opt_in_request")
    destinations = sorted(entry["destination"] for entry in requests_sent)
    walk.check(len(requests_sent) == 2, "exactly two opt-in requests are sent", f"sent {len(requests_sent)}")
    walk.check(BUYER_PHONE in destinations, "the buyer gets an opt-in request")
    walk.check(SELLER_PHONE in destinations, "the seller gets an opt-in request")
    walk.check(LENDER_PHONE not in destinations, "the lender gets no opt-in request")

    walk.step("The buyer replies YES")
    walk.expect_status("POST", "/local/inbound-sms", 202, {"from": BUYER_PHONE, "body": "YES"}, company=False)
    walk.wait_until_idle()

    walk.step("Read each contact's SMS status")
    buyer = walk.expect_status("GET", f"/contacts/{contacts['buyer']}", 200)
    seller = walk.expect_status("GET", f"/contacts/{contacts['seller']}", 200)
    lender = walk.expect_status("GET", f"/contacts/{contacts['lender']}", 200)
    buyer_status, seller_status, lender_status = (
        _sms(value).get("status") for value in (buyer, seller, lender)
    )
    walk.check(buyer_status == "opted_in", "the buyer is opted_in", f"status {buyer_status}")
    walk.check(seller_status == "pending", "the seller is pending", f"status {seller_status}")
    walk.check(
        bool(_sms(seller).get("next_request_at")),
        "the seller's next_request_at is set (cooldown)",
        f"next_request_at {_sms(seller).get('next_request_at')}",
    )
    walk.check(lender_status == "not_requested", "the lender is not_requested", f"status {lender_status}")

    walk.step("Launch the property again; it is rejected and sends nothing")
    walk.expect_status("POST", f"/properties/{property_id}/launch", 409)
    walk.wait_until_idle()
    count = len(walk.outbox("opt_in_request"))
    walk.check(count == 2, "still exactly two opt-in requests", f"sent {count}")


def recipients_after_launch(walk: Walkthrough) -> None:
    """Show that a late recipient is asked once, the cooldown lasts 24 hours and Send texts opt-ins only."""
    launched = walk.shared.get(LAUNCHED_PROPERTY)
    if launched is None:
        raise ExpectationFailed("the Launch flow scenario left no launched property to continue with")
    property_id, task_id = launched["property_id"], launched["task_id"]
    seller = launched["contacts"]["seller"]
    task_path = f"/properties/{property_id}/sms-tasks/{task_id}"

    walk.step("Add a second buyer to the launched property; the party-added function asks them")
    before = walk.outbox()
    co_buyer = walk.create_contact("Demo co-buyer", CO_BUYER_PHONE)
    walk.expect_status(
        "POST", f"/properties/{property_id}/parties", 201, {"contact_id": co_buyer, "role": "buyer"}
    )
    walk.wait_until_idle()
    sent = walk.texts_since(before)
    walk.check(len(sent) == 1, "exactly one new text is sent", f"sent {len(sent)}")
    walk.check(
        _kinds_and_destinations(sent) == [("opt_in_request", CO_BUYER_PHONE)],
        "it is an opt-in request to the co-buyer",
        f"sent {_describe(sent)}",
    )

    walk.step("Two hours after the launch, Request Opt-In for the seller")
    walk.expect_status("POST", "/local/clock", 200, {"advance_seconds": TWO_HOURS_SECONDS}, company=False)
    walk.wait_until_idle()
    before = walk.outbox()
    response = walk.request("POST", f"/contacts/{seller}/opt-in-requests")
    body = _json(response)
    walk.check(
        response.status_code == 429, "the request returns 429", f"got {response.status_code}: {response.text}"
    )
    retry_after = response.headers.get("Retry-After")
    walk.show("Retry-After", retry_after)
    walk.show("next_request_at", body.get("next_request_at"))
    walk.check(
        retry_after == str(ONE_DAY_SECONDS - TWO_HOURS_SECONDS),
        "Retry-After gives the 22 hours left of the 24-hour cooldown, in seconds",
        f"Retry-After {retry_after!r}",
    )
    walk.check(
        body.get("next_request_at") == SELLER_NEXT_REQUEST_AT,
        "next_request_at is 24 hours after the launch",
        f"next_request_at {body.get('next_request_at')}",
    )
    walk.wait_until_idle()
    sent = walk.texts_since(before)
    walk.check(not sent, "nothing is sent", f"sent {len(sent)}")

    walk.step("Move the local clock forward 24 hours and request again")
    moved = walk.expect_status(
        "POST", "/local/clock", 200, {"advance_seconds": ONE_DAY_SECONDS}, company=False
    )
    walk.show("clock", (moved or {}).get("now"))
    walk.wait_until_idle()
    before = walk.outbox()
    walk.expect_status("POST", f"/contacts/{seller}/opt-in-requests", 202)
    walk.wait_until_idle()
    sent = walk.texts_since(before)
    walk.check(
        _kinds_and_destinations(sent) == [("opt_in_request", SELLER_PHONE)],
        "exactly one new text, an opt-in request to the seller",
        f"sent {_describe(sent)}",
    )

    walk.step("Preview & Send: who can be texted")
    preview = walk.expect_status("GET", f"{task_path}/preview", 200) or {}
    walk.show("message", f"{preview.get('encoding')}, {preview.get('segments')} segment(s)")
    for recipient in preview.get("recipients", []):
        walk.show(
            recipient.get("name"),
            f"{recipient.get('status')}, can_send {recipient.get('can_send')}"
            + (f", {recipient['reason']}" if recipient.get("reason") else ""),
        )
    walk.check(preview.get("encoding") == "GSM-7", "the message is GSM-7", f"{preview.get('encoding')}")
    walk.check(preview.get("segments") == 1, "the message is one segment", f"{preview.get('segments')}")
    sendable = [r["contact_id"] for r in preview.get("recipients", []) if r.get("can_send")]
    walk.check(
        sendable == [launched["contacts"]["buyer"]],
        "can_send is true for the buyer only",
        f"sendable {sendable}",
    )
    others = [r for r in preview.get("recipients", []) if not r.get("can_send")]
    walk.check(len(others) == 2, "the seller and the co-buyer cannot be texted", f"{len(others)} others")
    walk.check(all(r.get("reason") for r in others), "each of them has a reason")

    walk.step("Send the task; only the opted-in buyer gets it")
    names = {r.get("contact_id"): r.get("name") for r in preview.get("recipients", [])}
    before = walk.outbox()
    result = walk.expect_status("POST", f"{task_path}/send", 200) or {}
    walk.wait_until_idle()
    for recipient in result.get("recipients", []):
        walk.show(
            names.get(recipient.get("contact_id"), recipient.get("contact_id")),
            f"{recipient.get('outcome')}" + (f", {recipient['reason']}" if recipient.get("reason") else ""),
        )
    sent = walk.texts_since(before)
    walk.check(
        _kinds_and_destinations(sent) == [("task_message", BUYER_PHONE)],
        "exactly one text, the task message to the buyer",
        f"sent {_describe(sent)}",
    )
    outcomes = {r.get("contact_id"): r for r in result.get("recipients", [])}
    walk.check(
        outcomes.get(launched["contacts"]["buyer"], {}).get("outcome") == "sent",
        "Send reports the buyer as sent",
    )
    skipped = [r for r in outcomes.values() if r.get("outcome") == "skipped"]
    walk.check(len(skipped) == 2, "Send reports the two others as skipped", f"{len(skipped)} skipped")
    walk.check(all(r.get("reason") for r in skipped), "each skip has its reason")


def replies_and_opt_outs(walk: Walkthrough) -> None:
    """Show that an opt-out lasts until the recipient texts START, and that quiet hours defer requests."""
    launched = walk.shared.get(LAUNCHED_PROPERTY)
    if launched is None:
        raise ExpectationFailed("the Launch flow scenario left no launched property to continue with")
    seller = launched["contacts"]["seller"]

    walk.step('The seller texts "Stop please"')
    before = walk.outbox()
    walk.expect_status(
        "POST", "/local/inbound-sms", 202, {"from": SELLER_PHONE, "body": "Stop please"}, company=False
    )
    walk.wait_until_idle()
    status = walk.sms_status(seller).get("status")
    walk.check(status == "opted_out", "the seller is opted_out", f"status {status}")
    sent = walk.texts_since(before)
    walk.check(
        _kinds_and_destinations(sent) == [("opt_out_confirmation", SELLER_PHONE)],
        "exactly one text, the opt-out confirmation to the seller",
        f"sent {_describe(sent)}",
    )
    confirmation = sent[0]["body"] if sent else ""
    walk.check("Harbor Realty" in confirmation, "the confirmation names the company", confirmation)
    walk.check("START" in confirmation, "the confirmation says how to resubscribe (START)", confirmation)

    walk.step("Request Opt-In for the seller is rejected")
    body = walk.expect_status("POST", f"/contacts/{seller}/opt-in-requests", 409) or {}
    walk.show("error", (body.get("error") or {}).get("code"))

    walk.step("A new contact with the seller's number, on a new launched property, gets nothing")
    before = walk.outbox()
    second_record = walk.create_contact("Demo seller, second record", "(201) 555-0102")
    prop = walk.create_property("40 Pier Lane, Hoboken, NJ", {"seller": second_record}, ["seller"])
    walk.expect_status("POST", f"/properties/{prop['property_id']}/launch", 202)
    walk.wait_until_idle()
    sent = [text for text in walk.texts_since(before) if text["destination"] == SELLER_PHONE]
    walk.check(not sent, "nothing is sent to the seller's number", f"sent {len(sent)}")
    status = walk.sms_status(second_record).get("status")
    walk.check(status == "opted_out", "the new contact shows opted_out", f"status {status}")

    walk.step("The seller texts START")
    before = walk.outbox()
    walk.expect_status(
        "POST", "/local/inbound-sms", 202, {"from": SELLER_PHONE, "body": "START"}, company=False
    )
    walk.wait_until_idle()
    status = walk.sms_status(seller).get("status")
    walk.check(status == "opted_in", "the seller is opted_in", f"status {status}")
    sent = walk.texts_since(before)
    walk.check(
        [text["kind"] for text in sent] == ["opt_in_confirmation"],
        "exactly one text, the opt-in confirmation",
        f"sent {[text['kind'] for text in sent]}",
    )

    walk.step("Quiet hours: set the clock back to Monday 22:30 in New York; a launch defers its request")
    moved = walk.set_clock(NEW_YORK_LATE_EVENING)
    walk.show("clock", moved.get("now"))
    before = walk.outbox()
    late_buyer = walk.create_contact("Demo late buyer", LATE_BUYER_PHONE)
    prop = walk.create_property("7 Ferry Road, Weehawken, NJ", {"buyer": late_buyer}, ["buyer"])
    walk.expect_status("POST", f"/properties/{prop['property_id']}/launch", 202)
    walk.wait_until_idle()
    sent = walk.texts_since(before)
    walk.check(not sent, "nothing is sent at night", f"sent {len(sent)}")
    sms = walk.sms_status(late_buyer)
    walk.show("sms.scheduled_for", sms.get("scheduled_for"))
    walk.show("sms.detail", sms.get("detail"))
    walk.check(
        sms.get("scheduled_for") == NEW_YORK_WINDOW_OPENS,
        "the request is scheduled for 08:00 in New York",
        f"scheduled_for {sms.get('scheduled_for')}",
    )

    walk.step("At 08:05 in New York the scheduled rule sends the request")
    moved = walk.set_clock(NEW_YORK_MORNING_AFTER)
    walk.show("scheduled functions run", ", ".join(moved.get("ran", [])) or "none")
    sent = walk.texts_since(before)
    walk.check(
        _kinds_and_destinations(sent) == [("opt_in_request", LATE_BUYER_PHONE)],
        "exactly one text, the opt-in request to the late buyer",
        f"sent {_describe(sent)}",
    )
    status = walk.sms_status(late_buyer).get("status")
    walk.check(status == "pending", "the late buyer is pending", f"status {status}")


def _sms(contact: Any) -> dict[str, Any]:
    return (contact or {}).get("sms") or {}


def _kinds_and_destinations(texts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(text["kind"], text["destination"]) for text in texts]


def _describe(texts: list[dict[str, Any]]) -> list[str]:
    """Describe outbox entries for a failure message, with each number masked to its last four digits."""
    return [f"{text['kind']} to ***{text['destination'][-4:]}" for text in texts]


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


SCENARIOS: list[tuple[str, Callable[[Walkthrough], None]]] = [
    ("Launch flow", launch_flow),
    ("Recipients after launch", recipients_after_launch),
    ("Replies and opt-outs stick", replies_and_opt_outs),
]


# Runner --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioResult:
    name: str
    checks: int
    failures: list[str]


def run_scenarios(base_url: str) -> list[ScenarioResult]:
    """Run every scenario in order against a running stack and return each one's checks and failures."""
    results: list[ScenarioResult] = []
    shared: dict[str, Any] = {}
    for name, scenario in SCENARIOS:
        print(f"\n### Scenario: {name}")
        walk = Walkthrough(base_url, shared=shared)
        try:
            scenario(walk)
        except ExpectationFailed as error:
            walk.failures.append(str(error))
        results.append(ScenarioResult(name, walk.checks, list(walk.failures)))
        print(f"\n### {name}: {walk.checks} checks, {len(walk.failures)} failed")
    return results


def print_summary(results: list[ScenarioResult], texts: list[dict[str, Any]], dead_letters: int) -> None:
    print("\n==== Summary")
    width = max(len(result.name) for result in results)
    print(f"{'Scenario':<{width}}  Checks  Failed")
    for result in results:
        print(f"{result.name:<{width}}  {result.checks:>6}  {len(result.failures):>6}")
    kinds = Counter(text["kind"] for text in texts)
    listed = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())) or "none"
    print(f"Texts in the outbox: {listed}")
    print(f"Dead letters: {dead_letters}")


def run_demo(log_level: str | None = "WARNING") -> int:
    """Start a stack on free ports, run the scenarios, stop the stack and return the exit status."""
    started = time.monotonic()
    stack = LocalStack(StackOptions(api_port=0, moto_port=0, log_level=log_level))
    stack.start()
    try:
        print(f"Local stack on {stack.base_url} (moto at {stack.moto.endpoint_url})")
        results = run_scenarios(stack.base_url)
        texts = stack.outbox.entries_as_json()
        dead_letters = list(stack.runner.dead_letters)
    finally:
        stack.stop()
    failures = [f"{result.name}: {failure}" for result in results for failure in result.failures]
    for letter in dead_letters:
        failures.append(f"{letter.function_id} failed on event {letter.event_id}: {letter.error_type}")
    elapsed = time.monotonic() - started
    print_summary(results, texts, len(dead_letters))
    if failures:
        print(f"{len(failures)} expectation(s) failed in {elapsed:.1f} s:")
        for failure in failures:
            print(f" - {failure}")
        return 1
    print(f"Every expectation held ({len(SCENARIOS)} scenarios, {elapsed:.1f} s).")
    return 0
