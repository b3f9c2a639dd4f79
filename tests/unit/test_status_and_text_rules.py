"""Status precedence, texts and input rules that a new user's run of the product exposed."""

from __future__ import annotations

import pytest
from sms_consent.domain import messages
from sms_consent.domain.model import Company, SmsStatus, new_entry_id
from sms_consent.domain.segments import measure
from sms_consent.errors import InvalidPhoneNumber
from sms_consent.http.presenters import spreadsheet_safe


def test_status_opted_out_outranks_sms_disabled(world):
    contact = world.opted_out_contact()
    world.directory.update_contact(world.COMPANY_ID, contact.contact_id, {"sms_enabled": False})

    _, status = world.tasks.contact_status(world.COMPANY_ID, contact.contact_id)

    assert status.status is SmsStatus.OPTED_OUT
    assert status.opted_out_at is not None


def test_status_opted_in_has_no_next_request_time(world):
    contact = world.opted_in_contact()

    _, status = world.tasks.contact_status(world.COMPANY_ID, contact.contact_id)

    assert status.next_request_at is None


def test_request_cooldown_end_is_whole_second(world):
    world.clock.set(world.START.replace(microsecond=705038))
    contact = world.contact()

    outcome = world.request(contact)

    assert outcome.next_request_at.microsecond == 0
    assert outcome.next_request_at >= world.START.replace(microsecond=705038) + world.COOLDOWN


def test_ledger_entry_ids_sort_in_creation_order():
    ids = [new_entry_id() for _ in range(50)]

    assert ids == sorted(ids)


def test_ledger_of_one_instant_keeps_request_before_reply(world):
    contact = world.contact()
    world.request(contact)
    world.reply(contact.mobile_phone, "YES")

    actions = [entry.action.value for entry in world.ledger(contact.mobile_phone)]

    assert actions == ["opt_in_requested", "opted_in", "confirmation_sent"]


def test_start_after_stop_confirms_every_company(world):
    other = world.company("company-beta", "Beta Realty")
    contact = world.contact()
    other_contact = world.contact(company_id=other.company_id, phone=contact.mobile_phone)
    world.request(contact)
    world.opt_in.request_for_contact(other.company_id, other_contact.contact_id, "beta-click")
    world.reply(contact.mobile_phone, "STOP")

    outcome = world.reply(contact.mobile_phone, "START")

    assert sorted(outcome.company_ids) == sorted([world.COMPANY_ID, other.company_id])
    assert "Beta Realty" in outcome.reply_text
    assert world.COMPANY_NAME in outcome.reply_text


def test_sender_name_drops_emoji_to_stay_gsm7():
    text = messages.opt_in_request(Company("c-1", "Harbor Realty 🏠"))

    assert measure(text).encoding == "GSM-7"
    assert measure(text).segments == 1


def test_sender_name_emoji_only_uses_id():
    assert messages.sender_name(Company("c-1", "🏠🏠")) == "c-1"


def test_contact_with_our_own_number_is_rejected(world):
    with pytest.raises(InvalidPhoneNumber) as raised:
        world.directory.create_contact(world.COMPANY_ID, "Loop", world.OUR_NUMBER, True)

    assert raised.value.errors[0].field == "mobile_phone"


def test_contact_number_with_extension_is_rejected(world):
    with pytest.raises(InvalidPhoneNumber) as raised:
        world.directory.create_contact(world.COMPANY_ID, "Desk", "+1 (201) 555-0104 ext 5", True)

    assert "extension" in raised.value.errors[0].message


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_mobile_phone_means_no_number(world, blank):
    contact = world.directory.create_contact(world.COMPANY_ID, "No Phone", blank, True)

    assert contact.mobile_phone is None


def test_provider_opt_out_can_be_undone_by_start(world):
    contact = world.contact()
    world.opt_in.mark_opted_out_by_provider(world.COMPANY_ID, contact.mobile_phone)

    outcome = world.reply(contact.mobile_phone, "START")

    assert outcome.company_ids == [world.COMPANY_ID]


@pytest.mark.parametrize("cell", ["=HYPERLINK(1)", "+SUM(A1)", "-stop now", "@STOP", "\tSTOP"])
def test_spreadsheet_safe_neutralizes_formulas(cell):
    assert spreadsheet_safe(cell) == "'" + cell


def test_spreadsheet_safe_keeps_plain_text():
    assert spreadsheet_safe("Stop please") == "Stop please"


def test_spreadsheet_safe_keeps_e164_numbers():
    assert spreadsheet_safe("+12015550101") == "+12015550101"


def _two_company_requests(world):
    other = world.company("company-beta", "Beta Realty")
    contact = world.contact()
    other_contact = world.contact(company_id=other.company_id, phone=contact.mobile_phone)
    first = world.request(contact)
    world.opt_in.request_for_contact(other.company_id, other_contact.contact_id, "beta-click")
    return other, contact, first


def test_second_yes_to_same_request_credits_nobody_else(world):
    other, contact, first = _two_company_requests(world)
    world.reply(contact.mobile_phone, "YES", previous_message_id=first.message_id)

    outcome = world.reply(contact.mobile_phone, "YES", previous_message_id=first.message_id)

    assert outcome.company_ids == []
    assert world.phone_consent(contact.mobile_phone, other.company_id).consent.status.value == "pending"


def test_yes_answering_a_confirmation_credits_nobody_else(world):
    other, contact, _ = _two_company_requests(world)
    world.reply(contact.mobile_phone, "YES")
    confirmation_id = f"msg-{len(world.sender.sent)}"

    world.reply(contact.mobile_phone, "YES", previous_message_id=confirmation_id)

    assert world.phone_consent(contact.mobile_phone, world.COMPANY_ID).consent.status.value == "pending"


def test_sender_name_keeps_letters_of_other_scripts():
    assert messages.sender_name(Company("c-1", "東京不動産")) == "東京不動産"


def test_sender_name_keeps_hebrew_and_latin_words():
    assert messages.sender_name(Company("c-1", "שלום Realty")) == "שלום Realty"


def test_start_still_blocked_by_provider(world):
    from sms_consent.errors import DestinationOptedOut

    contact = world.contact()
    world.opt_in.mark_opted_out_by_provider(world.COMPANY_ID, contact.mobile_phone)
    world.sender.fail_with.append(DestinationOptedOut("still listed"))

    world.reply(contact.mobile_phone, "START")

    assert world.phone_consent(contact.mobile_phone).consent.status.value == "opted_out"
