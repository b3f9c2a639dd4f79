"""Replies from recipients: YES and START opt in, STOP opts out, HELP gets the help text."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from sms_consent.domain import messages
from sms_consent.domain.clock import Clock
from sms_consent.domain.keywords import ReplyIntent, classify_reply
from sms_consent.domain.model import (
    Cause,
    Company,
    Consent,
    ConsentStatus,
    InboundSms,
    LedgerAction,
    LedgerEntry,
    OutboundMessage,
    new_entry_id,
)
from sms_consent.domain.opt_in import publish_quietly, record_provider_opt_out
from sms_consent.domain.phone import mask_phone, normalize_phone
from sms_consent.domain.ports import (
    ConsentChange,
    ConsentRepository,
    DirectoryRepository,
    DomainEvent,
    DuplicateChange,
    EventPublisher,
    OutboundSms,
    PendingReply,
    SmsSender,
    StaleConsent,
    Telemetry,
)
from sms_consent.errors import (
    DestinationOptedOut,
    InvalidPhoneNumber,
    MalformedEvent,
    PermanentSendFailure,
    TransientError,
)

logger = logging.getLogger(__name__)


class TransientConsentRace(TransientError):
    """Two replies from one phone were applied at the same moment; the retry re-reads the consents."""


class ReplyResult(StrEnum):
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"
    HELP_SENT = "help_sent"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"


@dataclass
class InboundOutcome:
    intent: ReplyIntent
    result: ReplyResult
    company_ids: list[str] = field(default_factory=list)
    reply_text: str | None = None


class InboundService:
    """Apply a recipient's reply to the consents it concerns, then reply to it with at most one text.

    A reply is matched to the companies that texted the phone from the number it was sent to. An
    opt-out applies to all of them, and an opt-in is credited to the company whose request it replies to.
    The consent change, its ledger entry and the inbound message id are written in one transaction,
    so a redelivered message changes nothing the second time.
    """

    def __init__(
        self,
        directory: DirectoryRepository,
        consents: ConsentRepository,
        sender: SmsSender,
        publisher: EventPublisher,
        clock: Clock,
        telemetry: Telemetry,
        default_region: str,
        reply_repeat_window: timedelta = timedelta(hours=1),
    ) -> None:
        self._reply_repeat_window = reply_repeat_window
        self._directory = directory
        self._consents = consents
        self._sender = sender
        self._publisher = publisher
        self._clock = clock
        self._telemetry = telemetry
        self._default_region = default_region

    def handle(self, sms: InboundSms) -> InboundOutcome:
        try:
            phone = normalize_phone(sms.from_number, self._default_region, "originationNumber")
            our_number = normalize_phone(sms.to_number, self._default_region, "destinationNumber")
        except InvalidPhoneNumber as error:
            raise MalformedEvent(f"inbound SMS has an invalid number: {error.message}") from None
        intent = classify_reply(sms.body)
        senders = [c for c in self._consents.consents_for_phone(phone) if c.origination_number == our_number]
        log_fields = {
            "phone": mask_phone(phone),
            "intent": intent.value,
            "inbound_message_id": sms.inbound_message_id,
        }

        if intent is ReplyIntent.OPT_OUT:
            outcome = self._opt_out(sms, phone, our_number, senders)
        elif intent is ReplyIntent.OPT_IN:
            outcome = self._opt_in(sms, phone, our_number, senders)
        elif intent is ReplyIntent.HELP:
            outcome = self._help(sms, phone, our_number, senders)
        else:
            self._telemetry.count("ReplyIgnored")
            outcome = InboundOutcome(intent, ReplyResult.IGNORED)
        logger.info(
            "Inbound SMS handled",
            extra={**log_fields, "result": outcome.result.value, "company_ids": outcome.company_ids},
        )
        return outcome

    # Intents --------------------------------------------------------------------------------------

    def _opt_out(
        self, sms: InboundSms, phone: str, our_number: str, senders: list[Consent]
    ) -> InboundOutcome:
        targets = [consent for consent in senders if consent.status is not ConsentStatus.OPTED_OUT]
        reply = None
        if senders:
            companies = [self._company(consent.company_id) for consent in senders]
            reply = self._pending_reply(
                phone,
                our_number,
                messages.opted_out_confirmation(companies),
                senders[0].company_id,
                "opt_out_confirmation",
            )
        if not self._apply(
            sms, targets, ConsentStatus.OPTED_OUT, LedgerAction.OPTED_OUT, phone, our_number, reply
        ):
            return self._duplicate(sms, ReplyIntent.OPT_OUT)
        changed = [consent.company_id for consent in targets]
        for company_id in changed:
            self._telemetry.count("OptedOut")
            self._event("Opted Out", company_id, phone)
        if reply is None:
            self._telemetry.count("ReplyFromUnknownPhone")
            return InboundOutcome(ReplyIntent.OPT_OUT, ReplyResult.IGNORED)
        # A repeated STOP changes nothing; its confirmation is limited like a help text.
        self._send_reply(
            sms, reply, limited=not changed, confirmed=changed, confirmed_status=ConsentStatus.OPTED_OUT
        )
        return InboundOutcome(ReplyIntent.OPT_OUT, ReplyResult.OPTED_OUT, changed, reply.body)

    def _opt_in(self, sms: InboundSms, phone: str, our_number: str, senders: list[Consent]) -> InboundOutcome:
        targets = self._opt_in_targets(sms, senders)
        if targets:
            company_id = targets[0].company_id
            text = messages.opted_in_confirmation([self._company(consent.company_id) for consent in targets])
            reply = self._pending_reply(phone, our_number, text, company_id, "opt_in_confirmation")
        else:
            # A YES with no pending request changes nothing, and the help text explains what to do.
            credited = self._credited(sms, senders)
            text = self._help_text_for(senders, sms)
            reply = self._pending_reply(
                phone, our_number, text, credited.company_id if credited else "", "help"
            )
        if not self._apply(
            sms, targets, ConsentStatus.OPTED_IN, LedgerAction.OPTED_IN, phone, our_number, reply
        ):
            return self._duplicate(sms, ReplyIntent.OPT_IN)
        if not targets:
            self._telemetry.count("ReplyWithoutPendingRequest")
            self._send_reply(sms, reply, limited=True)
            return InboundOutcome(ReplyIntent.OPT_IN, ReplyResult.HELP_SENT, reply_text=reply.body)
        changed = [consent.company_id for consent in targets]
        for company_id in changed:
            self._telemetry.count("OptInConfirmed")
            self._event("Opt-In Confirmed", company_id, phone)
        self._send_reply(
            sms, reply, opted_in=changed, confirmed=changed, confirmed_status=ConsentStatus.OPTED_IN
        )
        return InboundOutcome(ReplyIntent.OPT_IN, ReplyResult.OPTED_IN, changed, reply.body)

    def _help(self, sms: InboundSms, phone: str, our_number: str, senders: list[Consent]) -> InboundOutcome:
        credited = self._credited(sms, senders)
        text = self._help_text_for(senders, sms)
        reply = self._pending_reply(phone, our_number, text, credited.company_id if credited else "", "help")
        if not self._apply(sms, [], ConsentStatus.PENDING, LedgerAction.HELP_SENT, phone, our_number, reply):
            return self._duplicate(sms, ReplyIntent.HELP)
        self._send_reply(sms, reply, limited=True)
        self._telemetry.count("HelpSent")
        return InboundOutcome(
            ReplyIntent.HELP, ReplyResult.HELP_SENT, [credited.company_id] if credited else [], text
        )

    def _duplicate(self, sms: InboundSms, intent: ReplyIntent) -> InboundOutcome:
        """Handle a redelivered message: change nothing, but send its reply if that never went out.

        The reply is stored with the message's marker and flagged once sent, so a retry after a
        failed send still reaches the recipient, and a plain redelivery sends nothing.
        """
        self._telemetry.count("InboundDuplicateDropped")
        unsent = self._consents.unsent_reply(sms.inbound_message_id)
        if unsent is None:
            return InboundOutcome(intent, ReplyResult.DUPLICATE)
        self._send_reply(sms, unsent)
        return InboundOutcome(intent, ReplyResult.DUPLICATE, [unsent.company_id], unsent.body)

    # Matching -------------------------------------------------------------------------------------

    def _opt_in_targets(self, sms: InboundSms, senders: list[Consent]) -> list[Consent]:
        """Find the consents a YES or START is credited to.

        First the company whose text the reply follows (``previousPublishedMessageId``), then
        the most recent pending request to the phone from this number. Failing both, a phone that
        opted out re-subscribes to every company it opted out of from this number, because its
        STOP applied to all of them.
        """
        answerable = [c for c in senders if c.status in (ConsentStatus.PENDING, ConsentStatus.OPTED_OUT)]
        if sms.previous_published_message_id:
            message = self._consents.find_outbound_message(sms.previous_published_message_id)
            if message is not None and any(c.company_id == message.company_id for c in senders):
                # The reply follows a known text of this company, so it can only be that
                # company's: a second YES must not opt in another company that asked too.
                return [c for c in answerable if c.company_id == message.company_id]
        pending = [c for c in senders if c.status is ConsentStatus.PENDING]
        if pending:
            return [max(pending, key=lambda c: (c.requested_at is not None, c.requested_at))]
        return [c for c in senders if c.status is ConsentStatus.OPTED_OUT]

    def _credited(self, sms: InboundSms, senders: list[Consent]) -> Company | None:
        if sms.previous_published_message_id:
            message = self._consents.find_outbound_message(sms.previous_published_message_id)
            if message is not None and any(c.company_id == message.company_id for c in senders):
                return self._company(message.company_id)
        if not senders:
            return None
        latest = max(senders, key=lambda c: (c.updated_at is not None, c.updated_at))
        return self._company(latest.company_id)

    def _help_text_for(self, senders: list[Consent], sms: InboundSms) -> str:
        company = self._credited(sms, senders)
        if company is None:
            return messages.NO_PENDING_REQUEST_HELP
        return messages.help_text(company)

    # Writes ---------------------------------------------------------------------------------------

    def _apply(
        self,
        sms: InboundSms,
        targets: list[Consent],
        status: ConsentStatus,
        action: LedgerAction,
        phone: str,
        our_number: str,
        reply: PendingReply | None,
    ) -> bool:
        """Change ``targets`` to ``status`` and mark the message handled, in one transaction.

        The marker stores ``reply`` unsent. Returns False when the message was handled before (a
        redelivery): nothing is written then.
        """
        now = self._clock.now()
        changes = [
            ConsentChange(
                consent=consent.with_status(status, now),
                ledger_entry=LedgerEntry(
                    company_id=consent.company_id,
                    phone=phone,
                    recorded_at=now,
                    entry_id=new_entry_id(),
                    action=action,
                    status_after=status,
                    cause=Cause.RECIPIENT_REPLY,
                    direction="inbound",
                    text=sms.body,
                    message_id=sms.inbound_message_id,
                    origination_number=phone,
                    destination_number=our_number,
                ),
                expected_status=consent.status,
            )
            for consent in targets
        ]
        try:
            self._consents.apply_changes(changes, dedupe_key=sms.inbound_message_id, reply=reply)
        except DuplicateChange:
            return False
        except StaleConsent:
            # A concurrent reply changed one of the consents; retrying re-reads them.
            raise TransientConsentRace("a consent changed while the reply was applied; retry") from None
        return True

    @staticmethod
    def _pending_reply(phone: str, our_number: str, text: str, company_id: str, kind: str) -> PendingReply:
        return PendingReply(
            destination=phone, origination=our_number, body=text, company_id=company_id, kind=kind
        )

    def _send_reply(
        self,
        sms: InboundSms,
        reply: PendingReply,
        limited: bool = False,
        opted_in: Sequence[str] = (),
        confirmed: Sequence[str] = (),
        confirmed_status: ConsentStatus | None = None,
    ) -> None:
        """Send the stored reply from the number that received the message, then flag it sent.

        A retryable failure propagates, so the retry finds the reply unsent and sends it. A crash
        between the send and the flag can repeat this one reply once.

        Every reply opens a ``reply_repeat_window`` for its kind and number. A ``limited`` reply
        (to a message that changed nothing) is held back inside that window. So a repeated STOP
        gets no second confirmation, and two auto-responders cannot text each other without end.

        ``opted_in`` lists the companies a YES or START just opted in. If the provider still
        reports the phone as opted out, they go back to opted out, because no text can reach it.
        Each company in ``confirmed`` gets a ledger entry with the exact text and its message id.
        """
        now = self._clock.now()
        opened = self._consents.claim_reply_slot(
            reply.destination, reply.origination, reply.kind, now, now + self._reply_repeat_window
        )
        if limited and not opened:
            self._telemetry.count("ReplyLimited")
            logger.info(
                "Repeated automatic reply held back",
                extra={"phone": mask_phone(reply.destination), "kind": reply.kind},
            )
            self._consents.mark_reply_sent(sms.inbound_message_id)
            return
        try:
            sent = self._sender.send(
                OutboundSms(
                    destination=reply.destination,
                    body=reply.body,
                    company_id=reply.company_id,
                    kind=reply.kind,
                    reference_id=sms.inbound_message_id,
                    origination_identity=reply.origination,
                )
            )
        except DestinationOptedOut:
            self._telemetry.count("ReplySendFailed")
            logger.warning(
                "Reply text rejected: the provider lists the phone as opted out",
                extra={"phone": mask_phone(reply.destination), "kind": reply.kind},
            )
            self._restore_provider_opt_out(reply, opted_in)
        except PermanentSendFailure as error:
            # The consent change is kept, because a reply the provider refuses is not worth a retry.
            self._telemetry.count("ReplySendFailed")
            logger.warning(
                "Reply text rejected",
                extra={
                    "phone": mask_phone(reply.destination),
                    "kind": reply.kind,
                    "error": type(error).__name__,
                },
            )
        else:
            if reply.company_id:
                # A later reply whose previousPublishedMessageId is this text belongs to this company.
                self._consents.record_outbound(
                    OutboundMessage(sent.message_id, reply.company_id, reply.destination, reply.kind, now)
                )
            if confirmed_status is not None:
                for company_id in confirmed:
                    self._consents.append_ledger(
                        LedgerEntry(
                            company_id=company_id,
                            phone=reply.destination,
                            recorded_at=now,
                            entry_id=new_entry_id(),
                            action=LedgerAction.CONFIRMATION_SENT,
                            status_after=confirmed_status,
                            cause=Cause.RECIPIENT_REPLY,
                            direction="outbound",
                            text=reply.body,
                            message_id=sent.message_id,
                            origination_number=reply.origination,
                            destination_number=reply.destination,
                        )
                    )
        self._consents.mark_reply_sent(sms.inbound_message_id)

    def _restore_provider_opt_out(self, reply: PendingReply, company_ids: Sequence[str]) -> None:
        for company_id in company_ids:
            record_provider_opt_out(
                self._consents,
                self._publisher,
                self._telemetry,
                self._clock.now(),
                company_id,
                reply.destination,
                reply.origination,
            )

    def _event(self, detail_type: str, company_id: str, phone: str) -> None:
        publish_quietly(
            self._publisher,
            self._telemetry,
            DomainEvent(
                detail_type,
                {
                    "company_id": company_id,
                    "phone": phone,
                    "cause": Cause.RECIPIENT_REPLY.value,
                    "at": self._clock.now().isoformat(),
                },
            ),
        )

    def _company(self, company_id: str) -> Company:
        return self._directory.get_company(company_id) or Company(company_id)
