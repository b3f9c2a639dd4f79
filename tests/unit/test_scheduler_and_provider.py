"""Tests for the scheduled release of deferred texts and the sync of the provider's opt-out list."""

from datetime import UTC, datetime, timedelta

from sms_consent.domain.model import Cause, ConsentStatus, LedgerAction
from sms_consent.domain.provider_opt_outs import sync_provider_opt_outs

OTHER_COMPANY_ID = "company-summit"

# 22:30 on Monday 2026-12-07 in New York, and 08:00 the next morning.
LATE_EVENING = datetime(2026, 12, 8, 3, 30, tzinfo=UTC)
NEXT_MORNING = datetime(2026, 12, 8, 13, 0, tzinfo=UTC)


def pending_in_two_companies(world):
    world.company(OTHER_COMPANY_ID, "Summit Title Co")
    phone = world.new_phone()
    world.request(world.contact(phone=phone))
    world.request(world.contact(phone=phone, company_id=OTHER_COMPANY_ID))
    return phone


def sync(world):
    return sync_provider_opt_outs(world.sender, world.consents, world.opt_in)


# Provider opt-out list ----------------------------------------------------------------------------


def test_sync_opts_out_listed_phone_everywhere(world):
    phone = pending_in_two_companies(world)
    world.sender.opted_out.add(phone)

    summary = sync(world)

    assert summary.listed == 1
    assert summary.marked == 2
    assert world.phone_consent(phone).consent.status is ConsentStatus.OPTED_OUT
    assert world.phone_consent(phone, OTHER_COMPANY_ID).consent.status is ConsentStatus.OPTED_OUT


def test_sync_ledger_cause_provider_report(world):
    phone = pending_in_two_companies(world)
    world.sender.opted_out.add(phone)

    sync(world)

    entries = world.ledger_actions(phone, LedgerAction.OPTED_OUT)
    assert len(entries) == 1
    assert entries[0].cause is Cause.PROVIDER_REPORT
    assert entries[0].status_after is ConsentStatus.OPTED_OUT


def test_sync_second_run_adds_no_ledger_entry(world):
    phone = pending_in_two_companies(world)
    world.sender.opted_out.add(phone)
    sync(world)
    entries_before = len(world.consents.ledger_entries)

    summary = sync(world)

    assert summary.marked == 0
    assert len(world.consents.ledger_entries) == entries_before


def test_sync_publishes_opted_out_once_per_company(world):
    phone = pending_in_two_companies(world)
    world.sender.opted_out.add(phone)

    sync(world)
    sync(world)

    assert len(world.publisher.of_type("Opted Out")) == 2


def test_sync_leaves_unlisted_phone_alone(world):
    listed = pending_in_two_companies(world)
    unlisted = world.contact()
    world.request(unlisted)
    world.sender.opted_out.add(listed)

    sync(world)

    assert world.phone_consent(unlisted.mobile_phone).consent.status is ConsentStatus.PENDING


def test_sync_opts_out_opted_in_phone(world):
    contact = world.opted_in_contact()
    world.sender.opted_out.add(contact.mobile_phone)

    sync(world)

    assert world.phone_consent(contact.mobile_phone).consent.status is ConsentStatus.OPTED_OUT


def test_sync_unknown_phone_creates_no_consent(world):
    phone = world.new_phone()
    world.sender.opted_out.add(phone)

    summary = sync(world)

    assert summary.marked == 0
    assert world.consents.consents_for_phone(phone) == []


# Scheduled release --------------------------------------------------------------------------------


def test_release_due_with_nothing_due_sends_nothing(world):
    summary = world.scheduler.release_due()

    assert summary.due == 0
    assert world.sender.sent == []


def test_release_due_deletes_released_item(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.clock.set(LATE_EVENING)
    world.launch(prop)
    world.clock.set(NEXT_MORNING)

    world.scheduler.release_due()

    assert world.consents.scheduled == {}


def test_release_due_skips_phone_opted_out_overnight(world):
    buyer = world.contact()
    world.request(buyer)
    # A day later the cooldown is over, so the launch defers a second request to the morning.
    world.clock.set(LATE_EVENING + timedelta(days=1))
    prop = world.property([(buyer, "buyer")])
    world.launch(prop)
    world.reply(buyer.mobile_phone, "STOP")
    texts_before = len(world.sender.sent)
    world.clock.set(NEXT_MORNING + timedelta(days=1))

    summary = world.scheduler.release_due()

    assert summary.due == 1
    assert summary.sent == 0
    assert len(world.sender.sent) == texts_before


def test_release_due_has_nothing_after_request_sent_meanwhile(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.clock.set(LATE_EVENING)
    world.launch(prop)
    world.request(buyer)
    world.clock.set(NEXT_MORNING)

    summary = world.scheduler.release_due()

    assert summary.due == 0
    assert len(world.sender.texts_to(buyer.mobile_phone)) == 1


def test_manual_request_clears_deferred_status(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.clock.set(LATE_EVENING)
    world.launch(prop)

    world.request(buyer)

    _, status = world.tasks.contact_status(world.COMPANY_ID, buyer.contact_id)
    assert status.scheduled_for is None


def test_release_due_respects_limit(world):
    buyers = [world.contact(f"Buyer {index}") for index in range(3)]
    prop = world.property([(buyer, "buyer") for buyer in buyers])
    world.clock.set(LATE_EVENING)
    world.launch(prop)
    world.clock.set(NEXT_MORNING)

    first = world.scheduler.release_due(limit=2)
    second = world.scheduler.release_due(limit=2)

    assert first.sent == 2
    assert second.sent == 1


def test_launch_redelivered_in_quiet_hours_schedules_once(world):
    buyer = world.contact()
    prop = world.property([(buyer, "buyer")])
    world.clock.set(LATE_EVENING)
    world.directory.launch(world.COMPANY_ID, prop.property_id)
    launch_event = world.publisher.of_type("Tasks Launched")[0]
    world.dispatch(launch_event, "event-launch")
    world.clock.advance(timedelta(minutes=5).total_seconds())

    world.dispatch(launch_event, "event-launch")
    world.clock.set(NEXT_MORNING)
    world.scheduler.release_due()

    assert world.telemetry.counts["OptInDeferred"] == 1
    assert len(world.sender.texts_to(buyer.mobile_phone)) == 1
