"""JSON shapes of the API's responses."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sms_consent.domain import messages
from sms_consent.domain.model import Company, Contact, LedgerEntry, Property, SmsTask
from sms_consent.domain.opt_in import RecipientOutcome
from sms_consent.domain.status import ContactSmsStatus
from sms_consent.domain.tasks import RecipientView, TaskPreview, TaskSendOutcome, TaskView


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def company(value: Company) -> dict[str, Any]:
    return {
        "company_id": value.company_id,
        "name": value.name,
        "support_contact": value.support_contact,
        "name_in_texts": messages.sender_name(value),
        "updated_at": iso(value.updated_at),
    }


def sms_status(status: ContactSmsStatus) -> dict[str, Any]:
    return {
        "status": status.status.value,
        "detail": status.detail,
        "requested_at": iso(status.requested_at),
        "next_request_at": iso(status.next_request_at),
        "opted_in_at": iso(status.opted_in_at),
        "opted_out_at": iso(status.opted_out_at),
        "scheduled_for": iso(status.scheduled_for),
        "can_send": status.can_send,
        "can_request_opt_in": status.can_request_opt_in,
    }


def contact(value: Contact, status: ContactSmsStatus | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contact_id": value.contact_id,
        "name": value.name,
        "mobile_phone": value.mobile_phone,
        "sms_enabled": value.sms_enabled,
        "created_at": iso(value.created_at),
        "updated_at": iso(value.updated_at),
    }
    if status is not None:
        body["sms"] = sms_status(status)
    return body


def task(value: SmsTask) -> dict[str, Any]:
    return {
        "task_id": value.task_id,
        "name": value.name,
        "message": value.message,
        "recipient_roles": value.recipient_roles,
        "recipient_contact_ids": value.recipient_contact_ids,
    }


def property_(value: Property) -> dict[str, Any]:
    return {
        "property_id": value.property_id,
        "address": value.address,
        "parties": [{"contact_id": p.contact_id, "role": p.role} for p in value.parties],
        "sms_tasks": [task(t) for t in value.sms_tasks],
        "launched": value.launched,
        "launched_at": iso(value.launched_at),
        "created_at": iso(value.created_at),
    }


def recipient(view: RecipientView, preview: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "contact_id": view.recipient.contact_id,
        "name": view.contact.name if view.contact else None,
        "via": view.recipient.via,
        "role": view.recipient.role,
        "status": view.status.status.value,
        "detail": view.status.detail,
        "warning": view.warning,
        "reason": view.reason,
    }
    if preview:
        body.update(
            {
                "can_send": view.can_send,
                "can_request_opt_in": view.status.can_request_opt_in,
                "next_request_at": iso(view.status.next_request_at),
                "scheduled_for": iso(view.status.scheduled_for),
            }
        )
    return body


def task_view(view: TaskView) -> dict[str, Any]:
    return {
        "property_id": view.property.property_id,
        **task(view.task),
        "launched": view.property.launched,
        "recipients": [recipient(r) for r in view.recipients],
        "warning_count": sum(1 for r in view.recipients if r.warning),
    }


def preview(value: TaskPreview) -> dict[str, Any]:
    recipients = [recipient(r, preview=True) for r in value.recipients]
    return {
        "property_id": value.property.property_id,
        "task_id": value.task.task_id,
        "name": value.task.name,
        "message": value.message,
        "encoding": value.segments.encoding,
        "segments": value.segments.segments,
        "characters": value.segments.characters,
        "recipients": recipients,
        "sendable_count": sum(1 for r in recipients if r["can_send"]),
    }


def send_outcome(value: TaskSendOutcome) -> dict[str, Any]:
    return {
        "contact_id": value.recipient.contact_id,
        "via": value.recipient.via,
        "role": value.recipient.role,
        "outcome": value.outcome,
        "reason": value.reason,
        "message_id": value.message_id,
        "scheduled_for": iso(value.scheduled_for),
    }


def opt_in_outcome(value: RecipientOutcome) -> dict[str, Any]:
    return {
        "status": value.kind.value,
        "next_request_at": iso(value.next_request_at),
        "scheduled_for": iso(value.scheduled_for),
        "message_id": value.message_id,
    }


# A spreadsheet runs a cell that starts with one of these as a formula. Reply texts are written
# by recipients, so the export must never let one run.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def spreadsheet_safe(value: object) -> object:
    """Prefix text that a spreadsheet would run as a formula with an apostrophe (CSV injection).

    An E.164 number starts with + but cannot form a formula, so it is kept as it is.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES) and not _E164.match(value):
        return "'" + value
    return value


LEDGER_COLUMNS = [
    "recorded_at",
    "action",
    "status_after",
    "cause",
    "direction",
    "text",
    "message_id",
    "origination_number",
    "destination_number",
    "entry_id",
]


def ledger_entry(value: LedgerEntry) -> dict[str, Any]:
    return {
        "recorded_at": iso(value.recorded_at),
        "action": value.action.value,
        "status_after": value.status_after.value,
        "cause": value.cause.value,
        "direction": value.direction,
        "text": value.text,
        "message_id": value.message_id,
        "origination_number": value.origination_number,
        "destination_number": value.destination_number,
        "entry_id": value.entry_id,
    }
