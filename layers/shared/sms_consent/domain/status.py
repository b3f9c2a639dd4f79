"""The SMS status of a contact, as the UI's icons and hover texts show it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sms_consent.domain.model import ConsentStatus, Contact, PhoneConsent, SmsStatus


@dataclass(frozen=True)
class ContactSmsStatus:
    """Status of one contact with the human-readable ``detail`` (hover text)."""

    status: SmsStatus
    detail: str
    requested_at: datetime | None = None
    next_request_at: datetime | None = None
    opted_in_at: datetime | None = None
    opted_out_at: datetime | None = None
    scheduled_for: datetime | None = None

    @property
    def can_send(self) -> bool:
        return self.status is SmsStatus.OPTED_IN

    @property
    def can_request_opt_in(self) -> bool:
        return self.status in (SmsStatus.NOT_REQUESTED, SmsStatus.PENDING) and self.next_request_at is None


def format_time(value: datetime, zone: str = "UTC") -> str:
    """Format an instant as "3 Dec 14:02 UTC" in ``zone``."""
    local = value.astimezone(ZoneInfo(zone))
    return f"{local.day} {local:%b %H:%M} {local.tzname()}"


def contact_sms_status(
    contact: Contact, phone_consent: PhoneConsent | None, now: datetime, zone: str = "UTC"
) -> ContactSmsStatus:
    """Compute the contact's status: a missing number first, then an opt-out, then disabled SMS.

    An opt-out outranks the contact's SMS switch, because enabling SMS cannot undo it and the
    agent should see that before trying.
    """
    if not contact.mobile_phone:
        return ContactSmsStatus(SmsStatus.NO_MOBILE_NUMBER, "No mobile number; add one to request opt-in.")
    opted_out = phone_consent is not None and phone_consent.consent.status is ConsentStatus.OPTED_OUT
    if not contact.sms_enabled and not opted_out:
        return ContactSmsStatus(
            SmsStatus.SMS_DISABLED, "SMS is disabled for this contact; enable it to request opt-in."
        )
    if phone_consent is None:
        return ContactSmsStatus(SmsStatus.NOT_REQUESTED, "Opt-in not requested yet.")

    consent = phone_consent.consent
    scheduled_for = phone_consent.scheduled.due_at if phone_consent.scheduled else None
    # The next request time matters only while a request is possible at all.
    next_request_at = (
        phone_consent.next_request_at(now)
        if consent.status in (ConsentStatus.NOT_REQUESTED, ConsentStatus.PENDING)
        else None
    )
    common = {
        "requested_at": consent.requested_at,
        "next_request_at": next_request_at,
        "opted_in_at": consent.opted_in_at,
        "opted_out_at": consent.opted_out_at,
        "scheduled_for": scheduled_for,
    }
    if consent.status is ConsentStatus.OPTED_IN:
        at = f" on {format_time(consent.opted_in_at, zone)}" if consent.opted_in_at else ""
        return ContactSmsStatus(SmsStatus.OPTED_IN, f"Opted in{at}; SMS tasks can be sent.", **common)
    if consent.status is ConsentStatus.OPTED_OUT:
        at = f" on {format_time(consent.opted_out_at, zone)}" if consent.opted_out_at else ""
        return ContactSmsStatus(
            SmsStatus.OPTED_OUT,
            f"Opted out{at}. Only the recipient can opt in again, by texting START.",
            **common,
        )
    if consent.status is ConsentStatus.PENDING:
        sent = (
            f"Opt-in request sent {format_time(consent.requested_at, zone)}"
            if consent.requested_at
            else "Opt-in requested"
        )
        if next_request_at is not None:
            detail = f"{sent}; you can request again after {format_time(next_request_at, zone)}."
        else:
            detail = f"{sent}; no reply yet. You can request again now."
        return ContactSmsStatus(SmsStatus.PENDING, detail, **common)
    if scheduled_for is not None:
        return ContactSmsStatus(
            SmsStatus.NOT_REQUESTED,
            f"Opt-in request scheduled for {format_time(scheduled_for, zone)}, "
            "outside the recipient's quiet hours.",
            **common,
        )
    return ContactSmsStatus(SmsStatus.NOT_REQUESTED, "Opt-in not requested yet.", **common)
