"""Tests for OptInService: who gets an opt-in request, the 24-hour cooldown, and provider faults."""

from datetime import UTC, datetime, timedelta

import pytest
from sms_consent.domain import messages
from sms_consent.domain.model import Cause, Company, ConsentStatus, LedgerAction, SmsStatus
from sms_consent.domain.opt_in import OutcomeKind, SkipReason
from sms_consent.domain.segments import measure
from sms_consent.errors import (
    AlreadyOptedIn,
    CannotText,
    CooldownActive,
    DestinationOptedOut,
    NotFound,
    OptedOut,
    SmsSendFailed,
    TransientError,
)

# 22:30 on Monday 2026-12-07 in New York, and 08:00 the next morning.
LATE_EVENING = datetime(2026, 12, 8, 3, 30, tzinfo=UTC)
NEXT_MORNING = datetime(2026, 12, 8, 13, 0, tzinfo=UTC)


def outcome_for(outcomes, contact):
    matches = [outcome for outcome in outcomes if contact.contact_id in outcome.contact_ids]
    assert len(matches) == 1, f"expected one outcome for contact {contact.contact_id}, got {matches}"
    return matches[0]


# Launch -------------------------------------------------------------------------------------------


def test_launch_texts_role_recipients_and_manual_recipients(world):
    buyer = world.contact("Dana Buyer")
    seller = world.contact("Sam Seller")
    lender = world.contact("Lee Lender")
    inspector = world.contact("Ivy Inspector")
    prop = world.property(
        [(buyer, "buyer"), (seller, "seller"), (lender, "lender")],
        [world.task(roles=["buyer", "seller"], contacts=[inspector])],
    )

    world.launch(prop)

    assert len(world.sender.texts_to(buyer.mobile_phone)) == 1
    assert len(world.sender.texts_to(seller.mobile_phone)) == 1
    assert len(world.sender.texts_to(inspector.mobile_phone)) == 1
    assert world.sender.texts_to(lender.mobile_phone) == []


def test_launch_skips_party_whose_role_receives_no_task(world):
    buyer = world.contact("Dana Buyer")
    lender = world.contact("Lee Lender")
    prop = world.property([(buyer, "buyer"), (lender, "lender")], [world.task(roles=["buyer"])])

    world.launch(prop)

    assert world.sender.texts_to(lender.mobile_phone) == []
    assert world.phone_consent(lender.mobile_phone) is None


def test_launch_skips_recipients_with_their_reason(world):
    opted_in = world.opted_in_contact(name="Olive Optedin")
    opted_out = world.opted_out_contact(name="Otto Optedout")
    no_mobile = world.contact("Nora Nomobile", phone=None)
    disabled = world.contact("Dora Disabled", sms_enabled=False)
    recipients = [opted_in, opted_out, no_mobile, disabled]
    prop = world.property([(contact, "buyer") for contact in recipients])
    texts_before = len(world.sender.sent)

    outcomes = world.launch(prop)

    assert len(world.sender.sent) == texts_before
    assert outcome_for(outcomes, opted_in).reason is SkipReason.OPTED_IN
    assert outcome_for(outcomes, opted_out).reason is SkipReason.OPTED_OUT
    assert outcome_for(outcomes, no_mobile).reason is SkipReason.NO_MOBILE_NUMBER
    assert outcome_for(outcomes, disabled).reason is SkipReason.SMS_DISABLED


def test_launch_sends_one_request_to_shared_number(world):
    phone = world.new_phone()
    buyer = world.contact("Dana Buyer", phone=phone)
    spouse = world.contact("Drew Buyer", phone=phone)
    prop = world.property([(buyer, "buyer"), (spouse, "buyer")])

    outcomes = world.launch(prop)

    assert len(world.sender.texts_to(phone)) == 1
    assert outcome_for(outcomes, buyer) is outcome_for(outcomes, spouse)


def test_launch_redelivered_sends_nothing(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.directory.launch(world.COMPANY_ID, prop.property_id)
    launch_event = world.publisher.of_type("Tasks Launched")[0]
    world.dispatch(launch_event, "event-launch")

    outcomes = world.dispatch(launch_event, "event-launch")

    assert len(world.sender.texts_to(buyer.mobile_phone)) == 1
    assert outcomes[0].reason is SkipReason.ALREADY_SENT


# Cooldown -----------------------------------------------------------------------------------------


def test_manual_request_within_cooldown_raises_cooldown_active(world):
    contact = world.contact()
    world.request(contact)
    world.clock.advance(timedelta(hours=23, minutes=59).total_seconds())

    with pytest.raises(CooldownActive) as raised:
        world.request(contact)

    assert raised.value.next_request_at == world.START + world.COOLDOWN
    assert len(world.sender.texts_to(contact.mobile_phone)) == 1


def test_manual_request_exactly_after_cooldown_sends(world):
    contact = world.contact()
    world.request(contact)
    world.clock.set(world.START + world.COOLDOWN)

    outcome = world.request(contact)

    assert outcome.kind is OutcomeKind.SENT


def test_manual_request_after_cooldown_sends(world):
    contact = world.contact()
    world.request(contact)
    world.clock.set(world.START + world.COOLDOWN + timedelta(seconds=1))

    outcome = world.request(contact)

    assert outcome.kind is OutcomeKind.SENT
    assert len(world.sender.texts_to(contact.mobile_phone)) == 2


def test_launch_after_cooldown_sends_again(world):
    buyer = world.contact()
    world.request(buyer)
    world.clock.set(world.START + world.COOLDOWN + timedelta(minutes=1))
    prop = world.property([(buyer, "buyer")])

    outcomes = world.launch(prop)

    assert outcome_for(outcomes, buyer).kind is OutcomeKind.SENT
    assert len(world.sender.texts_to(buyer.mobile_phone)) == 2


def test_launch_within_cooldown_skips_with_next_request_time(world):
    buyer = world.contact()
    world.request(buyer)
    world.clock.advance(3600)
    prop = world.property([(buyer, "buyer")])

    outcomes = world.launch(prop)

    assert outcome_for(outcomes, buyer).reason is SkipReason.COOLDOWN
    assert outcome_for(outcomes, buyer).next_request_at == world.START + world.COOLDOWN
    assert len(world.sender.texts_to(buyer.mobile_phone)) == 1


def test_expired_cooldown_left_in_place_does_not_block(world):
    contact = world.contact()
    world.request(contact)
    world.clock.set(world.START + timedelta(days=3))
    key = (world.COMPANY_ID, contact.mobile_phone)
    # DynamoDB removes expired items days late; the fake never removes them.
    assert key in world.consents.cooldowns

    outcome = world.request(contact)

    assert outcome.kind is OutcomeKind.SENT


# Manual request errors ----------------------------------------------------------------------------


def test_manual_request_unknown_contact_raises_not_found(world):
    with pytest.raises(NotFound):
        world.opt_in.request_for_contact(world.COMPANY_ID, "no-such-contact", "click-1")


def test_manual_request_foreign_contact_not_found(world):
    stranger = world.contact(company_id="company-other")

    with pytest.raises(NotFound):
        world.opt_in.request_for_contact(world.COMPANY_ID, stranger.contact_id, "click-1")


def test_manual_request_without_mobile_raises_cannot_text(world):
    contact = world.contact(phone=None)

    with pytest.raises(CannotText) as raised:
        world.request(contact)

    assert raised.value.reason == SmsStatus.NO_MOBILE_NUMBER.value


def test_manual_request_sms_disabled_raises_cannot_text(world):
    contact = world.contact(sms_enabled=False)

    with pytest.raises(CannotText) as raised:
        world.request(contact)

    assert raised.value.reason == SmsStatus.SMS_DISABLED.value


def test_manual_request_opted_in_raises_already_opted_in(world):
    contact = world.opted_in_contact()
    texts_before = len(world.sender.sent)

    with pytest.raises(AlreadyOptedIn):
        world.request(contact)

    assert len(world.sender.sent) == texts_before


def test_manual_request_opted_out_raises_opted_out(world):
    contact = world.opted_out_contact()
    texts_before = len(world.sender.sent)

    with pytest.raises(OptedOut):
        world.request(contact)

    assert len(world.sender.sent) == texts_before


def test_manual_request_same_operation_twice_sends_once(world):
    contact = world.contact()
    world.request(contact, operation_id="click-42")

    with pytest.raises(CooldownActive):
        world.request(contact, operation_id="click-42")

    assert len(world.sender.texts_to(contact.mobile_phone)) == 1


# Text ---------------------------------------------------------------------------------------------


def test_opt_in_text_names_company_and_keywords(world):
    contact = world.contact()

    world.request(contact)

    text = world.texts_to(contact.mobile_phone)[0]
    assert text.startswith(f"{world.COMPANY_NAME}:")
    assert "YES" in text
    assert "STOP" in text
    assert "HELP" in text
    assert "Msg&data rates may apply" in text


def test_opt_in_text_fits_one_segment():
    company = Company("company-long", "Northern Lights Premier Realty Group LLC")
    assert len(company.name) == 40

    info = measure(messages.opt_in_request(company))

    assert info.encoding == "GSM-7"
    assert info.characters <= 160
    assert info.segments == 1


def test_opt_in_text_without_company_name_uses_id(world):
    contact = world.contact(company_id="company-unnamed")

    world.request(contact)

    assert world.texts_to(contact.mobile_phone)[0].startswith("company-unnamed:")


def test_opt_in_text_curly_apostrophe_stays_gsm7():
    company = Company("company-quote", "O\u2019Brien Homes")

    text = messages.opt_in_request(company)

    assert text.startswith("O'Brien Homes:")
    assert measure(text).encoding == "GSM-7"


# Provider faults ----------------------------------------------------------------------------------


def test_destination_opted_out_marks_phone_opted_out(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.sender.fail_with = [DestinationOptedOut("DESTINATION_PHONE_NUMBER_OPTED_OUT")]

    outcomes = world.launch(prop)

    assert outcome_for(outcomes, buyer).reason is SkipReason.PROVIDER_OPTED_OUT
    assert world.phone_consent(buyer.mobile_phone).consent.status is ConsentStatus.OPTED_OUT


def test_destination_opted_out_ledger_cause_provider_report(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.sender.fail_with = [DestinationOptedOut("DESTINATION_PHONE_NUMBER_OPTED_OUT")]

    world.launch(prop)

    entries = world.ledger_actions(buyer.mobile_phone, LedgerAction.OPTED_OUT)
    assert len(entries) == 1
    assert entries[0].cause is Cause.PROVIDER_REPORT


def test_destination_opted_out_manual_request_raises_opted_out(world):
    contact = world.contact()
    world.sender.fail_with = [DestinationOptedOut("DESTINATION_PHONE_NUMBER_OPTED_OUT")]

    with pytest.raises(OptedOut):
        world.request(contact)

    assert world.phone_consent(contact.mobile_phone).consent.status is ConsentStatus.OPTED_OUT


def test_send_failure_reraises_and_releases_claim(world):
    contact = world.contact()
    world.sender.fail_with = [SmsSendFailed("throttled")]

    with pytest.raises(SmsSendFailed):
        world.request(contact, operation_id="click-1")

    assert world.phone_consent(contact.mobile_phone) is None
    assert (world.COMPANY_ID, contact.mobile_phone) not in world.consents.cooldowns


def test_send_failure_restores_previous_pending_consent(world):
    contact = world.contact()
    world.request(contact)
    world.clock.set(world.START + timedelta(days=2))
    world.sender.fail_with = [SmsSendFailed("throttled")]

    with pytest.raises(SmsSendFailed):
        world.request(contact)

    restored = world.phone_consent(contact.mobile_phone)
    assert restored.consent.status is ConsentStatus.PENDING
    assert restored.consent.requested_at == world.START
    assert restored.next_request_at(world.clock.now()) is None


def test_send_failure_retry_sends_exactly_once(world):
    contact = world.contact()
    world.sender.fail_with = [SmsSendFailed("throttled")]
    with pytest.raises(SmsSendFailed):
        world.request(contact, operation_id="click-1")

    outcome = world.request(contact, operation_id="click-1")

    assert outcome.kind is OutcomeKind.SENT
    assert len(world.sender.texts_to(contact.mobile_phone)) == 1


def test_launch_send_failure_retry_sends_exactly_once(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.directory.launch(world.COMPANY_ID, prop.property_id)
    launch_event = world.publisher.of_type("Tasks Launched")[0]
    world.sender.fail_with = [SmsSendFailed("throttled")]
    with pytest.raises(SmsSendFailed):
        world.dispatch(launch_event, "event-launch")

    world.dispatch(launch_event, "event-launch")
    world.dispatch(launch_event, "event-launch")

    assert len(world.sender.texts_to(buyer.mobile_phone)) == 1


# Records ------------------------------------------------------------------------------------------


def test_request_appends_ledger_entry_with_exact_text(world):
    contact = world.contact()

    outcome = world.request(contact)

    entries = world.ledger_actions(contact.mobile_phone, LedgerAction.OPT_IN_REQUESTED)
    assert len(entries) == 1
    entry = entries[0]
    assert entry.text == world.texts_to(contact.mobile_phone)[0]
    assert entry.message_id == outcome.message_id
    assert entry.origination_number == world.OUR_NUMBER
    assert entry.destination_number == contact.mobile_phone
    assert entry.direction == "outbound"
    assert entry.cause is Cause.USER_REQUEST
    assert entry.status_after is ConsentStatus.PENDING


def test_request_appends_one_ledger_entry_per_request(world):
    contact = world.contact()
    world.request(contact)
    world.clock.set(world.START + timedelta(days=2))

    world.request(contact)

    assert len(world.ledger_actions(contact.mobile_phone, LedgerAction.OPT_IN_REQUESTED)) == 2


def test_request_publishes_opt_in_requested_event(world):
    contact = world.contact()

    outcome = world.request(contact)

    events = world.publisher.of_type("Opt-In Requested")
    assert len(events) == 1
    detail = events[0].detail
    assert detail["company_id"] == world.COMPANY_ID
    assert detail["phone"] == contact.mobile_phone
    assert detail["contact_ids"] == [contact.contact_id]
    assert detail["message_id"] == outcome.message_id
    assert detail["next_request_at"] == (world.START + world.COOLDOWN).isoformat()


def test_request_publish_failure_does_not_raise(world):
    contact = world.contact()
    world.publisher.fail_with = [TransientError("event bus unavailable")]

    outcome = world.request(contact)

    assert outcome.kind is OutcomeKind.SENT
    assert world.telemetry.counts["EventPublishFailed"] == 1


def test_request_stores_pending_consent_with_origination(world):
    contact = world.contact()

    world.request(contact)

    consent = world.phone_consent(contact.mobile_phone).consent
    assert consent.status is ConsentStatus.PENDING
    assert consent.requested_at == world.START
    assert consent.origination_number == world.OUR_NUMBER


# Quiet hours --------------------------------------------------------------------------------------


def test_launch_in_quiet_hours_defers_request(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.clock.set(LATE_EVENING)

    outcomes = world.launch(prop)

    assert outcome_for(outcomes, buyer).kind is OutcomeKind.SCHEDULED
    assert outcome_for(outcomes, buyer).scheduled_for == NEXT_MORNING
    assert world.sender.texts_to(buyer.mobile_phone) == []


def test_quiet_hours_launch_status_shows_schedule(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.clock.set(LATE_EVENING)
    world.launch(prop)

    _, status = world.tasks.contact_status(world.COMPANY_ID, buyer.contact_id)

    assert status.status is SmsStatus.NOT_REQUESTED
    assert status.scheduled_for == NEXT_MORNING


def test_scheduler_before_window_sends_nothing(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.clock.set(LATE_EVENING)
    world.launch(prop)
    world.clock.set(NEXT_MORNING - timedelta(seconds=1))

    summary = world.scheduler.release_due()

    assert summary.due == 0
    assert world.sender.texts_to(buyer.mobile_phone) == []


def test_scheduler_at_window_sends_deferred_request(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.clock.set(LATE_EVENING)
    world.launch(prop)
    world.clock.set(NEXT_MORNING)

    summary = world.scheduler.release_due()

    assert summary.sent == 1
    assert len(world.sender.texts_to(buyer.mobile_phone)) == 1
    assert world.phone_consent(buyer.mobile_phone).consent.status is ConsentStatus.PENDING


def test_scheduler_second_run_sends_nothing_more(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.clock.set(LATE_EVENING)
    world.launch(prop)
    world.clock.set(NEXT_MORNING)
    world.scheduler.release_due()
    world.clock.advance(300)

    summary = world.scheduler.release_due()

    assert summary.due == 0
    assert len(world.sender.texts_to(buyer.mobile_phone)) == 1


def test_manual_request_in_quiet_hours_sends_now(world):
    contact = world.contact()
    world.clock.set(LATE_EVENING)

    outcome = world.request(contact)

    assert outcome.kind is OutcomeKind.SENT


def test_scheduler_skips_deferred_request_after_sms_disabled(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.clock.set(LATE_EVENING)
    world.launch(prop)
    world.directory.update_contact(world.COMPANY_ID, buyer.contact_id, {"sms_enabled": False})
    world.clock.set(NEXT_MORNING)

    world.scheduler.release_due()

    assert world.sender.texts_to(buyer.mobile_phone) == []
