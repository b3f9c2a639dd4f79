"""Entities of the consent domain. Plain dataclasses: no AWS, no persistence details."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from sms_consent.errors import NotFound


def new_entry_id() -> str:
    """Return a ledger entry id that sorts in creation order after its timestamp.

    Entries with the same ``recorded_at`` (a clock that does not tick between two writes, as in
    tests and the local stack) then keep the order in which they were written.
    """
    return f"{time.time_ns():020d}{uuid.uuid4().hex[:12]}"


class Role(StrEnum):
    """Role of a party in a real-estate transaction."""

    BUYER = "buyer"
    SELLER = "seller"
    LISTING_AGENT = "listing_agent"
    BUYER_AGENT = "buyer_agent"
    LENDER = "lender"
    TITLE = "title"
    ESCROW = "escrow"
    ATTORNEY = "attorney"
    TRANSACTION_COORDINATOR = "transaction_coordinator"
    TEAM_MEMBER = "team_member"


class ConsentStatus(StrEnum):
    """Consent of one phone number within one company."""

    NOT_REQUESTED = "not_requested"
    PENDING = "pending"
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"


class SmsStatus(StrEnum):
    """Status the UI shows for a contact: the consent status, or the reason the contact cannot be asked."""

    NOT_REQUESTED = "not_requested"
    PENDING = "pending"
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"
    NO_MOBILE_NUMBER = "no_mobile_number"
    SMS_DISABLED = "sms_disabled"


class Cause(StrEnum):
    """Reason the service sent a text or changed a consent, as stored in the consent ledger."""

    LAUNCH = "launch"
    PARTY_ADDED = "party_added"
    RECIPIENT_ADDED = "recipient_added"
    CONTACT_UPDATED = "contact_updated"
    USER_REQUEST = "user_request"
    RECIPIENT_REPLY = "recipient_reply"
    PROVIDER_REPORT = "provider_report"
    TASK_SEND = "task_send"


class LedgerAction(StrEnum):
    """Kind of consent ledger entry."""

    OPT_IN_REQUESTED = "opt_in_requested"
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"
    HELP_SENT = "help_sent"
    REPLY_IGNORED = "reply_ignored"
    CONFIRMATION_SENT = "confirmation_sent"


@dataclass
class Company:
    """A tenant. Its name goes into every text; until a name is set, texts use the company id."""

    company_id: str
    name: str | None = None
    support_contact: str | None = None
    updated_at: datetime | None = None

    @property
    def display_name(self) -> str:
        return self.name or self.company_id


@dataclass
class Contact:
    """A person in the company's address book. ``mobile_phone`` is E.164 or None."""

    company_id: str
    contact_id: str
    name: str
    mobile_phone: str | None
    sms_enabled: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Party:
    """A contact's role on one property."""

    contact_id: str
    role: str


@dataclass
class SmsTask:
    """A text message to send to the parties in ``recipient_roles`` and to manually added contacts."""

    task_id: str
    name: str
    message: str
    recipient_roles: list[str] = field(default_factory=list)
    recipient_contact_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Recipient:
    """One recipient of an SMS task: reached through a party role or added by hand."""

    contact_id: str
    via: str  # "role" or "manual"
    role: str | None = None


@dataclass
class Property:
    """A property under transaction, with its parties and SMS tasks.

    ``version`` increases on every save, so concurrent edits cannot silently overwrite each other.
    """

    company_id: str
    property_id: str
    address: str
    parties: list[Party]
    sms_tasks: list[SmsTask]
    created_at: datetime
    launched_at: datetime | None = None
    launch_event_id: str | None = None
    version: int = 0

    @property
    def launched(self) -> bool:
        return self.launched_at is not None

    def task(self, task_id: str) -> SmsTask:
        for task in self.sms_tasks:
            if task.task_id == task_id:
                return task
        raise NotFound(f"SMS task {task_id} not found on property {self.property_id}")

    def task_recipients(self, task: SmsTask) -> list[Recipient]:
        """List the task's recipients in a stable order, each contact once (a role match wins)."""
        recipients: list[Recipient] = []
        seen: set[str] = set()
        for party in self.parties:
            if party.role in task.recipient_roles and party.contact_id not in seen:
                recipients.append(Recipient(party.contact_id, "role", party.role))
                seen.add(party.contact_id)
        for contact_id in task.recipient_contact_ids:
            if contact_id not in seen:
                recipients.append(Recipient(contact_id, "manual"))
                seen.add(contact_id)
        return recipients

    def sms_recipient_ids(self) -> list[str]:
        """List every contact that receives at least one SMS task, each once."""
        ordered: dict[str, None] = {}
        for task in self.sms_tasks:
            for recipient in self.task_recipients(task):
                ordered.setdefault(recipient.contact_id, None)
        return list(ordered)

    def contact_ids(self) -> set[str]:
        ids = {party.contact_id for party in self.parties}
        for task in self.sms_tasks:
            ids.update(task.recipient_contact_ids)
        return ids


@dataclass
class Consent:
    """Consent of one phone number within one company; shared by every contact with that number."""

    company_id: str
    phone: str
    status: ConsentStatus = ConsentStatus.NOT_REQUESTED
    requested_at: datetime | None = None
    opted_in_at: datetime | None = None
    opted_out_at: datetime | None = None
    origination_number: str | None = None
    last_message_id: str | None = None
    updated_at: datetime | None = None

    def with_status(self, status: ConsentStatus, at: datetime) -> Consent:
        changed = replace(self, status=status, updated_at=at)
        if status is ConsentStatus.OPTED_IN:
            changed.opted_in_at = at
        elif status is ConsentStatus.OPTED_OUT:
            changed.opted_out_at = at
        return changed


@dataclass
class Cooldown:
    """The claim that an opt-in request went to a phone; blocks the next one until ``expires_at``.

    ``token`` identifies the operation that claimed it, so a retry of that same operation can
    finish the job instead of being blocked by its own claim.
    """

    company_id: str
    phone: str
    token: str
    claimed_at: datetime
    expires_at: datetime
    message_id: str | None = None
    send_attempts: int = 1

    def is_active(self, now: datetime) -> bool:
        # DynamoDB deletes expired items days late and they stay readable until then,
        # so an item's presence means nothing: only the stored expiry decides.
        return self.expires_at > now


@dataclass
class ScheduledSend:
    """A text held back by quiet hours, released by the scheduled rule when the window opens."""

    company_id: str
    phone: str
    kind: str  # "opt_in_request" or "task_message"
    due_at: datetime
    cause: Cause
    contact_ids: list[str] = field(default_factory=list)
    property_id: str | None = None
    task_id: str | None = None
    created_at: datetime | None = None

    @property
    def schedule_key(self) -> str:
        if self.kind == "task_message":
            return f"TASK#{self.property_id}#{self.task_id}#{self.phone}"
        return f"OPTIN#{self.phone}"


@dataclass
class PhoneConsent:
    """Everything known about one phone in one company: consent, cooldown and a deferred request."""

    consent: Consent
    cooldown: Cooldown | None = None
    scheduled: ScheduledSend | None = None

    def next_request_at(self, now: datetime) -> datetime | None:
        if self.cooldown is not None and self.cooldown.is_active(now):
            return self.cooldown.expires_at
        return None


@dataclass(frozen=True)
class LedgerEntry:
    """One line of the consent audit trail. Entries are appended and never changed."""

    company_id: str
    phone: str
    recorded_at: datetime
    entry_id: str
    action: LedgerAction
    status_after: ConsentStatus
    cause: Cause
    direction: str  # "outbound", "inbound" or "none"
    text: str | None = None
    message_id: str | None = None
    origination_number: str | None = None
    destination_number: str | None = None


@dataclass(frozen=True)
class OutboundMessage:
    """A text the service sent, kept so a reply's ``previousPublishedMessageId`` can find its company."""

    message_id: str
    company_id: str
    phone: str
    kind: str
    sent_at: datetime


@dataclass(frozen=True)
class InboundSms:
    """A reply from a recipient, as AWS End User Messaging reports it."""

    from_number: str  # the recipient's phone (originationNumber)
    to_number: str  # our number that received it (destinationNumber)
    body: str
    inbound_message_id: str
    keyword: str | None = None
    previous_published_message_id: str | None = None
