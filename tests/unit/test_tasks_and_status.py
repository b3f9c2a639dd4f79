"""Tests for TaskService and contact_sms_status: the status the UI shows and sending task messages."""

from datetime import UTC, datetime, timedelta

import pytest
from sms_consent.domain.model import Cause, Recipient, ScheduledSend, SmsStatus
from sms_consent.domain.status import format_time

# 22:30 on Monday 2026-12-07 in New York, and 08:00 the next morning.
LATE_EVENING = datetime(2026, 12, 8, 3, 30, tzinfo=UTC)
NEXT_MORNING = datetime(2026, 12, 8, 13, 0, tzinfo=UTC)


def contact_status(world, contact):
    _, status = world.tasks.contact_status(world.COMPANY_ID, contact.contact_id)
    return status


def view_for(views, contact):
    matches = [view for view in views if view.recipient.contact_id == contact.contact_id]
    assert len(matches) == 1, f"expected one view for contact {contact.contact_id}, got {matches}"
    return matches[0]


def outcome_for(outcomes, contact):
    matches = [outcome for outcome in outcomes if outcome.recipient.contact_id == contact.contact_id]
    assert len(matches) == 1, f"expected one outcome for contact {contact.contact_id}, got {matches}"
    return matches[0]


def property_with_recipients(world, contacts):
    prop = world.property([(contact, "buyer") for contact in contacts])
    return prop, prop.sms_tasks[0].task_id


# Contact status -----------------------------------------------------------------------------------


def test_format_time_day_month_time_zone():
    assert format_time(datetime(2026, 12, 8, 15, 0, tzinfo=UTC)) == "8 Dec 15:00 UTC"


def test_status_not_requested(world):
    contact = world.contact()

    status = contact_status(world, contact)

    assert status.status is SmsStatus.NOT_REQUESTED
    assert status.detail == "Opt-in not requested yet."
    assert status.can_request_opt_in


def test_status_pending_names_next_request_time(world):
    contact = world.contact()
    world.request(contact)

    status = contact_status(world, contact)

    assert status.status is SmsStatus.PENDING
    assert "Opt-in request sent 7 Dec 15:00 UTC" in status.detail
    assert "you can request again after" in status.detail
    assert "8 Dec 15:00 UTC" in status.detail
    assert status.next_request_at == world.START + world.COOLDOWN
    assert not status.can_request_opt_in


def test_status_pending_after_cooldown_allows_request(world):
    contact = world.contact()
    world.request(contact)
    world.clock.set(world.START + timedelta(days=2))

    status = contact_status(world, contact)

    assert status.status is SmsStatus.PENDING
    assert "You can request again now." in status.detail
    assert status.next_request_at is None
    assert status.can_request_opt_in


def test_status_opted_in_names_time(world):
    contact = world.contact()
    world.request(contact)
    world.clock.advance(300)
    world.reply(contact.mobile_phone, "YES")

    status = contact_status(world, contact)

    assert status.status is SmsStatus.OPTED_IN
    assert status.detail == "Opted in on 7 Dec 15:05 UTC; SMS tasks can be sent."
    assert status.can_send


def test_status_opted_out_names_start(world):
    contact = world.contact()
    world.request(contact)
    world.clock.advance(600)
    world.reply(contact.mobile_phone, "STOP")

    status = contact_status(world, contact)

    assert status.status is SmsStatus.OPTED_OUT
    assert "Opted out on 7 Dec 15:10 UTC" in status.detail
    assert "START" in status.detail
    assert not status.can_request_opt_in


def test_status_no_mobile_number(world):
    contact = world.contact(phone=None)

    status = contact_status(world, contact)

    assert status.status is SmsStatus.NO_MOBILE_NUMBER
    assert "No mobile number" in status.detail


def test_status_sms_disabled_wins_over_opt_in(world):
    contact = world.opted_in_contact()
    world.directory.update_contact(world.COMPANY_ID, contact.contact_id, {"sms_enabled": False})

    status = contact_status(world, contact)

    assert status.status is SmsStatus.SMS_DISABLED
    assert "SMS is disabled" in status.detail


def test_status_scheduled_request_names_time(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.clock.set(LATE_EVENING)
    world.launch(prop)

    status = contact_status(world, buyer)

    assert status.status is SmsStatus.NOT_REQUESTED
    assert "scheduled for 8 Dec 13:00 UTC" in status.detail


# Task view and preview ----------------------------------------------------------------------------


def test_task_view_warns_unless_opted_in(world):
    opted_in = world.opted_in_contact(name="Olive Optedin")
    pending = world.contact("Pat Pending")
    world.request(pending)
    prop, task_id = property_with_recipients(world, [opted_in, pending])

    views = world.tasks.task_view(world.COMPANY_ID, prop.property_id, task_id).recipients

    assert not view_for(views, opted_in).warning
    assert view_for(views, opted_in).reason is None
    assert view_for(views, pending).warning


@pytest.mark.parametrize(
    ("setup", "expected_reason"),
    [
        ("not_requested", "Opt-in not requested yet; the recipient has not opted in."),
        ("pending", "Waiting for the recipient to reply YES to the opt-in request."),
        ("opted_out", "The recipient opted out; only they can opt in again, by texting START."),
        ("no_mobile_number", "The contact has no mobile number."),
        ("sms_disabled", "SMS is disabled for this contact."),
    ],
)
def test_task_view_reason_per_status(world, setup, expected_reason):
    if setup == "pending":
        contact = world.contact()
        world.request(contact)
    elif setup == "opted_out":
        contact = world.opted_out_contact()
    elif setup == "no_mobile_number":
        contact = world.contact(phone=None)
    elif setup == "sms_disabled":
        contact = world.contact(sms_enabled=False)
    else:
        contact = world.contact()
    prop, task_id = property_with_recipients(world, [contact])

    views = world.tasks.task_view(world.COMPANY_ID, prop.property_id, task_id).recipients

    assert view_for(views, contact).warning
    assert view_for(views, contact).reason == expected_reason


def test_task_view_lists_manual_recipient(world):
    inspector = world.contact("Ivy Inspector")
    prop = world.property([], [world.task(roles=[], contacts=[inspector])])

    views = world.tasks.task_view(world.COMPANY_ID, prop.property_id, prop.sms_tasks[0].task_id).recipients

    assert view_for(views, inspector).recipient == Recipient(inspector.contact_id, "manual")


def test_preview_gsm7_message_one_segment(world):
    prop = world.property([], [world.task(message="The appraisal is booked for Monday at 9:00.")])

    preview = world.tasks.preview(world.COMPANY_ID, prop.property_id, prop.sms_tasks[0].task_id)

    assert preview.message == "The appraisal is booked for Monday at 9:00."
    assert preview.segments.encoding == "GSM-7"
    assert preview.segments.segments == 1


def test_preview_emoji_message_is_ucs2(world):
    prop = world.property([], [world.task(message="Keys are ready \U0001f511 " + "x" * 60)])

    preview = world.tasks.preview(world.COMPANY_ID, prop.property_id, prop.sms_tasks[0].task_id)

    assert preview.segments.encoding == "UCS-2"
    assert preview.segments.segments == 2


# Send ---------------------------------------------------------------------------------------------


def test_send_texts_only_opted_in_recipients(world):
    opted_in = world.opted_in_contact(name="Olive Optedin")
    pending = world.contact("Pat Pending")
    world.request(pending)
    no_mobile = world.contact("Nora Nomobile", phone=None)
    prop, task_id = property_with_recipients(world, [opted_in, pending, no_mobile])

    outcomes = world.tasks.send(world.COMPANY_ID, prop.property_id, task_id, "send-1")

    assert outcome_for(outcomes, opted_in).outcome == "sent"
    assert world.texts_to(opted_in.mobile_phone)[-1] == prop.sms_tasks[0].message
    assert outcome_for(outcomes, pending).outcome == "skipped"
    assert (
        outcome_for(outcomes, pending).reason
        == "Waiting for the recipient to reply YES to the opt-in request."
    )
    assert len(world.texts_to(pending.mobile_phone)) == 1
    assert outcome_for(outcomes, no_mobile).reason == "The contact has no mobile number."


def test_send_shared_number_texts_once(world):
    first = world.opted_in_contact(name="Dana Buyer")
    second = world.contact("Drew Buyer", phone=first.mobile_phone)
    prop, task_id = property_with_recipients(world, [first, second])
    texts_before = len(world.texts_to(first.mobile_phone))

    outcomes = world.tasks.send(world.COMPANY_ID, prop.property_id, task_id, "send-1")

    assert len(world.texts_to(first.mobile_phone)) == texts_before + 1
    assert "Shares a mobile number" in outcome_for(outcomes, second).reason


def test_preview_shared_number_counts_one_sendable(world):
    first = world.opted_in_contact(name="Dana Buyer")
    second = world.contact("Drew Buyer", phone=first.mobile_phone)
    prop, task_id = property_with_recipients(world, [first, second])

    preview = world.tasks.preview(world.COMPANY_ID, prop.property_id, task_id)

    assert [view.can_send for view in preview.recipients] == [True, False]
    assert preview.recipients[1].warning is True


def test_send_publishes_sms_task_sent(world):
    opted_in = world.opted_in_contact(name="Olive Optedin")
    pending = world.contact("Pat Pending")
    prop, task_id = property_with_recipients(world, [opted_in, pending])

    world.tasks.send(world.COMPANY_ID, prop.property_id, task_id, "send-1")

    events = world.publisher.of_type("SMS Task Sent")
    assert len(events) == 1
    assert events[0].detail["task_id"] == task_id
    assert events[0].detail["sent_to_contact_ids"] == [opted_in.contact_id]
    assert events[0].detail["skipped_contact_ids"] == [pending.contact_id]


def test_send_to_nobody_publishes_no_event(world):
    pending = world.contact("Pat Pending")
    prop, task_id = property_with_recipients(world, [pending])

    world.tasks.send(world.COMPANY_ID, prop.property_id, task_id, "send-1")

    assert world.publisher.of_type("SMS Task Sent") == []


def test_send_in_quiet_hours_schedules_message(world):
    opted_in = world.opted_in_contact()
    prop, task_id = property_with_recipients(world, [opted_in])
    texts_before = len(world.sender.sent)
    world.clock.set(LATE_EVENING)

    outcomes = world.tasks.send(world.COMPANY_ID, prop.property_id, task_id, "send-1")

    assert outcome_for(outcomes, opted_in).outcome == "scheduled"
    assert outcome_for(outcomes, opted_in).scheduled_for == NEXT_MORNING
    assert len(world.sender.sent) == texts_before


def test_scheduler_sends_task_message_when_window_opens(world):
    opted_in = world.opted_in_contact()
    prop, task_id = property_with_recipients(world, [opted_in])
    world.clock.set(LATE_EVENING)
    world.tasks.send(world.COMPANY_ID, prop.property_id, task_id, "send-1")
    world.clock.set(NEXT_MORNING)

    summary = world.scheduler.release_due()

    assert summary.sent == 1
    assert world.texts_to(opted_in.mobile_phone)[-1] == prop.sms_tasks[0].message


def test_scheduler_skips_task_message_after_opt_out(world):
    stays = world.opted_in_contact(name="Sally Stays")
    leaves = world.opted_in_contact(name="Larry Leaves")
    prop, task_id = property_with_recipients(world, [stays, leaves])
    world.clock.set(LATE_EVENING)
    world.tasks.send(world.COMPANY_ID, prop.property_id, task_id, "send-1")
    world.reply(leaves.mobile_phone, "STOP")
    texts_to_leaver = len(world.texts_to(leaves.mobile_phone))
    world.clock.set(NEXT_MORNING)

    summary = world.scheduler.release_due()

    assert summary.sent == 1
    assert summary.skipped == 1
    assert world.texts_to(stays.mobile_phone)[-1] == prop.sms_tasks[0].message
    assert len(world.texts_to(leaves.mobile_phone)) == texts_to_leaver


def test_scheduler_skips_task_message_after_sms_disabled(world):
    opted_in = world.opted_in_contact()
    prop, task_id = property_with_recipients(world, [opted_in])
    world.clock.set(LATE_EVENING)
    world.tasks.send(world.COMPANY_ID, prop.property_id, task_id, "send-1")
    world.directory.update_contact(world.COMPANY_ID, opted_in.contact_id, {"sms_enabled": False})
    texts_before = len(world.sender.sent)
    world.clock.set(NEXT_MORNING)

    world.scheduler.release_due()

    assert len(world.sender.sent) == texts_before


def test_release_task_message_opted_out_reports_opt_out(world):
    contact = world.opted_out_contact()
    prop, task_id = property_with_recipients(world, [contact])
    scheduled = ScheduledSend(
        company_id=world.COMPANY_ID,
        phone=contact.mobile_phone,
        kind="task_message",
        due_at=world.clock.now(),
        cause=Cause.TASK_SEND,
        contact_ids=[contact.contact_id],
        property_id=prop.property_id,
        task_id=task_id,
    )

    outcome = world.tasks.release_scheduled_task_message(scheduled, "scheduled-1")

    assert outcome.outcome == "skipped"
    assert outcome.reason == "The recipient opted out; only they can opt in again, by texting START."


def test_consent_history_lists_ledger_of_current_number(world):
    contact = world.contact()
    world.request(contact)
    # Entries recorded at the same instant sort by their random entry id, so move the clock.
    world.clock.advance(60)
    world.reply(contact.mobile_phone, "YES")

    _, entries = world.tasks.consent_history(world.COMPANY_ID, contact.contact_id)

    assert [entry.action.value for entry in entries] == ["opt_in_requested", "opted_in", "confirmation_sent"]


# Repeated Send --------------------------------------------------------------------------------------


def test_send_twice_texts_recipient_once(world):
    buyer = world.opted_in_contact(name="Dana Buyer")
    prop, task_id = property_with_recipients(world, [buyer])
    texts_before = len(world.texts_to(buyer.mobile_phone))
    world.tasks.send(world.COMPANY_ID, prop.property_id, task_id, "send-1")

    outcomes = world.tasks.send(world.COMPANY_ID, prop.property_id, task_id, "send-2")

    assert len(world.texts_to(buyer.mobile_phone)) == texts_before + 1
    assert "less than 10 minutes ago" in outcome_for(outcomes, buyer).reason


def test_send_again_after_window_texts_again(world):
    buyer = world.opted_in_contact(name="Dana Buyer")
    prop, task_id = property_with_recipients(world, [buyer])
    texts_before = len(world.texts_to(buyer.mobile_phone))
    world.tasks.send(world.COMPANY_ID, prop.property_id, task_id, "send-1")
    world.clock.advance(11 * 60)

    world.tasks.send(world.COMPANY_ID, prop.property_id, task_id, "send-2")

    assert len(world.texts_to(buyer.mobile_phone)) == texts_before + 2


def test_send_failed_by_throttling_can_be_sent_again(world):
    from sms_consent.errors import SmsSendFailed

    buyer = world.opted_in_contact(name="Dana Buyer")
    prop, task_id = property_with_recipients(world, [buyer])
    texts_before = len(world.texts_to(buyer.mobile_phone))
    world.sender.fail_with.append(SmsSendFailed("throttled"))
    first = world.tasks.send(world.COMPANY_ID, prop.property_id, task_id, "send-1")

    world.tasks.send(world.COMPANY_ID, prop.property_id, task_id, "send-2")

    assert outcome_for(first, buyer).outcome == "failed"
    assert len(world.texts_to(buyer.mobile_phone)) == texts_before + 1
