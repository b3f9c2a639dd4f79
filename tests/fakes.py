"""In-memory fakes of the domain's ports, with conditional writes that are atomic like DynamoDB's."""

from __future__ import annotations

import copy
import itertools
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from sms_consent.domain.model import (
    Company,
    Consent,
    ConsentStatus,
    Contact,
    Cooldown,
    LedgerEntry,
    OutboundMessage,
    PhoneConsent,
    Property,
    ScheduledSend,
)
from sms_consent.domain.ports import (
    ClaimRejected,
    ConsentChange,
    DomainEvent,
    DuplicateChange,
    OptInClaim,
    OutboundSms,
    PendingReply,
    SentSms,
    StaleConsent,
)
from sms_consent.errors import Conflict


class InMemoryDirectory:
    def __init__(self) -> None:
        self.companies: dict[str, Company] = {}
        self.contacts: dict[tuple[str, str], Contact] = {}
        self.properties: dict[tuple[str, str], Property] = {}
        self.members: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def get_company(self, company_id: str) -> Company | None:
        return copy.deepcopy(self.companies.get(company_id))

    def put_company(self, company: Company) -> None:
        self.companies[company.company_id] = copy.deepcopy(company)

    def create_contact(self, contact: Contact) -> None:
        with self._lock:
            key = (contact.company_id, contact.contact_id)
            if key in self.contacts:
                raise Conflict("contact exists")
            self.contacts[key] = copy.deepcopy(contact)

    def update_contact(self, contact: Contact) -> None:
        self.contacts[(contact.company_id, contact.contact_id)] = copy.deepcopy(contact)

    def get_contact(self, company_id: str, contact_id: str) -> Contact | None:
        return copy.deepcopy(self.contacts.get((company_id, contact_id)))

    def get_contacts(self, company_id: str, contact_ids: Iterable[str]) -> dict[str, Contact]:
        found = {}
        for contact_id in contact_ids:
            contact = self.contacts.get((company_id, contact_id))
            if contact is not None:
                found[contact_id] = copy.deepcopy(contact)
        return found

    def save_property(self, prop: Property, expected_version: int | None) -> None:
        with self._lock:
            key = (prop.company_id, prop.property_id)
            stored = self.properties.get(key)
            if expected_version is None and stored is not None:
                raise Conflict("property exists")
            if expected_version is not None and (stored is None or stored.version != expected_version):
                raise Conflict("property changed")
            saved = copy.deepcopy(prop)
            saved.version = (expected_version or 0) + 1
            self.properties[key] = saved
            for contact_id in prop.contact_ids():
                self.members.add((prop.company_id, contact_id, prop.property_id))

    def get_property(self, company_id: str, property_id: str) -> Property | None:
        return copy.deepcopy(self.properties.get((company_id, property_id)))

    def property_ids_of_contact(self, company_id: str, contact_id: str) -> list[str]:
        return sorted(p for c, k, p in self.members if c == company_id and k == contact_id)


class InMemoryConsents:
    """Consent repository whose transactions are atomic under one lock, as DynamoDB's are."""

    def __init__(self) -> None:
        self.consents: dict[tuple[str, str], Consent] = {}
        self.cooldowns: dict[tuple[str, str], Cooldown] = {}
        self.messages: dict[str, OutboundMessage] = {}
        self.ledger_entries: list[LedgerEntry] = []
        self.markers: set[str] = set()
        self.unsent_replies: dict[str, PendingReply] = {}
        self.windows: dict[tuple[str, ...], datetime] = {}
        self.scheduled: dict[tuple[str, str], ScheduledSend] = {}
        self.calls: Counter[str] = Counter()
        self._lock = threading.RLock()

    def get_phone_consents(self, company_id: str, phones: Sequence[str]) -> dict[str, PhoneConsent]:
        self.calls["get_phone_consents"] += 1
        with self._lock:
            found = {}
            for phone in phones:
                consent = self.consents.get((company_id, phone))
                cooldown = self.cooldowns.get((company_id, phone))
                scheduled = self.scheduled.get((company_id, f"OPTIN#{phone}"))
                if consent is None and cooldown is None and scheduled is None:
                    continue
                found[phone] = PhoneConsent(
                    copy.deepcopy(consent) if consent else Consent(company_id, phone),
                    copy.deepcopy(cooldown),
                    copy.deepcopy(scheduled),
                )
            return found

    def claim_opt_in(self, claim: OptInClaim) -> None:
        self.calls["claim_opt_in"] += 1
        key = (claim.company_id, claim.phone)
        with self._lock:
            cooldown = self.cooldowns.get(key)
            if claim.reclaim:
                previous = claim.previous.cooldown.send_attempts if claim.previous.cooldown else 0
                if (
                    cooldown is None
                    or cooldown.token != claim.token
                    or cooldown.message_id is not None
                    or cooldown.send_attempts != previous
                ):
                    raise ClaimRejected()
            elif cooldown is not None and cooldown.expires_at > claim.claimed_at:
                raise ClaimRejected()
            consent = self.consents.get(key)
            if consent is not None and consent.status in (ConsentStatus.OPTED_IN, ConsentStatus.OPTED_OUT):
                raise ClaimRejected()
            attempts = (cooldown.send_attempts + 1) if claim.reclaim and cooldown else 1
            self.cooldowns[key] = Cooldown(
                claim.company_id, claim.phone, claim.token, claim.claimed_at, claim.expires_at, None, attempts
            )
            base = consent or Consent(claim.company_id, claim.phone)
            self.consents[key] = replace(
                base, status=ConsentStatus.PENDING, requested_at=claim.claimed_at, updated_at=claim.claimed_at
            )

    def record_sent(
        self, claim: OptInClaim, message: OutboundMessage, origination_number: str, entry: LedgerEntry
    ) -> None:
        self.calls["record_sent"] += 1
        key = (claim.company_id, claim.phone)
        with self._lock:
            cooldown = self.cooldowns.get(key)
            if cooldown is not None and cooldown.token == claim.token:
                cooldown.message_id = message.message_id
            consent = self.consents.get(key) or Consent(claim.company_id, claim.phone)
            self.consents[key] = replace(
                consent, last_message_id=message.message_id, origination_number=origination_number
            )
            self.messages[message.message_id] = message
            self.ledger_entries.append(entry)

    def release_claim(self, claim: OptInClaim) -> None:
        self.calls["release_claim"] += 1
        key = (claim.company_id, claim.phone)
        with self._lock:
            cooldown = self.cooldowns.get(key)
            if cooldown is None or cooldown.token != claim.token:
                return
            del self.cooldowns[key]
            previous = claim.previous.consent
            if previous.status is ConsentStatus.NOT_REQUESTED and previous.updated_at is None:
                self.consents.pop(key, None)
            else:
                self.consents[key] = copy.deepcopy(previous)

    def apply_changes(
        self,
        changes: Sequence[ConsentChange],
        dedupe_key: str | None = None,
        reply: PendingReply | None = None,
    ) -> None:
        self.calls["apply_changes"] += 1
        with self._lock:
            if dedupe_key is not None and dedupe_key in self.markers:
                raise DuplicateChange()
            for change in changes:
                stored = self.consents.get((change.consent.company_id, change.consent.phone))
                stored_status = stored.status if stored else ConsentStatus.NOT_REQUESTED
                if change.expected_status is not None and stored_status is not change.expected_status:
                    raise StaleConsent()
            if dedupe_key is not None:
                self.markers.add(dedupe_key)
                if reply is not None:
                    self.unsent_replies[dedupe_key] = reply
            for change in changes:
                self.consents[(change.consent.company_id, change.consent.phone)] = copy.deepcopy(
                    change.consent
                )
                self.ledger_entries.append(change.ledger_entry)

    def claim_task_send(
        self, company_id: str, task_id: str, phone: str, now: datetime, until: datetime
    ) -> bool:
        return self._claim_window(("task", company_id, task_id, phone), now, until)

    def release_task_send(self, company_id: str, task_id: str, phone: str) -> None:
        with self._lock:
            self.windows.pop(("task", company_id, task_id, phone), None)

    def claim_reply_slot(
        self, phone: str, our_number: str, kind: str, now: datetime, until: datetime
    ) -> bool:
        return self._claim_window(("reply", phone, our_number, kind), now, until)

    def _claim_window(self, key: tuple[str, ...], now: datetime, until: datetime) -> bool:
        with self._lock:
            claimed_until = self.windows.get(key)
            if claimed_until is not None and claimed_until > now:
                return False
            self.windows[key] = until
            return True

    def unsent_reply(self, dedupe_key: str) -> PendingReply | None:
        with self._lock:
            return self.unsent_replies.get(dedupe_key)

    def mark_reply_sent(self, dedupe_key: str) -> None:
        with self._lock:
            self.unsent_replies.pop(dedupe_key, None)

    def consents_for_phone(self, phone: str) -> list[Consent]:
        with self._lock:
            return [copy.deepcopy(c) for (company, p), c in sorted(self.consents.items()) if p == phone]

    def find_outbound_message(self, message_id: str) -> OutboundMessage | None:
        return self.messages.get(message_id)

    def record_outbound(self, message: OutboundMessage) -> None:
        self.messages[message.message_id] = message

    def append_ledger(self, entry: LedgerEntry) -> None:
        self.ledger_entries.append(entry)

    def ledger(self, company_id: str, phone: str) -> list[LedgerEntry]:
        return sorted(
            (e for e in self.ledger_entries if e.company_id == company_id and e.phone == phone),
            key=lambda e: (e.recorded_at, e.entry_id),
        )

    def put_scheduled(self, scheduled: ScheduledSend) -> None:
        self.scheduled[(scheduled.company_id, scheduled.schedule_key)] = copy.deepcopy(scheduled)

    def due_scheduled(self, now: datetime, limit: int) -> list[ScheduledSend]:
        due = sorted((s for s in self.scheduled.values() if s.due_at <= now), key=lambda s: s.due_at)
        return [copy.deepcopy(s) for s in due[:limit]]

    def delete_scheduled(self, scheduled: ScheduledSend) -> None:
        self.scheduled.pop((scheduled.company_id, scheduled.schedule_key), None)


class FakeSmsSender:
    """Records every text; ``fail_with`` makes the next sends raise (one exception per send)."""

    def __init__(self, origination_number: str = "+12015550100") -> None:
        self.sent: list[OutboundSms] = []
        self.fail_with: list[Exception] = []
        self.opted_out: set[str] = set()
        self.origination_number = origination_number
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def send(self, sms: OutboundSms) -> SentSms:
        with self._lock:
            if self.fail_with:
                raise self.fail_with.pop(0)
            self.sent.append(sms)
            return SentSms(f"msg-{next(self._ids)}", sms.origination_identity or self.origination_number)

    def opted_out_numbers(self) -> Iterable[str]:
        return sorted(self.opted_out)

    def texts_to(self, phone: str) -> list[OutboundSms]:
        return [sms for sms in self.sent if sms.destination == phone]


class FakePublisher:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self.fail_with: list[Exception] = []

    def publish(self, events: Sequence[DomainEvent]) -> None:
        if self.fail_with:
            raise self.fail_with.pop(0)
        self.events.extend(events)

    def of_type(self, detail_type: str) -> list[DomainEvent]:
        return [e for e in self.events if e.detail_type == detail_type]


class FakeTelemetry:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] += value
