"""SMS tasks: the status views the UI shows, and sending a task's message to opted-in recipients."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sms_consent.domain import quiet_hours
from sms_consent.domain.clock import Clock
from sms_consent.domain.model import (
    Cause,
    Contact,
    LedgerEntry,
    PhoneConsent,
    Property,
    Recipient,
    ScheduledSend,
    SmsStatus,
    SmsTask,
)
from sms_consent.domain.opt_in import ConsentPolicy, publish_quietly, record_provider_opt_out
from sms_consent.domain.phone import mask_phone
from sms_consent.domain.ports import (
    ConsentRepository,
    DirectoryRepository,
    DomainEvent,
    EventPublisher,
    OutboundSms,
    SmsSender,
    Telemetry,
)
from sms_consent.domain.segments import SegmentInfo, measure
from sms_consent.domain.status import ContactSmsStatus, contact_sms_status
from sms_consent.errors import DestinationOptedOut, NotFound, PermanentSendFailure, TransientError

logger = logging.getLogger(__name__)

_STATUS_REASONS = {
    SmsStatus.NOT_REQUESTED: "Opt-in not requested yet; the recipient has not opted in.",
    SmsStatus.PENDING: "Waiting for the recipient to reply YES to the opt-in request.",
    SmsStatus.OPTED_OUT: "The recipient opted out; only they can opt in again, by texting START.",
    SmsStatus.NO_MOBILE_NUMBER: "The contact has no mobile number.",
    SmsStatus.SMS_DISABLED: "SMS is disabled for this contact.",
}


@dataclass(frozen=True)
class RecipientView:
    """One recipient of a task with the status the SMS Task box and Preview & Send show."""

    recipient: Recipient
    contact: Contact | None
    status: ContactSmsStatus
    # Set on every recipient after the first with the same number: the number gets one text.
    shares_number_with: str | None = None

    @property
    def can_send(self) -> bool:
        return self.status.can_send and self.shares_number_with is None

    @property
    def warning(self) -> bool:
        return not self.can_send

    @property
    def reason(self) -> str | None:
        if self.contact is None:
            return "The contact no longer exists."
        if self.shares_number_with is not None and self.status.can_send:
            return "Shares a mobile number with another recipient; that number gets the text once."
        if self.status.can_send:
            return None
        if self.status.scheduled_for is not None and self.status.status is SmsStatus.NOT_REQUESTED:
            return self.status.detail
        return _STATUS_REASONS.get(self.status.status, self.status.detail)


@dataclass(frozen=True)
class TaskView:
    property: Property
    task: SmsTask
    recipients: list[RecipientView]


@dataclass(frozen=True)
class TaskPreview:
    property: Property
    task: SmsTask
    message: str
    segments: SegmentInfo
    recipients: list[RecipientView]


@dataclass(frozen=True)
class TaskSendOutcome:
    """The outcome of Send for one recipient: sent, scheduled (quiet hours) or skipped with the reason."""

    recipient: Recipient
    outcome: str
    reason: str | None = None
    message_id: str | None = None
    scheduled_for: datetime | None = None


class TaskService:
    """Read contact and task status, and send a task's message to its opted-in recipients only.

    Parameters
    ----------
    directory, consents
        Repositories.
    sender
        Outbound SMS port.
    publisher
        Event bus port for ``SMS Task Sent``.
    clock
        Source of the current time.
    policy
        Display time zone and quiet-hours switch.
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

    def contact_status(self, company_id: str, contact_id: str) -> tuple[Contact, ContactSmsStatus]:
        contact = self._directory.get_contact(company_id, contact_id)
        if contact is None:
            raise NotFound(f"contact {contact_id} not found")
        phone_consent = None
        if contact.mobile_phone:
            phone_consent = self._consents.get_phone_consents(company_id, [contact.mobile_phone]).get(
                contact.mobile_phone
            )
        return contact, contact_sms_status(
            contact, phone_consent, self._clock.now(), self._policy.display_time_zone
        )

    def consent_history(self, company_id: str, contact_id: str) -> tuple[Contact, list[LedgerEntry]]:
        """Return the ledger of the contact's current number (consent belongs to the number)."""
        contact = self._directory.get_contact(company_id, contact_id)
        if contact is None:
            raise NotFound(f"contact {contact_id} not found")
        if not contact.mobile_phone:
            return contact, []
        return contact, self._consents.ledger(company_id, contact.mobile_phone)

    def task_view(self, company_id: str, property_id: str, task_id: str) -> TaskView:
        prop = self._property(company_id, property_id)
        task = prop.task(task_id)
        return TaskView(prop, task, self._recipient_views(prop, task))

    def preview(self, company_id: str, property_id: str, task_id: str) -> TaskPreview:
        prop = self._property(company_id, property_id)
        task = prop.task(task_id)
        return TaskPreview(prop, task, task.message, measure(task.message), self._recipient_views(prop, task))

    def send(
        self, company_id: str, property_id: str, task_id: str, operation_id: str
    ) -> list[TaskSendOutcome]:
        """Text the task's message to every opted-in recipient; everyone else is skipped with the reason.

        Recipients in quiet hours are deferred to the scheduled release, not dropped.
        """
        prop = self._property(company_id, property_id)
        task = prop.task(task_id)
        outcomes: list[TaskSendOutcome] = []
        sent_phones: set[str] = set()
        now = self._clock.now()
        for view in self._recipient_views(prop, task):
            phone = view.contact.mobile_phone if view.contact else None
            if not view.can_send or phone is None or phone in sent_phones:
                outcomes.append(TaskSendOutcome(view.recipient, "skipped", view.reason))
                continue
            sent_phones.add(phone)
            opens_at = quiet_hours.next_allowed_send_time(phone, now) if self._policy.quiet_hours else None
            if opens_at is not None:
                self._consents.put_scheduled(
                    ScheduledSend(
                        company_id=company_id,
                        phone=phone,
                        kind="task_message",
                        due_at=opens_at,
                        cause=Cause.TASK_SEND,
                        contact_ids=[view.recipient.contact_id],
                        property_id=property_id,
                        task_id=task_id,
                        created_at=now,
                    )
                )
                outcomes.append(
                    TaskSendOutcome(
                        view.recipient, "scheduled", "Quiet hours at the recipient.", scheduled_for=opens_at
                    )
                )
                continue
            outcomes.append(self._send_one(company_id, task, view.recipient, phone, operation_id))

        sent = [o for o in outcomes if o.outcome == "sent"]
        if sent:
            publish_quietly(
                self._publisher,
                self._telemetry,
                DomainEvent(
                    "SMS Task Sent",
                    {
                        "company_id": company_id,
                        "property_id": property_id,
                        "task_id": task_id,
                        "sent_to_contact_ids": [o.recipient.contact_id for o in sent],
                        "skipped_contact_ids": [
                            o.recipient.contact_id for o in outcomes if o.outcome == "skipped"
                        ],
                        "sent_at": now.isoformat(),
                    },
                ),
            )
        return outcomes

    def release_scheduled_task_message(
        self, scheduled: ScheduledSend, operation_id: str
    ) -> TaskSendOutcome | None:
        """Send a task message that quiet hours deferred, if the recipient can still be texted.

        The contact and the consent are read again, so a recipient who opted out, disabled SMS or
        changed number overnight is skipped with that reason.
        """
        prop = self._directory.get_property(scheduled.company_id, scheduled.property_id or "")
        if prop is None:
            return None
        try:
            task = prop.task(scheduled.task_id or "")
        except NotFound:
            return None
        contact_id = scheduled.contact_ids[0] if scheduled.contact_ids else ""
        recipient = Recipient(contact_id, "scheduled")
        contact = self._directory.get_contact(scheduled.company_id, contact_id)
        if contact is None:
            return TaskSendOutcome(recipient, "skipped", "The contact no longer exists.")
        if contact.mobile_phone and contact.mobile_phone != scheduled.phone:
            return TaskSendOutcome(
                recipient, "skipped", "The contact's mobile number changed after the text was deferred."
            )
        phone_consent = (
            self._consents.get_phone_consents(scheduled.company_id, [scheduled.phone]).get(scheduled.phone)
            if contact.mobile_phone
            else None
        )
        status = contact_sms_status(contact, phone_consent, self._clock.now(), self._policy.display_time_zone)
        if not status.can_send:
            return TaskSendOutcome(recipient, "skipped", _STATUS_REASONS.get(status.status, status.detail))
        return self._send_one(scheduled.company_id, task, recipient, scheduled.phone, operation_id)

    # Helpers --------------------------------------------------------------------------------------

    def _send_one(
        self, company_id: str, task: SmsTask, recipient: Recipient, phone: str, operation_id: str
    ) -> TaskSendOutcome:
        now = self._clock.now()
        window = self._policy.task_resend_window
        if not self._consents.claim_task_send(company_id, task.task_id, phone, now, now + window):
            # A double click, or two agents pressing Send together, must not text the same task twice.
            minutes = int(window.total_seconds() // 60)
            return TaskSendOutcome(
                recipient, "skipped", f"This task was sent to this number less than {minutes} minutes ago."
            )
        try:
            sent = self._sender.send(
                OutboundSms(
                    destination=phone,
                    body=task.message,
                    company_id=company_id,
                    kind="task_message",
                    reference_id=operation_id,
                )
            )
        except DestinationOptedOut:
            self._on_provider_opt_out(company_id, phone)
            return TaskSendOutcome(recipient, "skipped", "The SMS provider reports the phone as opted out.")
        except PermanentSendFailure:
            return TaskSendOutcome(recipient, "skipped", "The SMS provider rejected the message.")
        except TransientError:
            self._consents.release_task_send(company_id, task.task_id, phone)
            self._telemetry.count("TaskMessageSendFailed")
            return TaskSendOutcome(recipient, "failed", "The SMS provider is unavailable; press Send again.")
        self._telemetry.count("TaskMessageSent")
        logger.info(
            "Task message sent",
            extra={"company_id": company_id, "task_id": task.task_id, "phone": mask_phone(phone)},
        )
        return TaskSendOutcome(recipient, "sent", message_id=sent.message_id)

    def _on_provider_opt_out(self, company_id: str, phone: str) -> None:
        record_provider_opt_out(
            self._consents,
            self._publisher,
            self._telemetry,
            self._clock.now(),
            company_id,
            phone,
            self._policy.origination_number,
        )

    def _property(self, company_id: str, property_id: str) -> Property:
        prop = self._directory.get_property(company_id, property_id)
        if prop is None:
            raise NotFound(f"property {property_id} not found")
        return prop

    def _recipient_views(self, prop: Property, task: SmsTask) -> list[RecipientView]:
        recipients = prop.task_recipients(task)
        contacts = self._directory.get_contacts(prop.company_id, [r.contact_id for r in recipients])
        phones = sorted({c.mobile_phone for c in contacts.values() if c.mobile_phone})
        consents: dict[str, PhoneConsent] = (
            self._consents.get_phone_consents(prop.company_id, phones) if phones else {}
        )
        now = self._clock.now()
        views = []
        first_with_phone: dict[str, str] = {}
        for recipient in recipients:
            contact = contacts.get(recipient.contact_id)
            shares_with = None
            if contact is None:
                status = ContactSmsStatus(SmsStatus.NOT_REQUESTED, "The contact no longer exists.")
            else:
                phone_consent = consents.get(contact.mobile_phone) if contact.mobile_phone else None
                status = contact_sms_status(contact, phone_consent, now, self._policy.display_time_zone)
                if contact.mobile_phone and status.can_send:
                    first = first_with_phone.setdefault(contact.mobile_phone, recipient.contact_id)
                    shares_with = None if first == recipient.contact_id else first
            views.append(RecipientView(recipient, contact, status, shares_with))
        return views
