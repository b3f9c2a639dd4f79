"""The texts the service sends. Each names the company, so the recipient can tell who is asking."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from sms_consent.domain.model import Company
from sms_consent.domain.segments import is_gsm7, to_gsm_friendly

# With a company name of up to 40 characters the request fits one GSM-7 segment (160 characters).
OPT_IN_REQUEST = (
    "{company}: Reply YES to receive texts about your real estate deal, STOP to opt out, "
    "HELP for help. Msg&data rates may apply."
)
HELP = (
    "{company}: texts about your real estate deal. Reply STOP to opt out, YES to opt in. "
    "{support}Msg&data rates may apply."
)
OPTED_IN = (
    "{company}: You are subscribed to texts about your real estate deal. "
    "Reply STOP to opt out, HELP for help."
)
OPTED_OUT = "You are unsubscribed from {companies} and will get no more texts. Reply START to resubscribe."
NO_PENDING_REQUEST_HELP = (
    "No opt-in request is pending for this number. Reply STOP to opt out, HELP for help."
)


def sender_name(company: Company) -> str:
    """Return the company name as texts show it.

    Curly quotes, odd spaces and accents become their GSM-7 lookalikes. Emoji and other symbols
    are dropped, because one of them would turn the whole text into UCS-2 and triple its segments
    without naming the company. Letters of other scripts stay (the text is then UCS-2), so a name such
    as "東京不動産" still names the company. A name with nothing left falls back to the company id.
    """
    friendly = "".join(
        character
        for character in to_gsm_friendly(company.display_name)
        if is_gsm7(character) or unicodedata.category(character)[0] in "LNM"
    )
    return " ".join(friendly.split()) or company.company_id


def opt_in_request(company: Company) -> str:
    return OPT_IN_REQUEST.format(company=sender_name(company))


def help_text(company: Company) -> str:
    support = f"Help: {to_gsm_friendly(company.support_contact)}. " if company.support_contact else ""
    return HELP.format(company=sender_name(company), support=support)


def opted_in_confirmation(companies: Company | Sequence[Company]) -> str:
    """Confirm an opt-in, naming every company the reply opted in to."""
    listed = [companies] if isinstance(companies, Company) else list(companies)
    return OPTED_IN.format(company=", ".join(sender_name(company) for company in listed))


def opted_out_confirmation(companies: Sequence[Company]) -> str:
    names = ", ".join(sender_name(company) for company in companies) or "these texts"
    return OPTED_OUT.format(companies=names)
