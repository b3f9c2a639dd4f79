"""Phone numbers: E.164 normalization with `phonenumbers`, and masking for logs."""

from __future__ import annotations

import phonenumbers

from sms_consent.errors import InvalidPhoneNumber

_MOBILE_CAPABLE = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    # Toll-free and VoIP numbers often receive texts in the US; the provider rejects the rest.
    phonenumbers.PhoneNumberType.VOIP,
    phonenumbers.PhoneNumberType.TOLL_FREE,
    phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    phonenumbers.PhoneNumberType.UNKNOWN,
}


def normalize_phone(raw: str, default_region: str, field: str = "mobile_phone") -> str:
    """Parse ``raw`` and return it in E.164 form.

    Parameters
    ----------
    raw
        The number as a person typed it: "+1 201-555-0123", "(201) 555-0123", "2015550123".
    default_region
        ISO 3166 region used when ``raw`` has no country code, for example "US".
    field
        The input field named in the error.

    Raises
    ------
    InvalidPhoneNumber
        When the text is not a phone number, is not a valid number for its region, or is a
        landline-only number that cannot receive texts.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidPhoneNumber(
            field, "is empty; give a mobile number in E.164 form, for example +12015550123"
        )
    if len(raw) > 40:
        raise InvalidPhoneNumber(
            field, "is longer than 40 characters; give a mobile number such as +12015550123"
        )
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber(
            field,
            f"is not a phone number; give it in E.164 form such as +12015550123 (region {default_region})",
        ) from None
    if parsed.extension:
        raise InvalidPhoneNumber(field, "has an extension; texts cannot reach an extension, so remove it")
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(
            field, "is not a valid phone number for its country; check the area code and the number of digits"
        )
    if phonenumbers.number_type(parsed) not in _MOBILE_CAPABLE:
        raise InvalidPhoneNumber(field, "is a landline or service number that cannot receive text messages")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(phone: str | None) -> str:
    """Return the number with all but its last four digits hidden, for logs: ``***0123``."""
    if not phone:
        return "none"
    digits = [character for character in phone if character.isdigit()]
    return "***" + "".join(digits[-4:])
