"""Companies, contacts and properties, and the events that tell the opt-in functions to act."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sms_consent.domain.clock import Clock
from sms_consent.domain.model import Company, Contact, Party, Property, SmsTask
from sms_consent.domain.phone import normalize_phone
from sms_consent.domain.ports import DirectoryRepository, DomainEvent, EventPublisher
from sms_consent.errors import (
    AlreadyLaunched,
    Conflict,
    FieldError,
    InvalidPhoneNumber,
    NotFound,
    TransientError,
    ValidationFailed,
)

logger = logging.getLogger(__name__)

EVENT_SOURCE = "sms-consent.api"
TASKS_LAUNCHED = "Tasks Launched"
PARTY_ADDED = "Party Added"
RECIPIENT_ADDED = "Recipient Added"
CONTACT_UPDATED = "Contact Updated"

_SAVE_ATTEMPTS = 3


@dataclass(frozen=True)
class NewTask:
    """An SMS task as the API receives it."""

    name: str
    message: str
    recipient_roles: list[str]
    recipient_contact_ids: list[str]


class DirectoryService:
    """Maintain companies, contacts and properties, and announce changes that need opt-in requests.

    Parameters
    ----------
    directory
        Repository of companies, contacts and properties.
    publisher
        Event bus port; ``Tasks Launched``, ``Party Added``, ``Recipient Added`` and
        ``Contact Updated`` go there.
    clock
        Source of the current time.
    default_region
        Region for phone numbers typed without a country code.
    """

    def __init__(
        self,
        directory: DirectoryRepository,
        publisher: EventPublisher,
        clock: Clock,
        default_region: str,
        own_numbers: frozenset[str] = frozenset(),
    ) -> None:
        self._directory = directory
        self._publisher = publisher
        self._clock = clock
        self._default_region = default_region
        self._own_numbers = own_numbers

    # Company --------------------------------------------------------------------------------------

    def get_company(self, company_id: str) -> Company:
        return self._directory.get_company(company_id) or Company(company_id)

    def put_company(self, company_id: str, name: str, support_contact: str | None) -> Company:
        company = Company(company_id, name, support_contact, self._clock.now())
        self._directory.put_company(company)
        return company

    # Contacts -------------------------------------------------------------------------------------

    def create_contact(
        self, company_id: str, name: str, mobile_phone: str | None, sms_enabled: bool
    ) -> Contact:
        phone = self._contact_phone(mobile_phone)
        now = self._clock.now()
        contact = Contact(company_id, uuid.uuid4().hex, name, phone, sms_enabled, now, now)
        self._directory.create_contact(contact)
        return contact

    def get_contact(self, company_id: str, contact_id: str) -> Contact:
        contact = self._directory.get_contact(company_id, contact_id)
        if contact is None:
            raise NotFound(f"contact {contact_id} not found")
        return contact

    def update_contact(
        self,
        company_id: str,
        contact_id: str,
        changes: dict[str, object],
    ) -> Contact:
        """Apply ``changes`` (keys ``name``, ``mobile_phone``, ``sms_enabled``) to a contact.

        When the contact becomes textable (a new valid number, or SMS enabled again) a
        ``Contact Updated`` event lets the party-added function send the opt-in request for any
        launched SMS task the contact receives. A new number starts with its own consent, because
        consent belongs to the number.
        """
        contact = self.get_contact(company_id, contact_id)
        updated = replace(contact, updated_at=self._clock.now())
        if "name" in changes:
            updated.name = str(changes["name"])
        if "mobile_phone" in changes:
            raw = changes["mobile_phone"]
            updated.mobile_phone = self._contact_phone(str(raw) if raw is not None else None)
        if "sms_enabled" in changes:
            updated.sms_enabled = bool(changes["sms_enabled"])
        self._directory.update_contact(updated)

        became_textable = bool(updated.mobile_phone and updated.sms_enabled) and (
            updated.mobile_phone != contact.mobile_phone or not contact.sms_enabled
        )
        if became_textable:
            self._publish(
                CONTACT_UPDATED,
                {
                    "company_id": company_id,
                    "contact_id": contact_id,
                    "updated_at": updated.updated_at.isoformat(),
                },
            )
        return updated

    # Properties -----------------------------------------------------------------------------------

    def create_property(
        self, company_id: str, address: str, parties: list[Party], tasks: list[NewTask]
    ) -> Property:
        self._require_contacts(company_id, [p.contact_id for p in parties], "parties")
        for index, task in enumerate(tasks):
            self._require_contacts(
                company_id, task.recipient_contact_ids, f"sms_tasks[{index}].recipient_contact_ids"
            )
        prop = Property(
            company_id=company_id,
            property_id=uuid.uuid4().hex,
            address=address,
            parties=_unique_parties(parties),
            sms_tasks=[_new_task(task) for task in tasks],
            created_at=self._clock.now(),
        )
        self._directory.save_property(prop, expected_version=None)
        prop.version = 1
        return prop

    def get_property(self, company_id: str, property_id: str) -> Property:
        prop = self._directory.get_property(company_id, property_id)
        if prop is None:
            raise NotFound(f"property {property_id} not found")
        return prop

    def launch(self, company_id: str, property_id: str) -> Property:
        """Record the launch once and put ``Tasks Launched`` on the bus.

        A second launch raises `AlreadyLaunched` and sends nothing. If the event cannot be put on
        the bus, the launch is rolled back so that the user can press the button again.
        """
        prop = self.get_property(company_id, property_id)
        if prop.launched:
            raise AlreadyLaunched(f"property {property_id} was launched at {prop.launched_at.isoformat()}")
        launched = replace(prop, launched_at=self._clock.now(), launch_event_id=uuid.uuid4().hex)
        try:
            self._directory.save_property(launched, expected_version=prop.version)
        except Conflict:
            raise AlreadyLaunched(
                f"property {property_id} was launched or changed at the same moment"
            ) from None
        launched.version = prop.version + 1
        try:
            self._publish(
                TASKS_LAUNCHED,
                {
                    "company_id": company_id,
                    "property_id": property_id,
                    "launch_id": launched.launch_event_id,
                    "launched_at": launched.launched_at.isoformat(),
                },
            )
        except TransientError:
            rolled_back = replace(launched, launched_at=None, launch_event_id=None)
            self._directory.save_property(rolled_back, expected_version=launched.version)
            raise
        return launched

    def add_party(self, company_id: str, property_id: str, party: Party) -> Property:
        self._require_contacts(company_id, [party.contact_id], "contact_id")

        def change(prop: Property) -> bool:
            if party in prop.parties:
                return False
            prop.parties.append(party)
            return True

        prop, changed = self._modify(company_id, property_id, change)
        if changed and prop.launched:
            self._publish(
                PARTY_ADDED,
                {
                    "company_id": company_id,
                    "property_id": property_id,
                    "contact_id": party.contact_id,
                    "role": party.role,
                },
            )
        return prop

    def add_task(self, company_id: str, property_id: str, task: NewTask) -> tuple[Property, SmsTask]:
        self._require_contacts(company_id, task.recipient_contact_ids, "recipient_contact_ids")
        created = _new_task(task)

        def change(prop: Property) -> bool:
            prop.sms_tasks.append(created)
            return True

        prop, _ = self._modify(company_id, property_id, change)
        if prop.launched:
            self._publish(
                RECIPIENT_ADDED,
                {
                    "company_id": company_id,
                    "property_id": property_id,
                    "task_id": created.task_id,
                    "contact_ids": [r.contact_id for r in prop.task_recipients(created)],
                },
            )
        return prop, created

    def add_task_recipient(
        self, company_id: str, property_id: str, task_id: str, contact_id: str
    ) -> Property:
        self._require_contacts(company_id, [contact_id], "contact_id")

        def change(prop: Property) -> bool:
            task = prop.task(task_id)
            if contact_id in task.recipient_contact_ids:
                return False
            task.recipient_contact_ids.append(contact_id)
            return True

        prop, changed = self._modify(company_id, property_id, change)
        if changed and prop.launched:
            self._publish(
                RECIPIENT_ADDED,
                {
                    "company_id": company_id,
                    "property_id": property_id,
                    "task_id": task_id,
                    "contact_ids": [contact_id],
                },
            )
        return prop

    def launched_properties_receiving(self, company_id: str, contact_id: str) -> list[Property]:
        """List the launched properties where the contact receives at least one SMS task."""
        found = []
        for property_id in self._directory.property_ids_of_contact(company_id, contact_id):
            prop = self._directory.get_property(company_id, property_id)
            if prop is not None and prop.launched and contact_id in prop.sms_recipient_ids():
                found.append(prop)
        return found

    # Helpers --------------------------------------------------------------------------------------

    def _contact_phone(self, raw: str | None) -> str | None:
        """Normalize a contact's mobile number; empty or blank text means no number."""
        if raw is None or not raw.strip():
            return None
        phone = normalize_phone(raw, self._default_region)
        if phone in self._own_numbers:
            raise InvalidPhoneNumber(
                "mobile_phone",
                "is the number this service sends texts from; give the contact's own mobile number",
            )
        return phone

    def _modify(
        self, company_id: str, property_id: str, change: Callable[[Property], bool]
    ) -> tuple[Property, bool]:
        """Apply ``change`` with optimistic locking, re-reading after a concurrent save."""
        for _attempt in range(_SAVE_ATTEMPTS):
            prop = self.get_property(company_id, property_id)
            expected = prop.version
            if not change(prop):
                return prop, False
            try:
                self._directory.save_property(prop, expected_version=expected)
            except Conflict:
                continue
            prop.version = expected + 1
            return prop, True
        raise Conflict(f"property {property_id} is being changed by another request; try again")

    def _require_contacts(self, company_id: str, contact_ids: list[str], field: str) -> None:
        if not contact_ids:
            return
        found = self._directory.get_contacts(company_id, contact_ids)
        missing = [contact_id for contact_id in contact_ids if contact_id not in found]
        if missing:
            raise ValidationFailed(
                [
                    FieldError(field, f"contact {contact_id} not found; create it with POST /contacts first")
                    for contact_id in missing
                ]
            )

    def _publish(self, detail_type: str, detail: dict) -> None:
        self._publisher.publish([DomainEvent(detail_type, detail)])


def _new_task(task: NewTask) -> SmsTask:
    return SmsTask(
        task_id=uuid.uuid4().hex,
        name=task.name,
        message=task.message,
        recipient_roles=list(dict.fromkeys(task.recipient_roles)),
        recipient_contact_ids=list(dict.fromkeys(task.recipient_contact_ids)),
    )


def _unique_parties(parties: list[Party]) -> list[Party]:
    return list(dict.fromkeys(parties))


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
