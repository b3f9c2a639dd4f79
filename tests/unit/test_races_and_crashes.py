"""Tests for concurrent opt-in requests and for crashes at each step of the send path.

However many requests race for a phone, one opt-in request per company and phone goes out per
cooldown period. After a crash, a retry of the same operation sends at most one extra text
(``ConsentPolicy.max_send_attempts`` = 2), and none when the crash came before the provider
accepted the text.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

import pytest
from sms_consent.domain.model import Cause, LedgerAction
from sms_consent.domain.opt_in import OutcomeKind
from sms_consent.errors import CooldownActive

from tests.fakes import FakePublisher, FakeSmsSender, InMemoryConsents

ROUNDS = 1000
THREADS = 20
REDELIVERY_ROUNDS = 200
REDELIVERY_THREADS = 10


class SimulatedCrash(Exception):
    """The function dies at this point (timeout, out of memory), so no cleanup in the service runs.

    The service catches only its own error types, so this exception passes through every handler
    of the send path, as a real crash would.
    """


class CrashPlan:
    """How many times each crash point still crashes; shared by the wrapped fakes of one world."""

    def __init__(self) -> None:
        self.remaining: Counter[str] = Counter()
        self.crashed: Counter[str] = Counter()

    def arm(self, point: str, times: int = 1) -> None:
        self.remaining[point] = times

    def crash_at(self, point: str) -> None:
        if self.remaining[point] > 0:
            self.remaining[point] -= 1
            self.crashed[point] += 1
            raise SimulatedCrash(point)


class CrashingConsents(InMemoryConsents):
    """Consent repository that can crash after the claim commits, or before or after the sent record."""

    def __init__(self, plan: CrashPlan) -> None:
        super().__init__()
        self.plan = plan

    def claim_opt_in(self, claim):
        super().claim_opt_in(claim)
        self.plan.crash_at("after_claim")

    def record_sent(self, claim, message, origination_number, entry):
        self.plan.crash_at("before_record")
        super().record_sent(claim, message, origination_number, entry)
        self.plan.crash_at("after_record")


class CrashingSender(FakeSmsSender):
    """SMS sender whose provider accepts the text and whose response is then lost."""

    def __init__(self, plan: CrashPlan, origination_number: str) -> None:
        super().__init__(origination_number)
        self.plan = plan

    def send(self, sms):
        sent = super().send(sms)
        self.plan.crash_at("after_send")
        return sent


class CrashingPublisher(FakePublisher):
    """Event publisher that crashes while putting ``Opt-In Requested`` on the bus."""

    def __init__(self, plan: CrashPlan) -> None:
        super().__init__()
        self.plan = plan

    def publish(self, events):
        if any(event.detail_type == "Opt-In Requested" for event in events):
            self.plan.crash_at("publish")
        super().publish(events)


# Crash points in the order the send path reaches them. Only the first comes before the provider
# accepts the text.
CRASH_POINTS = ["after_claim", "after_send", "before_record", "after_record", "publish"]
PATHS = ["event", "manual"]


@pytest.fixture
def crash_world(make_world):
    plan = CrashPlan()
    world = make_world(
        consents=CrashingConsents(plan),
        sender=CrashingSender(plan, "+12015550100"),
        publisher=CrashingPublisher(plan),
    )
    world.plan = plan
    return world


def attempt(world, path, contact):
    """Run one delivery of the operation; return "sent", "crashed" or "blocked"."""
    try:
        if path == "event":
            outcomes = world.opt_in.request_for_contacts(
                world.COMPANY_ID, [contact.contact_id], Cause.PARTY_ADDED, "event-1"
            )
            return "sent" if outcomes[0].kind is OutcomeKind.SENT else "blocked"
        world.opt_in.request_for_contact(world.COMPANY_ID, contact.contact_id, "click-1")
        return "sent"
    except SimulatedCrash:
        return "crashed"
    except CooldownActive:
        return "blocked"


# Crashes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_crash_then_retry_sends_at_most_two_texts(crash_world, point, path):
    contact = crash_world.contact()
    crash_world.plan.arm(point)

    first = attempt(crash_world, path, contact)
    attempt(crash_world, path, contact)

    assert first == "crashed"
    assert len(crash_world.sender.texts_to(contact.mobile_phone)) <= 2


@pytest.mark.parametrize("path", PATHS)
def test_crash_before_provider_accepts_retry_sends_exactly_one(crash_world, path):
    contact = crash_world.contact()
    crash_world.plan.arm("after_claim")

    first = attempt(crash_world, path, contact)
    retry = attempt(crash_world, path, contact)

    assert first == "crashed"
    assert retry == "sent"
    assert len(crash_world.sender.texts_to(contact.mobile_phone)) == 1


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("point", ["after_record", "publish"])
def test_crash_after_record_retry_sends_nothing(crash_world, point, path):
    contact = crash_world.contact()
    crash_world.plan.arm(point)

    attempt(crash_world, path, contact)
    retry = attempt(crash_world, path, contact)

    assert retry == "blocked"
    assert len(crash_world.sender.texts_to(contact.mobile_phone)) == 1


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("point", ["after_send", "before_record"])
def test_lost_response_retry_records_one_ledger_entry(crash_world, point, path):
    contact = crash_world.contact()
    crash_world.plan.arm(point)

    attempt(crash_world, path, contact)
    attempt(crash_world, path, contact)

    sent_ids = [
        entry.message_id
        for entry in crash_world.ledger_actions(contact.mobile_phone, LedgerAction.OPT_IN_REQUESTED)
    ]
    assert len(sent_ids) == 1
    assert crash_world.phone_consent(contact.mobile_phone).consent.last_message_id == sent_ids[0]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("point", CRASH_POINTS)
def test_third_retry_after_second_crash_sends_nothing_more(crash_world, point, path):
    contact = crash_world.contact()
    crash_world.plan.arm(point, times=2)
    attempt(crash_world, path, contact)
    attempt(crash_world, path, contact)
    texts_after_two_attempts = len(crash_world.sender.texts_to(contact.mobile_phone))

    third = attempt(crash_world, path, contact)

    assert third == "blocked"
    assert len(crash_world.sender.texts_to(contact.mobile_phone)) == texts_after_two_attempts
    assert texts_after_two_attempts <= 2


@pytest.mark.parametrize("path", PATHS)
def test_crashed_claims_expire_with_cooldown(crash_world, path):
    contact = crash_world.contact()
    crash_world.plan.arm("after_claim", times=2)
    attempt(crash_world, path, contact)
    attempt(crash_world, path, contact)
    crash_world.clock.set(crash_world.START + crash_world.COOLDOWN + timedelta(seconds=1))

    outcome = crash_world.request(contact)

    assert outcome.kind is OutcomeKind.SENT
    assert len(crash_world.sender.texts_to(contact.mobile_phone)) == 1


# Races --------------------------------------------------------------------------------------------


@pytest.fixture
def frequent_thread_switches():
    """Switch threads every 10 microseconds instead of every 5 ms, so races interleave more often."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(previous)


def race(pool, workers):
    """Run ``workers`` (callables) at once from a barrier; return their results or exceptions."""
    barrier = threading.Barrier(len(workers), timeout=30)

    def run(worker):
        barrier.wait()
        try:
            return worker()
        except Exception as error:
            # Returned, not raised, so that the test can list every error of the round.
            return error

    return list(pool.map(run, workers))


def mixed_requests(world, round_number, first, second):
    """Build THREADS requests for one phone: half manual clicks, half events, all distinct operations."""
    workers = []
    for index in range(THREADS):
        if index % 2 == 0:
            contact = first if index % 4 == 0 else second
            workers.append(
                partial(
                    world.opt_in.request_for_contact,
                    world.COMPANY_ID,
                    contact.contact_id,
                    f"click-{round_number}-{index}",
                )
            )
        else:
            workers.append(
                partial(
                    world.opt_in.request_for_contacts,
                    world.COMPANY_ID,
                    [first.contact_id, second.contact_id],
                    Cause.PARTY_ADDED,
                    f"event-{round_number}-{index}",
                )
            )
    return workers


@pytest.mark.usefixtures("frequent_thread_switches")
def test_concurrent_requests_send_one_text_per_phone(world):
    wrong_rounds = []
    unexpected_errors = []
    sent_outcomes_per_round = Counter()
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for round_number in range(ROUNDS):
            phone = world.new_phone()
            first = world.contact("Dana Buyer", phone=phone)
            second = world.contact("Drew Buyer", phone=phone)

            results = race(pool, mixed_requests(world, round_number, first, second))

            for result in results:
                outcomes = result if isinstance(result, list) else [result]
                for outcome in outcomes:
                    if isinstance(outcome, CooldownActive):
                        continue
                    if isinstance(outcome, Exception):
                        unexpected_errors.append(repr(outcome))
                    elif outcome.kind is OutcomeKind.SENT:
                        sent_outcomes_per_round[round_number] += 1
            texts = len(world.sender.texts_to(phone))
            if texts != 1:
                wrong_rounds.append((round_number, phone, texts))

    requested = [
        entry for entry in world.consents.ledger_entries if entry.action is LedgerAction.OPT_IN_REQUESTED
    ]
    assert unexpected_errors == []
    assert wrong_rounds == []
    assert sorted(set(sent_outcomes_per_round.values())) == [1]
    assert len(sent_outcomes_per_round) == ROUNDS
    assert len(requested) == ROUNDS
    # Requests that lost the conditional claim count CooldownBlocked; zero would mean no race ran.
    assert world.telemetry.counts["CooldownBlocked"] > 0


@pytest.mark.usefixtures("frequent_thread_switches")
def test_concurrent_redeliveries_send_at_most_two(world):
    over_bound = []
    with ThreadPoolExecutor(max_workers=REDELIVERY_THREADS) as pool:
        for round_number in range(REDELIVERY_ROUNDS):
            contact = world.contact()
            redelivery = partial(
                world.opt_in.request_for_contacts,
                world.COMPANY_ID,
                [contact.contact_id],
                Cause.LAUNCH,
                f"event-{round_number}",
            )

            race(pool, [redelivery] * REDELIVERY_THREADS)

            texts = len(world.sender.texts_to(contact.mobile_phone))
            if not 1 <= texts <= 2:
                over_bound.append((round_number, texts))

    assert over_bound == []
