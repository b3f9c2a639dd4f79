"""Typed errors of the consent service.

Every error the service raises on purpose derives from `ConsentServiceError`. The HTTP layer maps
each class to one status code in one place (`sms_consent.http_errors`), and asynchronous handlers
use `retryable` to decide between re-raising (so Lambda retries and the dead-letter queue work) and
dropping an event that can never succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class ConsentServiceError(Exception):
    """Base class of the service's own errors."""

    retryable = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class FieldError:
    """One invalid input field: its location (for example ``body.mobile_phone``) and the fix."""

    field: str
    message: str


class ValidationFailed(ConsentServiceError):
    """Input that can never be accepted; lists each invalid field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{error.field}: {error.message}" for error in errors))
        self.errors = errors


class InvalidPhoneNumber(ValidationFailed):
    """A phone number that `phonenumbers` cannot parse or reports as invalid."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__([FieldError(field, reason)])


class Unauthorized(ConsentServiceError):
    """The request carries no usable ``company_id`` claim."""


class NotFound(ConsentServiceError):
    """The resource does not exist in the caller's company (another company's resource included)."""


class Conflict(ConsentServiceError):
    """The request contradicts the resource's current state."""


class AlreadyLaunched(Conflict):
    """The property's tasks were launched before; launching again sends nothing."""


class AlreadyOptedIn(Conflict):
    """The phone has opted in, so an opt-in request is pointless."""


class OptedOut(Conflict):
    """The phone has opted out; only the recipient can undo that, by texting START."""


class CannotText(ConsentServiceError):
    """The contact cannot receive texts: no mobile number, or SMS disabled on the contact."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class CooldownActive(ConsentServiceError):
    """An opt-in request went to this phone less than the cooldown period ago."""

    def __init__(self, next_request_at: datetime) -> None:
        super().__init__(
            f"an opt-in request was sent recently; the next is allowed at {next_request_at.isoformat()}"
        )
        self.next_request_at = next_request_at


class TransientError(ConsentServiceError):
    """A fault that may succeed on retry (throttling, timeouts, a provider outage)."""

    retryable = True


class SmsSendFailed(TransientError):
    """The SMS provider did not accept the message; retrying may succeed."""


class PermanentSendFailure(ConsentServiceError):
    """The SMS provider rejected the message for a reason that retrying cannot fix."""


class DestinationOptedOut(PermanentSendFailure):
    """The provider reports the destination phone as opted out (DESTINATION_PHONE_NUMBER_OPTED_OUT)."""


class MalformedEvent(ConsentServiceError):
    """An asynchronous event that cannot be parsed; it is logged, counted and dropped."""
