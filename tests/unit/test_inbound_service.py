"""Tests for InboundService: YES and START opt in, STOP opts out, HELP gets the help text."""

from datetime import timedelta

import pytest
from sms_consent.domain import messages
from sms_consent.domain.inbound import ReplyResult
from sms_consent.domain.model import Cause, ConsentStatus, LedgerAction, Party
from sms_consent.domain.opt_in import SkipReason
from sms_consent.errors import MalformedEvent, OptedOut, SmsSendFailed

OTHER_COMPANY_ID = "company-summit"
OTHER_COMPANY_NAME = "Summit Title Co"


def status_of(world, phone, company_id=None):
    return world.phone_consent(phone, company_id or world.COMPANY_ID).consent.status


def requested_by_two_companies(world):
    """Send opt-in requests to one phone from both companies, ours a minute before the other."""
    world.company(OTHER_COMPANY_ID, OTHER_COMPANY_NAME)
    phone = world.new_phone()
    ours = world.contact(phone=phone)
    theirs = world.contact(phone=phone, company_id=OTHER_COMPANY_ID)
    first = world.request(ours)
    world.clock.advance(60)
    second = world.request(theirs)
    return phone, first, second


# Opt-in -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["YES", "yes", "Start", "Y"])
def test_opt_in_reply_opts_pending_phone_in(world, body):
    contact = world.contact()
    world.request(contact)

    outcome = world.reply(contact.mobile_phone, body)

    assert outcome.result is ReplyResult.OPTED_IN
    assert status_of(world, contact.mobile_phone) is ConsentStatus.OPTED_IN


def test_opt_in_reply_sends_confirmation_naming_company(world):
    contact = world.contact()
    world.request(contact)

    world.reply(contact.mobile_phone, "YES")

    confirmation = world.texts_to(contact.mobile_phone)[-1]
    assert confirmation.startswith(f"{world.COMPANY_NAME}:")
    assert "STOP" in confirmation


def test_opt_in_reply_appends_inbound_ledger_entry(world):
    contact = world.contact()
    world.request(contact)

    world.reply(contact.mobile_phone, "YES", inbound_message_id="inbound-yes")

    entries = world.ledger_actions(contact.mobile_phone, LedgerAction.OPTED_IN)
    assert len(entries) == 1
    assert entries[0].cause is Cause.RECIPIENT_REPLY
    assert entries[0].direction == "inbound"
    assert entries[0].text == "YES"
    assert entries[0].message_id == "inbound-yes"
    assert entries[0].origination_number == contact.mobile_phone
    assert entries[0].destination_number == world.OUR_NUMBER


def test_yes_with_message_id_credits_sender(world):
    phone, first, _ = requested_by_two_companies(world)

    outcome = world.reply(phone, "YES", previous_message_id=first.message_id)

    assert outcome.company_ids == [world.COMPANY_ID]
    assert status_of(world, phone) is ConsentStatus.OPTED_IN
    assert status_of(world, phone, OTHER_COMPANY_ID) is ConsentStatus.PENDING


def test_yes_without_message_id_credits_latest(world):
    phone, _, _ = requested_by_two_companies(world)

    outcome = world.reply(phone, "START")

    assert outcome.company_ids == [OTHER_COMPANY_ID]
    assert status_of(world, phone, OTHER_COMPANY_ID) is ConsentStatus.OPTED_IN
    assert status_of(world, phone) is ConsentStatus.PENDING


def test_yes_unknown_message_id_credits_latest(world):
    phone, _, _ = requested_by_two_companies(world)

    outcome = world.reply(phone, "YES", previous_message_id="msg-unknown")

    assert outcome.company_ids == [OTHER_COMPANY_ID]


def test_opt_in_reply_without_pending_request_sends_help(world):
    phone = world.new_phone()

    outcome = world.reply(phone, "YES")

    assert outcome.result is ReplyResult.HELP_SENT
    assert world.texts_to(phone) == [messages.NO_PENDING_REQUEST_HELP]
    assert world.consents.consents_for_phone(phone) == []


def test_yes_from_opted_in_phone_changes_nothing(world):
    contact = world.opted_in_contact()
    entries_before = len(world.ledger(contact.mobile_phone))

    outcome = world.reply(contact.mobile_phone, "YES")

    assert outcome.result is ReplyResult.HELP_SENT
    assert status_of(world, contact.mobile_phone) is ConsentStatus.OPTED_IN
    assert len(world.ledger(contact.mobile_phone)) == entries_before


def test_opt_in_reply_to_other_number_changes_nothing(world):
    contact = world.contact()
    world.request(contact)

    world.reply(contact.mobile_phone, "YES", to_number=world.OTHER_OUR_NUMBER)

    assert status_of(world, contact.mobile_phone) is ConsentStatus.PENDING


# Opt-out ------------------------------------------------------------------------------------------


def test_stop_opts_out_every_sending_company(world):
    phone, _, _ = requested_by_two_companies(world)

    outcome = world.reply(phone, "STOP")

    assert outcome.result is ReplyResult.OPTED_OUT
    assert status_of(world, phone) is ConsentStatus.OPTED_OUT
    assert status_of(world, phone, OTHER_COMPANY_ID) is ConsentStatus.OPTED_OUT


def test_opt_out_reply_sends_one_confirmation_naming_companies(world):
    phone, _, _ = requested_by_two_companies(world)
    texts_before = len(world.texts_to(phone))

    world.reply(phone, "STOP")

    replies = world.texts_to(phone)[texts_before:]
    assert len(replies) == 1
    assert world.COMPANY_NAME in replies[0]
    assert OTHER_COMPANY_NAME in replies[0]
    assert "START" in replies[0]


def test_opt_out_reply_appends_ledger_entry_per_company(world):
    phone, _, _ = requested_by_two_companies(world)

    world.reply(phone, "STOP")

    assert len(world.ledger_actions(phone, LedgerAction.OPTED_OUT)) == 1
    assert len(world.ledger_actions(phone, LedgerAction.OPTED_OUT, OTHER_COMPANY_ID)) == 1


def test_opt_out_reply_publishes_opted_out_per_company(world):
    phone, _, _ = requested_by_two_companies(world)

    world.reply(phone, "STOP")

    companies = sorted(event.detail["company_id"] for event in world.publisher.of_type("Opted Out"))
    assert companies == sorted([world.COMPANY_ID, OTHER_COMPANY_ID])


def test_opt_out_reply_opts_out_opted_in_phone(world):
    contact = world.opted_in_contact()

    world.reply(contact.mobile_phone, "stop")

    assert status_of(world, contact.mobile_phone) is ConsentStatus.OPTED_OUT


def test_stop_to_other_number_spares_others(world):
    world.company(OTHER_COMPANY_ID, OTHER_COMPANY_NAME)
    phone = world.new_phone()
    world.request(world.contact(phone=phone))
    world.sender.origination_number = world.OTHER_OUR_NUMBER
    world.request(world.contact(phone=phone, company_id=OTHER_COMPANY_ID))

    world.reply(phone, "STOP", to_number=world.OTHER_OUR_NUMBER)

    assert status_of(world, phone, OTHER_COMPANY_ID) is ConsentStatus.OPTED_OUT
    assert status_of(world, phone) is ConsentStatus.PENDING


def test_opt_out_reply_from_unknown_phone_sends_nothing(world):
    phone = world.new_phone()

    outcome = world.reply(phone, "STOP")

    assert outcome.result is ReplyResult.IGNORED
    assert world.texts_to(phone) == []


def test_opted_out_phone_launch_sends_nothing(world):
    contact = world.opted_out_contact()
    world.clock.set(world.START + timedelta(days=3))
    texts_before = len(world.sender.sent)
    prop = world.property([(contact, "buyer")])

    outcomes = world.launch(prop)

    assert len(world.sender.sent) == texts_before
    assert outcomes[0].reason is SkipReason.OPTED_OUT


def test_opted_out_phone_manual_request_raises_opted_out(world):
    contact = world.opted_out_contact()
    world.clock.set(world.START + timedelta(days=3))
    texts_before = len(world.sender.sent)

    with pytest.raises(OptedOut):
        world.request(contact)

    assert len(world.sender.sent) == texts_before


def test_opted_out_phone_new_contact_gets_nothing(world):
    opted_out = world.opted_out_contact()
    prop = world.property([])
    world.launch(prop)
    world.clock.set(world.START + timedelta(days=3))
    texts_before = len(world.sender.sent)
    newcomer = world.contact("Dana Again", phone=opted_out.mobile_phone)

    world.directory.add_party(world.COMPANY_ID, prop.property_id, Party(newcomer.contact_id, "buyer"))
    outcomes = world.deliver_events()

    assert len(world.sender.sent) == texts_before
    assert outcomes[0].reason is SkipReason.OPTED_OUT


def test_opt_in_reply_after_stop_opts_back_in(world):
    contact = world.opted_out_contact()

    outcome = world.reply(contact.mobile_phone, "START")

    assert outcome.result is ReplyResult.OPTED_IN
    assert status_of(world, contact.mobile_phone) is ConsentStatus.OPTED_IN


# Help and other replies ---------------------------------------------------------------------------


def test_help_reply_sends_help_naming_company(world):
    contact = world.contact()
    world.request(contact)

    outcome = world.reply(contact.mobile_phone, "HELP")

    assert outcome.result is ReplyResult.HELP_SENT
    help_text = world.texts_to(contact.mobile_phone)[-1]
    assert help_text.startswith(f"{world.COMPANY_NAME}:")
    assert "STOP" in help_text
    assert "help@harborpoint.example" in help_text


def test_help_reply_changes_no_consent(world):
    contact = world.contact()
    world.request(contact)

    world.reply(contact.mobile_phone, "HELP")

    assert status_of(world, contact.mobile_phone) is ConsentStatus.PENDING


def test_unknown_reply_changes_nothing(world):
    contact = world.contact()
    world.request(contact)
    texts_before = len(world.sender.sent)

    outcome = world.reply(contact.mobile_phone, "Who is this?")

    assert outcome.result is ReplyResult.IGNORED
    assert status_of(world, contact.mobile_phone) is ConsentStatus.PENDING
    assert len(world.sender.sent) == texts_before
    assert world.telemetry.counts["ReplyIgnored"] == 1


def test_sentence_with_stop_leaves_consent_pending(world):
    contact = world.contact()
    world.request(contact)

    outcome = world.reply(contact.mobile_phone, "Can we stop by the house Tuesday?")

    assert outcome.result is ReplyResult.IGNORED
    assert status_of(world, contact.mobile_phone) is ConsentStatus.PENDING


# Redelivery and malformed events ------------------------------------------------------------------


def test_opt_in_reply_redelivered_sends_no_second_text(world):
    contact = world.contact()
    world.request(contact)
    world.reply(contact.mobile_phone, "YES", inbound_message_id="inbound-7")
    texts_before = len(world.sender.sent)
    entries_before = len(world.ledger(contact.mobile_phone))

    outcome = world.reply(contact.mobile_phone, "YES", inbound_message_id="inbound-7")

    assert outcome.result is ReplyResult.DUPLICATE
    assert len(world.sender.sent) == texts_before
    assert len(world.ledger(contact.mobile_phone)) == entries_before


def test_opt_out_reply_redelivered_sends_no_second_text(world):
    contact = world.contact()
    world.request(contact)
    world.reply(contact.mobile_phone, "STOP", inbound_message_id="inbound-8")
    texts_before = len(world.sender.sent)
    entries_before = len(world.ledger(contact.mobile_phone))

    outcome = world.reply(contact.mobile_phone, "STOP", inbound_message_id="inbound-8")

    assert outcome.result is ReplyResult.DUPLICATE
    assert len(world.sender.sent) == texts_before
    assert len(world.ledger(contact.mobile_phone)) == entries_before


def test_help_reply_redelivered_sends_no_second_text(world):
    contact = world.contact()
    world.request(contact)
    world.reply(contact.mobile_phone, "HELP", inbound_message_id="inbound-9")
    texts_before = len(world.sender.sent)

    outcome = world.reply(contact.mobile_phone, "HELP", inbound_message_id="inbound-9")

    assert outcome.result is ReplyResult.DUPLICATE
    assert len(world.sender.sent) == texts_before


def test_stop_retry_sends_lost_confirmation(world):
    contact = world.contact()
    world.request(contact)
    texts_before = len(world.texts_to(contact.mobile_phone))
    world.sender.fail_with = [SmsSendFailed("throttled")]
    with pytest.raises(SmsSendFailed):
        world.reply(contact.mobile_phone, "STOP", inbound_message_id="inbound-10")

    world.reply(contact.mobile_phone, "STOP", inbound_message_id="inbound-10")

    assert len(world.texts_to(contact.mobile_phone)) == texts_before + 1


@pytest.mark.parametrize("origination", ["not a phone", "+1 201 555", ""])
def test_invalid_origination_number_raises_malformed_event(world, origination):
    with pytest.raises(MalformedEvent):
        world.reply(origination, "STOP")


def test_invalid_destination_number_raises_malformed_event(world):
    with pytest.raises(MalformedEvent):
        world.reply(world.new_phone(), "STOP", to_number="12")


# Automatic replies that change nothing ------------------------------------------------------------


def test_repeated_stop_within_hour_gets_no_second_confirmation(world):
    contact = world.opted_out_contact()
    texts_before = len(world.texts_to(contact.mobile_phone))

    for _ in range(5):
        world.reply(contact.mobile_phone, "STOP")

    assert len(world.texts_to(contact.mobile_phone)) == texts_before


def test_repeated_stop_after_hour_gets_one_confirmation(world):
    contact = world.opted_out_contact()
    texts_before = len(world.texts_to(contact.mobile_phone))
    world.clock.advance(3601)

    for _ in range(3):
        world.reply(contact.mobile_phone, "STOP")

    assert len(world.texts_to(contact.mobile_phone)) == texts_before + 1


def test_repeated_help_gets_one_reply_per_hour(world):
    contact = world.contact()
    world.request(contact)
    texts_before = len(world.texts_to(contact.mobile_phone))

    for _ in range(4):
        world.reply(contact.mobile_phone, "HELP")

    assert len(world.texts_to(contact.mobile_phone)) == texts_before + 1


def test_help_again_after_an_hour_is_answered(world):
    contact = world.contact()
    world.request(contact)
    texts_before = len(world.texts_to(contact.mobile_phone))
    world.reply(contact.mobile_phone, "HELP")
    world.clock.advance(3601)

    world.reply(contact.mobile_phone, "HELP")

    assert len(world.texts_to(contact.mobile_phone)) == texts_before + 2


def test_first_stop_confirmation_is_never_limited(world):
    contact = world.contact()
    world.request(contact)
    world.reply(contact.mobile_phone, "HELP")
    texts_before = len(world.texts_to(contact.mobile_phone))

    world.reply(contact.mobile_phone, "STOP")

    assert len(world.texts_to(contact.mobile_phone)) == texts_before + 1


def test_stop_confirmation_in_ledger(world):
    contact = world.contact()
    world.request(contact)

    world.reply(contact.mobile_phone, "STOP")

    entry = world.ledger(contact.mobile_phone)[-1]
    assert entry.action.value == "confirmation_sent"
    assert entry.text == world.texts_to(contact.mobile_phone)[-1]
    assert entry.direction == "outbound"


def test_repeated_stop_adds_no_confirmation_entry(world):
    contact = world.opted_out_contact()
    entries_before = len(world.ledger(contact.mobile_phone))
    world.clock.advance(3601)

    world.reply(contact.mobile_phone, "STOP")

    assert len(world.ledger(contact.mobile_phone)) == entries_before
