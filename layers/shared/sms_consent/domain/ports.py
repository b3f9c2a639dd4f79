"""Ports: what the domain needs from the outside world. Adapters implement them; tests use fakes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sms_consent.domain.model import (
    Company,
    Consent,
    ConsentStatus,
    Contact,
    LedgerEntry,
    OutboundMessage,
    PhoneConsent,
    Property,
    ScheduledSend,
)


class DirectoryRepository(Protocol):
    """Companies, contacts and properties, always keyed by company."""

    def get_company(self, company_id: str) -> Company | None: ...

    def put_company(self, company: Company) -> None: ...

    def create_contact(self, contact: Contact) -> None: ...

    def update_contact(self, contact: Contact) -> None: ...

    def get_contact(self, company_id: str, contact_id: str) -> Contact | None: ...

    def get_contacts(self, company_id: str, contact_ids: Iterable[str]) -> dict[str, Contact]:
        """Read many contacts in batches; missing ids are absent from the result."""
        ...

    def save_property(self, prop: Property, expected_version: int | None) -> None:
        """Store ``prop`` with ``version`` = ``expected_version`` + 1.

        Raises `sms_consent.errors.Conflict` when another writer saved first (or, for a new
        property with ``expected_version`` None, when the id exists). Also records which
        properties each contact belongs to, for `property_ids_of_contact`.
        """
        ...

    def get_property(self, company_id: str, property_id: str) -> Property | None: ...

    def property_ids_of_contact(self, company_id: str, contact_id: str) -> list[str]: ...


@dataclass
class OptInClaim:
    """A request to claim the cooldown of one phone and move its consent to pending, atomically."""

    company_id: str
    phone: str
    token: str
    claimed_at: datetime
    expires_at: datetime
    previous: PhoneConsent
    # True when the same operation claimed before and never recorded a sent message.
    reclaim: bool = False


@dataclass
class ConsentChange:
    """A consent status change with its ledger entry; ``expected_status`` guards against lost updates."""

    consent: Consent
    ledger_entry: LedgerEntry
    expected_status: ConsentStatus | None = None


@dataclass(frozen=True)
class PendingReply:
    """The reply to an inbound message, stored with the message's marker until sent."""

    destination: str
    origination: str
    body: str
    company_id: str
    kind: str


class ClaimRejected(Exception):
    """The conditional claim failed: a cooldown is active, or the consent is final."""


class DuplicateChange(Exception):
    """The change's ``dedupe_key`` was stored before, so the change was applied already."""


class StaleConsent(Exception):
    """The consent's status is no longer ``expected_status``."""


class ConsentRepository(Protocol):
    """Consents, cooldowns, outbound message ids, deferred sends and the consent ledger."""

    def get_phone_consents(self, company_id: str, phones: Sequence[str]) -> dict[str, PhoneConsent]:
        """Read consent, cooldown and deferred request of each phone in batches (BatchGetItem)."""
        ...

    def claim_opt_in(self, claim: OptInClaim) -> None:
        """Claim the cooldown and set the consent to pending in one transaction.

        Raises `ClaimRejected` when the cooldown is active for another token, when the consent is
        opted in or opted out, or when this token already sent its message.
        """
        ...

    def record_sent(
        self, claim: OptInClaim, message: OutboundMessage, origination_number: str, entry: LedgerEntry
    ) -> None:
        """Store the message id on the claim and the consent, its lookup item and the ledger entry."""
        ...

    def release_claim(self, claim: OptInClaim) -> None:
        """Delete the claim if it still carries ``claim.token``, and restore the previous consent."""
        ...

    def apply_changes(
        self,
        changes: Sequence[ConsentChange],
        dedupe_key: str | None = None,
        reply: PendingReply | None = None,
    ) -> None:
        """Write the consents and append their ledger entries in one transaction.

        ``dedupe_key``, when set, is stored in the same transaction (even with no changes), so the
        same inbound message can never apply twice; ``reply`` is stored with it, flagged unsent.
        Raises `DuplicateChange` when the key exists, `StaleConsent` when a consent's status is no
        longer its ``expected_status``; either way nothing is written.
        """
        ...

    def claim_task_send(
        self, company_id: str, task_id: str, phone: str, now: datetime, until: datetime
    ) -> bool:
        """Claim the right to text a task to a phone until ``until``; False while another claim holds."""
        ...

    def release_task_send(self, company_id: str, task_id: str, phone: str) -> None: ...

    def claim_reply_slot(
        self, phone: str, our_number: str, kind: str, now: datetime, until: datetime
    ) -> bool:
        """Claim the right to send one automatic reply of ``kind`` to ``phone`` until ``until``."""
        ...

    def unsent_reply(self, dedupe_key: str) -> PendingReply | None:
        """Return the reply stored with ``dedupe_key`` if it was never flagged sent."""
        ...

    def mark_reply_sent(self, dedupe_key: str) -> None:
        """Flag the reply stored with ``dedupe_key`` as sent; a missing marker is ignored."""
        ...

    def consents_for_phone(self, phone: str) -> list[Consent]:
        """List the consents of one phone across all companies (an index query, not a scan)."""
        ...

    def find_outbound_message(self, message_id: str) -> OutboundMessage | None: ...

    def record_outbound(self, message: OutboundMessage) -> None: ...

    def append_ledger(self, entry: LedgerEntry) -> None: ...

    def ledger(self, company_id: str, phone: str) -> list[LedgerEntry]: ...

    def put_scheduled(self, scheduled: ScheduledSend) -> None: ...

    def due_scheduled(self, now: datetime, limit: int) -> list[ScheduledSend]: ...

    def delete_scheduled(self, scheduled: ScheduledSend) -> None: ...


@dataclass(frozen=True)
class OutboundSms:
    """A text to send."""

    destination: str
    body: str
    company_id: str
    kind: str
    reference_id: str
    # Our number to send from; None means the configured origination identity.
    origination_identity: str | None = None


@dataclass(frozen=True)
class SentSms:
    """The provider's response to an accepted text."""

    message_id: str
    origination_number: str


class SmsSender(Protocol):
    """Outbound SMS.

    ``send`` raises `sms_consent.errors.DestinationOptedOut` when the provider reports the phone as
    opted out, `sms_consent.errors.SmsSendFailed` for faults worth retrying, and
    `sms_consent.errors.PermanentSendFailure` for other rejections.
    """

    def send(self, sms: OutboundSms) -> SentSms: ...

    def opted_out_numbers(self) -> Iterable[str]:
        """Yield the phones on the provider's opt-out list."""
        ...


@dataclass(frozen=True)
class DomainEvent:
    """An event for other services, put on the application's event bus."""

    detail_type: str
    detail: dict[str, Any] = field(default_factory=dict)


class EventPublisher(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None:
        """Put the events on the bus; raises `sms_consent.errors.TransientError` when that fails."""
        ...


class Telemetry(Protocol):
    """Business metrics, named as past-tense events (``OptInRequested``)."""

    def count(self, name: str, value: int = 1) -> None: ...
