"""Walkthrough of the service on a fresh local stack. It exits 1 when an outcome is not the expected one.

Each scenario is a function that takes a `Walkthrough` and drives the API over HTTP. To add one,
write the function and append it to `SCENARIOS`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from local.stack import LocalStack, StackOptions

COMPANY_ID = "harbor-realty"
# A Monday, 10:00 in New York: quiet hours allow texts to 201 numbers from 08:00 to 21:00 local time.
WEEKDAY_MORNING = "2026-12-07T15:00:00+00:00"
BUYER_PHONE = "+12015550101"
SELLER_PHONE = "+12015550102"
LENDER_PHONE = "+12015550103"
IDLE_TIMEOUT_SECONDS = 20.0
REQUEST_TIMEOUT_SECONDS = 30.0


class ExpectationFailed(Exception):
    """A response that the rest of the scenario cannot build on (for example, a failed create)."""


@dataclass
class Walkthrough:
    """HTTP helpers for scenarios, and the record of expectations that failed."""

    base_url: str
    company_id: str = COMPANY_ID
    failures: list[str] = field(default_factory=list)
    checks: int = 0
    session: requests.Session = field(default_factory=requests.Session)

    def step(self, title: str) -> None:
        print(f"\n== {title}")

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


def _sms(contact: Any) -> dict[str, Any]:
    return (contact or {}).get("sms") or {}


SCENARIOS: list[tuple[str, Callable[[Walkthrough], None]]] = [
    ("Launch flow", launch_flow),
]


# Runner --------------------------------------------------------------------------------------


def run_scenarios(base_url: str) -> list[str]:
    """Run every scenario against a running stack and return the failed expectations."""
    failures: list[str] = []
    for name, scenario in SCENARIOS:
        print(f"\n### Scenario: {name}")
        walk = Walkthrough(base_url)
        try:
            scenario(walk)
        except ExpectationFailed as error:
            walk.failures.append(str(error))
        failures.extend(f"{name}: {failure}" for failure in walk.failures)
        print(f"\n### {name}: {walk.checks} checks, {len(walk.failures)} failed")
    return failures


def run_demo(log_level: str | None = "WARNING") -> int:
    """Start a stack on free ports, run the scenarios, stop the stack and return the exit status."""
    started = time.monotonic()
    stack = LocalStack(StackOptions(api_port=0, moto_port=0, log_level=log_level))
    stack.start()
    try:
        print(f"Local stack on {stack.base_url} (moto at {stack.moto.endpoint_url})")
        failures = run_scenarios(stack.base_url)
        dead_letters = list(stack.runner.dead_letters)
    finally:
        stack.stop()
    for letter in dead_letters:
        failures.append(f"{letter.function_id} failed on event {letter.event_id}: {letter.error_type}")
    elapsed = time.monotonic() - started
    print("\n==== Summary")
    if failures:
        print(f"{len(failures)} expectation(s) failed in {elapsed:.1f} s:")
        for failure in failures:
            print(f" - {failure}")
        return 1
    print(f"Every expectation held ({len(SCENARIOS)} scenario(s), {elapsed:.1f} s).")
    return 0
