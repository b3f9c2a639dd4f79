"""Fixtures for the domain unit tests: every service wired to in-memory fakes and a manual clock.

The clock starts on Monday 2026-12-07 at 10:00 in New York (15:00 UTC), so every number the
fixtures hand out is inside its sending window. Phone numbers come from 555-0100 to 555-0199,
which the North American Numbering Plan reserves for fictional use. Numbers ending in 00 are our
origination numbers, and numbers ending in 99 are never handed out.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sms_consent.domain.clock import ManualClock
from sms_consent.domain.directory import (
    CONTACT_UPDATED,
    PARTY_ADDED,
    RECIPIENT_ADDED,
    TASKS_LAUNCHED,
    DirectoryService,
    NewTask,
)
from sms_consent.domain.inbound import InboundOutcome, InboundService
from sms_consent.domain.lifecycle import LifecycleService
from sms_consent.domain.model import (
    Company,
    Contact,
    InboundSms,
    LedgerAction,
    LedgerEntry,
    Party,
    PhoneConsent,
    Property,
)
from sms_consent.domain.opt_in import ConsentPolicy, OptInService, RecipientOutcome
from sms_consent.domain.ports import DomainEvent
from sms_consent.domain.scheduler import SchedulerService
from sms_consent.domain.tasks import TaskService

from tests.fakes import FakePublisher, FakeSmsSender, FakeTelemetry, InMemoryConsents, InMemoryDirectory

START = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)  # Monday, 10:00 in New York
COOLDOWN = timedelta(hours=24)
OUR_NUMBER = "+12015550100"
OTHER_OUR_NUMBER = "+12125550100"
COMPANY_ID = "company-harbor"
COMPANY_NAME = "Harbor Point Realty"

# Area codes whose numbers phonenumbers places in America/New_York only, so that 10:00 in New York
# is inside the sending window for all of them.
EASTERN_AREA_CODES = (
    "201",
    "212",
    "215",
    "302",
    "404",
    "609",
    "617",
    "646",
    "703",
    "718",
    "732",
    "908",
    "973",
)


def fictional_phones() -> Iterator[str]:
    """Yield distinct valid numbers +1 NPA 555 01xx, skipping our numbers (xx = 00) and xx = 99."""
    for area_code in EASTERN_AREA_CODES:
        for line in range(1, 99):
            yield f"+1{area_code}55501{line:02d}"


class World:
    """The services wired to shared fakes, with helpers that build the directory and deliver events.

    Events that `DirectoryService` publishes stay on the fake bus until `deliver_events` hands
    them to `LifecycleService`, as the EventBridge rules do in the deployed stack. The module's
    constants are repeated as class attributes because pytest advises against importing a conftest.
    """

    START = START
    COOLDOWN = COOLDOWN
    OUR_NUMBER = OUR_NUMBER
    OTHER_OUR_NUMBER = OTHER_OUR_NUMBER
    COMPANY_ID = COMPANY_ID
    COMPANY_NAME = COMPANY_NAME

    def __init__(
        self,
        consents: InMemoryConsents | None = None,
        sender: FakeSmsSender | None = None,
        publisher: FakePublisher | None = None,
    ) -> None:
        self.clock = ManualClock(START)
        self.policy = ConsentPolicy(cooldown=COOLDOWN, origination_number=OUR_NUMBER)
        self.directory_repository = InMemoryDirectory()
        self.consents = consents or InMemoryConsents()
        self.sender = sender or FakeSmsSender(OUR_NUMBER)
        self.publisher = publisher or FakePublisher()
        self.telemetry = FakeTelemetry()

        self.opt_in = OptInService(
            self.directory_repository,
            self.consents,
            self.sender,
            self.publisher,
            self.clock,
            self.policy,
            self.telemetry,
        )
        self.inbound = InboundService(
            self.directory_repository,
            self.consents,
            self.sender,
            self.publisher,
            self.clock,
            self.telemetry,
            "US",
        )
        self.lifecycle = LifecycleService(self.directory_repository, self.opt_in)
        self.directory = DirectoryService(
            self.directory_repository, self.publisher, self.clock, "US", own_numbers=frozenset({OUR_NUMBER})
        )
        self.tasks = TaskService(
            self.directory_repository,
            self.consents,
            self.sender,
            self.publisher,
            self.clock,
            self.policy,
            self.telemetry,
        )
        self.scheduler = SchedulerService(self.consents, self.opt_in, self.tasks, self.clock, self.telemetry)

        self._phones = fictional_phones()
        self._delivered = 0
        self._operations = itertools.count(1)
        self._inbound_ids = itertools.count(1)
        self.directory.put_company(COMPANY_ID, COMPANY_NAME, "help@harborpoint.example")

    # Directory ------------------------------------------------------------------------------------

    def company(self, company_id: str, name: str) -> Company:
        """Create another company with its display name."""
        return self.directory.put_company(company_id, name, None)

    def new_phone(self) -> str:
        return next(self._phones)

    def contact(
        self,
        name: str = "Dana Buyer",
        phone: str | None = "new",
        sms_enabled: bool = True,
        company_id: str = COMPANY_ID,
    ) -> Contact:
        """Create a contact; ``phone="new"`` gives it an unused number, None gives it none."""
        mobile_phone = self.new_phone() if phone == "new" else phone
        return self.directory.create_contact(company_id, name, mobile_phone, sms_enabled)

    @staticmethod
    def task(
        name: str = "Closing reminder",
        roles: list[str] | None = None,
        contacts: list[Contact] | None = None,
        message: str = "Reminder: the closing is on Friday at 10:00.",
    ) -> NewTask:
        """Build a task as the API receives it; ``roles`` defaults to the buyer."""
        return NewTask(
            name=name,
            message=message,
            recipient_roles=["buyer"] if roles is None else roles,
            recipient_contact_ids=[contact.contact_id for contact in contacts or []],
        )

    def property(
        self,
        parties: list[tuple[Contact, str]],
        tasks: list[NewTask] | None = None,
        company_id: str = COMPANY_ID,
    ) -> Property:
        """Create a property with ``(contact, role)`` parties and ``tasks`` (default: one task for buyers)."""
        return self.directory.create_property(
            company_id,
            "12 Harbor Lane, Hoboken NJ",
            [Party(contact.contact_id, role) for contact, role in parties],
            [self.task()] if tasks is None else tasks,
        )

    def launch(self, prop: Property) -> list[RecipientOutcome]:
        """Press Launch and deliver the resulting events; returns the opt-in outcomes."""
        self.directory.launch(prop.company_id, prop.property_id)
        return self.deliver_events()

    # Events ---------------------------------------------------------------------------------------

    def deliver_events(self) -> list[RecipientOutcome]:
        """Hand every event published since the last call to the lifecycle service, in order."""
        outcomes: list[RecipientOutcome] = []
        while self._delivered < len(self.publisher.events):
            index = self._delivered
            self._delivered += 1
            outcomes.extend(self.dispatch(self.publisher.events[index], f"event-{index}"))
        return outcomes

    def dispatch(self, event: DomainEvent, event_id: str) -> list[RecipientOutcome]:
        """Deliver one event with the given EventBridge id; other detail types are ignored."""
        detail = event.detail
        if event.detail_type == TASKS_LAUNCHED:
            return self.lifecycle.on_tasks_launched(detail["company_id"], detail["property_id"], event_id)
        if event.detail_type == PARTY_ADDED:
            return self.lifecycle.on_party_added(
                detail["company_id"], detail["property_id"], detail["contact_id"], event_id
            )
        if event.detail_type == RECIPIENT_ADDED:
            return self.lifecycle.on_recipients_added(
                detail["company_id"], detail["property_id"], detail["contact_ids"], event_id
            )
        if event.detail_type == CONTACT_UPDATED:
            return self.lifecycle.on_contact_updated(detail["company_id"], detail["contact_id"], event_id)
        return []

    # Consent --------------------------------------------------------------------------------------

    def request(self, contact: Contact, operation_id: str | None = None) -> RecipientOutcome:
        """Click Request Opt-In for the contact, with a fresh operation id unless one is given."""
        return self.opt_in.request_for_contact(
            contact.company_id, contact.contact_id, operation_id or f"click-{next(self._operations)}"
        )

    def reply(
        self,
        phone: str,
        body: str,
        to_number: str = OUR_NUMBER,
        previous_message_id: str | None = None,
        inbound_message_id: str | None = None,
    ) -> InboundOutcome:
        """Deliver a text from ``phone`` to one of our numbers."""
        return self.inbound.handle(
            InboundSms(
                from_number=phone,
                to_number=to_number,
                body=body,
                inbound_message_id=inbound_message_id or f"inbound-{next(self._inbound_ids)}",
                previous_published_message_id=previous_message_id,
            )
        )

    def opted_in_contact(self, **contact_fields: object) -> Contact:
        """Create a contact whose phone replied YES to an opt-in request."""
        contact = self.contact(**contact_fields)
        self.request(contact)
        self.reply(contact.mobile_phone, "YES")
        return contact

    def opted_out_contact(self, **contact_fields: object) -> Contact:
        """Create a contact whose phone replied STOP to an opt-in request."""
        contact = self.contact(**contact_fields)
        self.request(contact)
        self.reply(contact.mobile_phone, "STOP")
        return contact

    def phone_consent(self, phone: str, company_id: str = COMPANY_ID) -> PhoneConsent | None:
        return self.consents.get_phone_consents(company_id, [phone]).get(phone)

    def ledger(self, phone: str, company_id: str = COMPANY_ID) -> list[LedgerEntry]:
        return self.consents.ledger(company_id, phone)

    def ledger_actions(
        self, phone: str, action: LedgerAction, company_id: str = COMPANY_ID
    ) -> list[LedgerEntry]:
        return [entry for entry in self.ledger(phone, company_id) if entry.action is action]

    def texts_to(self, phone: str) -> list[str]:
        return [sms.body for sms in self.sender.texts_to(phone)]


@pytest.fixture
def make_world() -> Callable[..., World]:
    """Return a factory of worlds; pass wrapped fakes to inject faults into one port."""
    return World


@pytest.fixture
def world() -> World:
    return World()
