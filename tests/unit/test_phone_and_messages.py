"""Tests for phone number normalization and masking, and for the texts the service sends."""

import pytest
from sms_consent.domain import messages
from sms_consent.domain.model import Company
from sms_consent.domain.phone import mask_phone, normalize_phone
from sms_consent.domain.segments import measure
from sms_consent.errors import InvalidPhoneNumber

FORTY_CHARACTER_NAME = "Northern Lights Premier Realty Group LLC"

# Phone numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "+12015550123",
        "+1 201-555-0123",
        "(201) 555-0123",
        "201.555.0123",
        "2015550123",
        " +1 (201) 555 0123 ",
    ],
)
def test_normalize_phone_us_formats_to_e164(raw):
    assert normalize_phone(raw, "US") == "+12015550123"


def test_normalize_phone_keeps_foreign_country_code():
    assert normalize_phone("+61 4 1234 5678", "US") == "+61412345678"


def test_normalize_phone_uses_default_region_without_country_code():
    assert normalize_phone("0412 345 678", "AU") == "+61412345678"


@pytest.mark.parametrize(
    ("raw", "expected_words"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("call me", "is not a phone number"),
        ("+1 201 555", "is not a valid phone number"),
        ("+1 000 555 0123", "is not a valid phone number"),
        ("+44 20 7946 0018", "landline"),
        ("+1 900 555 0123", "landline or service number"),
        ("1" * 41, "longer than 40 characters"),
    ],
)
def test_normalize_phone_invalid_raises_with_reason(raw, expected_words):
    with pytest.raises(InvalidPhoneNumber) as raised:
        normalize_phone(raw, "US")

    assert raised.value.errors[0].field == "mobile_phone"
    assert expected_words in raised.value.errors[0].message


def test_normalize_phone_error_names_given_field():
    with pytest.raises(InvalidPhoneNumber) as raised:
        normalize_phone("call me", "US", field="originationNumber")

    assert raised.value.errors[0].field == "originationNumber"


def test_mask_phone_keeps_last_four_digits():
    assert mask_phone("+12015550123") == "***0123"


@pytest.mark.parametrize("phone", [None, ""])
def test_mask_phone_missing_number(phone):
    assert mask_phone(phone) == "none"


# Texts --------------------------------------------------------------------------------------------


def test_opt_in_request_names_company_first():
    text = messages.opt_in_request(Company("company-1", "Harbor Point Realty"))

    assert text.startswith("Harbor Point Realty: ")


@pytest.mark.parametrize("required", ["YES", "STOP", "HELP", "Msg&data rates may apply"])
def test_opt_in_request_contains_required_words(required):
    assert required in messages.opt_in_request(Company("company-1", "Harbor Point Realty"))


def test_opt_in_request_fits_one_segment():
    assert len(FORTY_CHARACTER_NAME) == 40

    info = measure(messages.opt_in_request(Company("company-1", FORTY_CHARACTER_NAME)))

    assert info.encoding == "GSM-7"
    assert info.segments == 1


def test_opt_in_request_without_name_uses_company_id():
    assert messages.opt_in_request(Company("company-1")).startswith("company-1: ")


def test_sender_name_replaces_typographic_characters():
    company = Company("company-1", "  Smith\u00a0\u201cBest\u201d Homes  ")

    assert messages.sender_name(company) == 'Smith "Best" Homes'


def test_help_text_names_company_stop_and_support():
    text = messages.help_text(Company("company-1", "Harbor Point Realty", "555-0142"))

    assert text.startswith("Harbor Point Realty: ")
    assert "STOP" in text
    assert "Help: 555-0142." in text


def test_help_text_without_support_contact_omits_it():
    text = messages.help_text(Company("company-1", "Harbor Point Realty"))

    assert "Help:" not in text
    assert "Msg&data rates may apply" in text


def test_opted_in_confirmation_names_company_and_stop():
    text = messages.opted_in_confirmation(Company("company-1", "Harbor Point Realty"))

    assert text.startswith("Harbor Point Realty: ")
    assert "STOP" in text


def test_opted_out_confirmation_names_every_company_and_start():
    text = messages.opted_out_confirmation(
        [Company("company-1", "Harbor Point Realty"), Company("company-2", "Summit Title Co")]
    )

    assert "Harbor Point Realty, Summit Title Co" in text
    assert "START" in text


def test_opted_out_confirmation_without_companies_stays_readable():
    text = messages.opted_out_confirmation([])

    assert "unsubscribed from these texts" in text


@pytest.mark.parametrize(
    "text",
    [
        messages.opt_in_request(Company("company-1", FORTY_CHARACTER_NAME)),
        messages.opted_in_confirmation(Company("company-1", FORTY_CHARACTER_NAME)),
        messages.opted_out_confirmation([Company("company-1", FORTY_CHARACTER_NAME)]),
        messages.NO_PENDING_REQUEST_HELP,
    ],
    ids=["opt_in_request", "opted_in", "opted_out", "no_pending_request"],
)
def test_service_texts_fit_one_segment(text):
    assert measure(text).segments == 1
