"""Request bodies of the HTTP API. Unknown fields are rejected, so a typo never passes silently."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

from sms_consent.domain.model import Role

RoleName = Literal[tuple(role.value for role in Role)]  # type: ignore[valid-type]
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


# Characters that reorder the display of text; in a company name or a message they can make a text
# read differently from what was stored.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _clean_text(value: str, multiline: bool = False) -> str:
    """Strip surrounding whitespace; reject control and bidirectional characters and invisible text.

    Only multi-line fields (a task's message) may contain line breaks.
    """
    cleaned = unicodedata.normalize("NFC", value).strip()
    allowed = "\n" if multiline else ""
    if any(unicodedata.category(character) == "Cc" and character not in allowed for character in cleaned):
        if not multiline and ("\n" in cleaned or "\r" in cleaned):
            raise ValueError("contains a line break; give it on one line")
        raise ValueError("contains control characters; remove them")
    if any(character in _BIDI_CONTROLS for character in cleaned):
        raise ValueError(
            "contains bidirectional control characters (U+202A to U+202E, U+2066 to U+2069); remove them"
        )
    visible = "".join(
        character for character in cleaned if unicodedata.category(character) not in ("Cf", "Zs")
    )
    if not visible.strip():
        raise ValueError("has no visible characters; give a non-empty text")
    return cleaned


def Text(max_length: int, multiline: bool = False) -> type[str]:  # noqa: N802 - reads as a type in annotations
    clean = AfterValidator(lambda value: _clean_text(value, multiline))
    return Annotated[StrictStr, Field(min_length=1, max_length=max_length), clean]  # type: ignore[return-value]


ContactId = Annotated[StrictStr, Field(pattern=ID_PATTERN, description="Id returned by POST /contacts")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CompanyBody(_Body):
    """The company profile; ``name`` goes into every text."""

    name: Text(100) = Field(
        description="Company name as texts show it; up to 40 characters keep the opt-in request in one segment",  # noqa: E501
    )  # type: ignore[valid-type]
    support_contact: Text(100) | None = Field(
        default=None, description="Phone number, e-mail or URL named in the help text"
    )  # type: ignore[valid-type]


class ContactBody(_Body):
    name: Text(200)  # type: ignore[valid-type]
    mobile_phone: Annotated[StrictStr, Field(max_length=40)] | None = Field(
        default=None,
        description="Mobile number; E.164 (+12015550123) or national form of the default country",
    )
    sms_enabled: StrictBool = True


class ContactPatchBody(_Body):
    name: Text(200) | None = None  # type: ignore[valid-type]
    mobile_phone: Annotated[StrictStr, Field(max_length=40)] | None = Field(
        default=None, description="New mobile number, or null to remove it"
    )
    sms_enabled: StrictBool | None = None

    @model_validator(mode="after")
    def _at_least_one(self) -> ContactPatchBody:
        if not self.model_fields_set:
            raise ValueError("give at least one of name, mobile_phone, sms_enabled")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be null")
        if "sms_enabled" in self.model_fields_set and self.sms_enabled is None:
            raise ValueError("sms_enabled cannot be null; use true or false")
        return self


class PartyBody(_Body):
    contact_id: ContactId
    role: RoleName  # type: ignore[valid-type]


class SmsTaskBody(_Body):
    name: Text(200)  # type: ignore[valid-type]
    message: Text(1600, multiline=True) = Field(description="Text sent to opted-in recipients")  # type: ignore[valid-type]
    recipient_roles: list[RoleName] = Field(default_factory=list, max_length=20)  # type: ignore[valid-type]
    recipient_contact_ids: list[ContactId] = Field(default_factory=list, max_length=100)


class PropertyBody(_Body):
    address: Text(500)  # type: ignore[valid-type]
    parties: list[PartyBody] = Field(default_factory=list, max_length=100)
    sms_tasks: list[SmsTaskBody] = Field(default_factory=list, max_length=50)


class RecipientBody(_Body):
    contact_id: ContactId
