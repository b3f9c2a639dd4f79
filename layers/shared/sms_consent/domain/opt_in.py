"""Sending opt-in requests under the cooldown, quiet-hours and opt-out rules."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum

from sms_consent.domain import messages, quiet_hours
from sms_consent.domain.clock import Clock
from sms_consent.domain.model import (
    Cause,
    Company,
    Consent,
    ConsentStatus,
    Contact,
    LedgerAction,
    LedgerEntry,
    OutboundMessage,
    PhoneConsent,
    ScheduledSend,
    new_entry_id,
)
from sms_consent.domain.phone import mask_phone
from sms_consent.domain.ports import (
    ClaimRejected,
    ConsentChange,
    ConsentRepository,
    DirectoryRepository,
    DomainEvent,
    DuplicateChange,
    EventPublisher,
    OptInClaim,
    OutboundSms,
    SmsSender,
    StaleConsent,
    Telemetry,
)
from sms_consent.errors import (
    AlreadyOptedIn,
    CannotText,
    ConsentServiceError,
    CooldownActive,
    DestinationOptedOut,
    NotFound,
    OptedOut,
    TransientError,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsentPolicy:
    """Settings of the consent rules.

    ``max_send_attempts`` bounds how often one operation may send after a crash between the
    provider accepting a text and our record of it: 2 means at most one extra text.
    """

    cooldown: timedelta
    origination_number: str
    default_region: str = "US"
    quiet_hours: bool = True
    display_time_zone: str = "UTC"
    max_send_attempts: int = 2
    # A task goes to one number at most once in this window, so a double click sends one text.
    task_resend_window: timedelta = timedelta(minutes=10)
    # Automatic replies that change nothing (HELP, a repeated STOP) go to one number at most once
    # in this window, so two auto-responders cannot text each other in a loop.
    reply_repeat_window: timedelta = timedelta(hours=1)


class OutcomeKind(StrEnum):
    SENT = "sent"
    SKIPPED = "skipped"
    SCHEDULED = "scheduled"


class SkipReason(StrEnum):
    """Reason that no opt-in request (or task message) went to a recipient."""

    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"
    NOT_OPTED_IN = "not_opted_in"
    COOLDOWN = "cooldown"
    NO_MOBILE_NUMBER = "no_mobile_number"
    SMS_DISABLED = "sms_disabled"
    CONTACT_NOT_FOUND = "contact_not_found"
    ALREADY_SENT = "already_sent"
    PROVIDER_OPTED_OUT = "provider_opted_out"
    SEND_REJECTED = "send_rejected"
    NUMBER_CHANGED = "number_changed"


SKIP_EXPLANATIONS = {
    SkipReason.OPTED_IN: "the phone has already opted in",
    SkipReason.OPTED_OUT: "the phone has opted out; only the recipient can opt in again, by texting START",
    SkipReason.NOT_OPTED_IN: "the recipient has not opted in to texts",
    SkipReason.COOLDOWN: "an opt-in request was sent less than the cooldown period ago",
    SkipReason.NO_MOBILE_NUMBER: "the contact has no mobile number",
    SkipReason.SMS_DISABLED: "SMS is disabled for the contact",
    SkipReason.CONTACT_NOT_FOUND: "the contact does not exist",
    SkipReason.ALREADY_SENT: "this operation already sent its text",
    SkipReason.PROVIDER_OPTED_OUT: "the SMS provider reports the phone as opted out",
    SkipReason.SEND_REJECTED: "the SMS provider rejected the message",
    SkipReason.NUMBER_CHANGED: "the contact's mobile number changed after the text was deferred",
}


@dataclass
class RecipientOutcome:
    """Outcome for one phone and the contacts that share it."""

    kind: OutcomeKind
    phone: str | None
    contact_ids: list[str] = field(default_factory=list)
    reason: SkipReason | None = None
    next_request_at: datetime | None = None
    scheduled_for: datetime | None = None
    message_id: str | None = None


def _whole_second_after(value: datetime) -> datetime:
    """Round up to the second: the stored expiry is a TTL in whole epoch seconds."""
    if value.microsecond:
        return value.replace(microsecond=0) + timedelta(seconds=1)
    return value


def operation_token(operation_id: str, phone: str) -> str:
    """Derive the claim token of one operation on one phone; a redelivered event derives the same one."""
    return hashlib.sha256(f"{operation_id}|{phone}".encode()).hexdigest()[:32]


def usable_phone(contact: Contact) -> tuple[str | None, SkipReason | None]:
    """Return the contact's phone, or why the contact cannot be texted at all."""
    if not contact.mobile_phone:
        return None, SkipReason.NO_MOBILE_NUMBER
    if not contact.sms_enabled:
        return None, SkipReason.SMS_DISABLED
    return contact.mobile_phone, None


class OptInService:
    """Send opt-in requests: at most one per company and phone per cooldown period.

    Parameters
    ----------
    directory, consents
        Repositories of contacts and of consent state.
    sender
        Outbound SMS port.
    publisher
        Event bus port for ``Opt-In Requested`` events.
    clock
        Source of the current time; tests move it instead of waiting.
    policy
        Cooldown length, origination number and quiet-hours switch.
    telemetry
        Business metrics.
    """

    def __init__(
        self,
        directory: DirectoryRepository,
        consents: ConsentRepository,
        sender: SmsSender,
        publisher: EventPublisher,
        clock: Clock,
        policy: ConsentPolicy,
        telemetry: Telemetry,
    ) -> None:
        self._directory = directory
        self._consents = consents
        self._sender = sender
        self._publisher = publisher
        self._clock = clock
        self._policy = policy
        self._telemetry = telemetry

    # Entry points -------------------------------------------------------------------------------

    def request_for_contacts(
        self, company_id: str, contact_ids: Iterable[str], cause: Cause, operation_id: str
    ) -> list[RecipientOutcome]:
        """Send automatic opt-in requests (launch, party added, contact updated).

        Contacts that share a phone get one request between them. Each skip is logged with its
        reason. Transient faults are re-raised after the failed phone's claim is released, so a
        retry of the same ``operation_id`` sends what is missing and nothing twice.
        """
        ids = list(dict.fromkeys(contact_ids))
        contacts = self._directory.get_contacts(company_id, ids)
        outcomes: list[RecipientOutcome] = []
        phones: dict[str, list[str]] = {}
        for contact_id in ids:
            contact = contacts.get(contact_id)
            if contact is None:
                outcomes.append(
                    RecipientOutcome(OutcomeKind.SKIPPED, None, [contact_id], SkipReason.CONTACT_NOT_FOUND)
                )
                continue
            phone, reason = usable_phone(contact)
            if phone is None:
                outcomes.append(RecipientOutcome(OutcomeKind.SKIPPED, None, [contact_id], reason))
                continue
            phones.setdefault(phone, []).append(contact_id)

        if phones:
            company = self._company(company_id)
            current = self._consents.get_phone_consents(company_id, list(phones))
            for phone, sharing in phones.items():
                outcome = self._request_phone(
                    company,
                    phone,
                    sharing,
                    current.get(phone) or PhoneConsent(Consent(company_id, phone)),
                    cause,
                    operation_token(operation_id, phone),
                    automatic=True,
                )
                outcomes.append(outcome)

        for outcome in outcomes:
            self._log_outcome(company_id, cause, outcome)
        return outcomes

    def request_for_contact(self, company_id: str, contact_id: str, operation_id: str) -> RecipientOutcome:
        """Send the opt-in request an agent asked for with the Request Opt-In link.

        Raises
        ------
        NotFound
            The contact does not exist in the company.
        CannotText
            The contact has no mobile number or SMS is disabled.
        AlreadyOptedIn, OptedOut
            The phone's consent is final for this purpose.
        CooldownActive
            A request went out less than the cooldown period ago.
        """
        contact = self._directory.get_contact(company_id, contact_id)
        if contact is None:
            raise NotFound(f"contact {contact_id} not found")
        phone, reason = usable_phone(contact)
        if phone is None:
            raise CannotText(reason.value, SKIP_EXPLANATIONS[reason])

        company = self._company(company_id)
        current = self._consents.get_phone_consents(company_id, [phone]).get(phone) or PhoneConsent(
            Consent(company_id, phone)
        )
        outcome = self._request_phone(
            company,
            phone,
            [contact_id],
            current,
            Cause.USER_REQUEST,
            operation_token(operation_id, phone),
            automatic=False,
        )
        self._log_outcome(company_id, Cause.USER_REQUEST, outcome)
        if outcome.kind is OutcomeKind.SKIPPED:
            raise self._skip_error(outcome)
        return outcome

    def release_scheduled(self, scheduled: ScheduledSend, operation_id: str) -> RecipientOutcome:
        """Send an opt-in request that quiet hours deferred, if it is still wanted.

        The contacts are read again: one who disabled SMS or changed number overnight is skipped,
        because the deferred request was meant for the number they had then.
        """
        contacts = self._directory.get_contacts(scheduled.company_id, scheduled.contact_ids)
        reachable_contact_ids = [
            contact.contact_id for contact in contacts.values() if usable_phone(contact)[0] == scheduled.phone
        ]
        if not reachable_contact_ids:
            outcome = RecipientOutcome(
                OutcomeKind.SKIPPED,
                scheduled.phone,
                scheduled.contact_ids,
                self._stale_reason(contacts, scheduled.phone),
            )
            self._log_outcome(scheduled.company_id, scheduled.cause, outcome)
            return outcome
        company = self._company(scheduled.company_id)
        current = self._consents.get_phone_consents(scheduled.company_id, [scheduled.phone]).get(
            scheduled.phone
        ) or PhoneConsent(Consent(scheduled.company_id, scheduled.phone))
        current.scheduled = None
        outcome = self._request_phone(
            company,
            scheduled.phone,
            reachable_contact_ids,
            current,
            scheduled.cause,
            operation_token(operation_id, scheduled.phone),
            automatic=True,
        )
        self._log_outcome(scheduled.company_id, scheduled.cause, outcome)
        return outcome

    # The rules ----------------------------------------------------------------------------------

    def _request_phone(
        self,
        company: Company,
        phone: str,
        contact_ids: list[str],
        current: PhoneConsent,
        cause: Cause,
        token: str,
        automatic: bool,
    ) -> RecipientOutcome:
        now = self._clock.now()
        decision = self._decide(current, token, now)
        if isinstance(decision, RecipientOutcome):
            decision.contact_ids = contact_ids
            decision.phone = phone
            return decision
        reclaim = decision

        if automatic and self._policy.quiet_hours and not reclaim:
            opens_at = quiet_hours.next_allowed_send_time(phone, now)
            if opens_at is not None:
                return self._defer(company.company_id, phone, contact_ids, cause, opens_at, current)

        claim = OptInClaim(
            company_id=company.company_id,
            phone=phone,
            token=token,
            claimed_at=now,
            expires_at=_whole_second_after(now + self._policy.cooldown),
            previous=current,
            reclaim=reclaim,
        )
        try:
            self._consents.claim_opt_in(claim)
        except ClaimRejected:
            # Another request won the race; report what it left behind.
            fresh = self._consents.get_phone_consents(company.company_id, [phone]).get(phone)
            outcome = self._decide(fresh or current, token, now, claim_lost=True)
            assert isinstance(outcome, RecipientOutcome)
            outcome.contact_ids = contact_ids
            outcome.phone = phone
            self._telemetry.count("CooldownBlocked")
            return outcome

        return self._send_claimed(company, claim, contact_ids, cause)

    def _decide(
        self, current: PhoneConsent, token: str, now: datetime, claim_lost: bool = False
    ) -> RecipientOutcome | bool:
        """Return a skip outcome, or whether the claim is a retry of this same operation."""
        status = current.consent.status
        if status is ConsentStatus.OPTED_IN:
            return RecipientOutcome(OutcomeKind.SKIPPED, None, reason=SkipReason.OPTED_IN)
        if status is ConsentStatus.OPTED_OUT:
            return RecipientOutcome(OutcomeKind.SKIPPED, None, reason=SkipReason.OPTED_OUT)
        cooldown = current.cooldown
        if cooldown is not None and cooldown.is_active(now):
            same_operation = cooldown.token == token
            can_retry = (
                cooldown.message_id is None and cooldown.send_attempts < self._policy.max_send_attempts
            )
            if same_operation and can_retry and not claim_lost:
                return True
            if same_operation:
                return RecipientOutcome(OutcomeKind.SKIPPED, None, reason=SkipReason.ALREADY_SENT)
            return RecipientOutcome(
                OutcomeKind.SKIPPED, None, reason=SkipReason.COOLDOWN, next_request_at=cooldown.expires_at
            )
        if claim_lost:
            # The condition failed but the state now allows a claim: a concurrent writer changed it
            # in between. Treat it as blocked by a cooldown that has not become visible yet.
            return RecipientOutcome(
                OutcomeKind.SKIPPED, None, reason=SkipReason.COOLDOWN, next_request_at=now
            )
        return False

    def _defer(
        self,
        company_id: str,
        phone: str,
        contact_ids: list[str],
        cause: Cause,
        opens_at: datetime,
        current: PhoneConsent,
    ) -> RecipientOutcome:
        existing = current.scheduled
        if existing is None or existing.due_at != opens_at:
            self._consents.put_scheduled(
                ScheduledSend(
                    company_id=company_id,
                    phone=phone,
                    kind="opt_in_request",
                    due_at=opens_at,
                    cause=cause,
                    contact_ids=contact_ids,
                    created_at=self._clock.now(),
                )
            )
            self._telemetry.count("OptInDeferred")
        return RecipientOutcome(OutcomeKind.SCHEDULED, phone, contact_ids, scheduled_for=opens_at)

    def _send_claimed(
        self, company: Company, claim: OptInClaim, contact_ids: list[str], cause: Cause
    ) -> RecipientOutcome:
        body = messages.opt_in_request(company)
        sms = OutboundSms(
            destination=claim.phone,
            body=body,
            company_id=company.company_id,
            kind="opt_in_request",
            reference_id=claim.token,
        )
        try:
            sent = self._sender.send(sms)
        except DestinationOptedOut:
            self.mark_opted_out_by_provider(company.company_id, claim.phone)
            return RecipientOutcome(
                OutcomeKind.SKIPPED, claim.phone, contact_ids, SkipReason.PROVIDER_OPTED_OUT
            )
        except TransientError:
            # Give the claim back so the retry of this event (or the next click) can send.
            self._consents.release_claim(claim)
            self._telemetry.count("OptInSendFailed")
            raise
        except ConsentServiceError:
            self._consents.release_claim(claim)
            self._telemetry.count("OptInSendFailed")
            return RecipientOutcome(OutcomeKind.SKIPPED, claim.phone, contact_ids, SkipReason.SEND_REJECTED)

        now = self._clock.now()
        message = OutboundMessage(sent.message_id, company.company_id, claim.phone, "opt_in_request", now)
        entry = LedgerEntry(
            company_id=company.company_id,
            phone=claim.phone,
            recorded_at=now,
            entry_id=new_entry_id(),
            action=LedgerAction.OPT_IN_REQUESTED,
            status_after=ConsentStatus.PENDING,
            cause=cause,
            direction="outbound",
            text=body,
            message_id=sent.message_id,
            origination_number=sent.origination_number,
            destination_number=claim.phone,
        )
        self._consents.record_sent(claim, message, sent.origination_number, entry)
        self._telemetry.count("OptInRequested")
        if claim.previous.scheduled is not None:
            # This request replaces the deferred one, so drop that and the status stops showing it.
            self._consents.delete_scheduled(claim.previous.scheduled)
        publish_quietly(
            self._publisher,
            self._telemetry,
            DomainEvent(
                "Opt-In Requested",
                {
                    "company_id": company.company_id,
                    "phone": claim.phone,
                    "contact_ids": contact_ids,
                    "cause": cause.value,
                    "message_id": sent.message_id,
                    "requested_at": now.isoformat(),
                    "next_request_at": claim.expires_at.isoformat(),
                },
            ),
        )
        return RecipientOutcome(
            OutcomeKind.SENT,
            claim.phone,
            contact_ids,
            next_request_at=claim.expires_at,
            message_id=sent.message_id,
        )

    def mark_opted_out_by_provider(self, company_id: str, phone: str) -> bool:
        """Record an opt-out that the SMS provider reported; returns whether the consent changed."""
        return record_provider_opt_out(
            self._consents,
            self._publisher,
            self._telemetry,
            self._clock.now(),
            company_id,
            phone,
            self._policy.origination_number,
        )

    # Helpers ------------------------------------------------------------------------------------

    @staticmethod
    def _stale_reason(contacts: dict[str, Contact], phone: str) -> SkipReason:
        """Say why no contact of a deferred request can still be texted at ``phone``."""
        if not contacts:
            return SkipReason.CONTACT_NOT_FOUND
        reasons = [usable_phone(contact)[1] for contact in contacts.values()]
        for reason in (SkipReason.SMS_DISABLED, SkipReason.NO_MOBILE_NUMBER):
            if reason in reasons:
                return reason
        return SkipReason.NUMBER_CHANGED

    def _company(self, company_id: str) -> Company:
        return self._directory.get_company(company_id) or Company(company_id)

    def _skip_error(self, outcome: RecipientOutcome) -> ConsentServiceError:
        if outcome.reason is SkipReason.OPTED_IN:
            return AlreadyOptedIn("the phone has already opted in; no opt-in request is needed")
        if outcome.reason in (SkipReason.OPTED_OUT, SkipReason.PROVIDER_OPTED_OUT):
            return OptedOut(SKIP_EXPLANATIONS[SkipReason.OPTED_OUT])
        if outcome.reason in (SkipReason.COOLDOWN, SkipReason.ALREADY_SENT) and outcome.next_request_at:
            return CooldownActive(outcome.next_request_at)
        if outcome.reason is SkipReason.ALREADY_SENT:
            return CooldownActive(self._clock.now() + self._policy.cooldown)
        return CannotText(
            outcome.reason.value if outcome.reason else "unknown", SKIP_EXPLANATIONS.get(outcome.reason, "")
        )

    def _log_outcome(self, company_id: str, cause: Cause, outcome: RecipientOutcome) -> None:
        fields = {
            "company_id": company_id,
            "cause": cause.value,
            "phone": mask_phone(outcome.phone),
            "contact_ids": outcome.contact_ids,
            "outcome": outcome.kind.value,
        }
        if outcome.kind is OutcomeKind.SKIPPED:
            fields["reason"] = outcome.reason.value if outcome.reason else None
            logger.info("Opt-in request skipped", extra=fields)
        elif outcome.kind is OutcomeKind.SCHEDULED:
            fields["scheduled_for"] = outcome.scheduled_for.isoformat() if outcome.scheduled_for else None
            logger.info("Opt-in request deferred by quiet hours", extra=fields)
        else:
            fields["message_id"] = outcome.message_id
            logger.info("Opt-in request sent", extra=fields)


def record_provider_opt_out(
    consents: ConsentRepository,
    publisher: EventPublisher,
    telemetry: Telemetry,
    now: datetime,
    company_id: str,
    phone: str,
    origination_number: str,
) -> bool:
    """Set a phone's consent in one company to opted out because the SMS provider reports it so.

    Appends a ledger entry (cause ``provider_report``) and publishes ``Opted Out``. Returns False,
    writing nothing, when the consent is already opted out or changed concurrently.
    ``origination_number`` is stored when the consent has none: a START is matched by the number
    it was sent to, so without one the recipient could never undo this opt-out.
    """
    current = consents.get_phone_consents(company_id, [phone]).get(phone)
    consent = current.consent if current else Consent(company_id, phone)
    if consent.status is ConsentStatus.OPTED_OUT:
        return False
    if consent.origination_number is None:
        consent = replace(consent, origination_number=origination_number)
    change = ConsentChange(
        consent=consent.with_status(ConsentStatus.OPTED_OUT, now),
        ledger_entry=LedgerEntry(
            company_id=company_id,
            phone=phone,
            recorded_at=now,
            entry_id=new_entry_id(),
            action=LedgerAction.OPTED_OUT,
            status_after=ConsentStatus.OPTED_OUT,
            cause=Cause.PROVIDER_REPORT,
            direction="none",
            origination_number=consent.origination_number,
            destination_number=phone,
        ),
        expected_status=consent.status,
    )
    try:
        consents.apply_changes([change])
    except (DuplicateChange, StaleConsent):
        return False
    telemetry.count("OptedOut")
    publish_quietly(
        publisher,
        telemetry,
        DomainEvent(
            "Opted Out",
            {
                "company_id": company_id,
                "phone": phone,
                "cause": Cause.PROVIDER_REPORT.value,
                "at": now.isoformat(),
            },
        ),
    )
    return True


def publish_quietly(publisher: EventPublisher, telemetry: Telemetry, event: DomainEvent) -> None:
    """Publish an event after the state change it reports; a failure is logged, not re-raised.

    Re-raising would make the caller retry an operation whose text already went out.
    """
    try:
        publisher.publish([event])
    except TransientError as error:
        telemetry.count("EventPublishFailed")
        logger.error("Event publish failed", extra={"detail_type": event.detail_type, "error": str(error)})
