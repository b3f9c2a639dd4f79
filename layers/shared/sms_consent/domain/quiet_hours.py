"""Quiet hours: the local times at which automatic SMS may go to a phone number.

Automatic messages may be sent from 08:00 until 21:00 in the recipient's local time,
and until 20:00 for Florida and Oklahoma numbers. The window is half-open: a message
at 08:00:00 is allowed, one at 21:00:00 is not.

The time zones come from the number's prefix through the ``phonenumbers`` time zone
data. A number that maps to several zones (a toll-free or mobile number valid across
a whole country) may be texted only while the window is open in every one of them.
The state comes from the area code, so a number keeps its home state's rule when its
owner moves.

``phonenumbers`` is imported inside the functions that need it, which keeps importing
this module cheap on a Lambda cold start.

NOTE: ``zoneinfo`` reads the system time zone database, or the ``tzdata`` package
when the system has none. A runtime image without /usr/share/zoneinfo needs
``tzdata`` installed in the layer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from sms_consent.errors import ConsentServiceError, InvalidPhoneNumber

if TYPE_CHECKING:
    from phonenumbers import PhoneNumber

__all__ = [
    "DEFAULT_WINDOW_END",
    "DEFAULT_WINDOW_START",
    "FLORIDA_AREA_CODES",
    "NoCommonSendingWindowError",
    "OKLAHOMA_AREA_CODES",
    "QuietHoursError",
    "RESTRICTED_STATE_WINDOW_END",
    "SendingWindow",
    "UnknownTimeZoneError",
    "next_allowed_send_time",
    "sending_window_for",
]

DEFAULT_WINDOW_START: Final = time(8, 0)
DEFAULT_WINDOW_END: Final = time(21, 0)
RESTRICTED_STATE_WINDOW_END: Final = time(20, 0)

# Area codes assigned to Florida and Oklahoma. The phonenumbers geocoder also returns
# the state of a number, but its first lookup loads about 100 MB of prefix data and
# takes about 0.3 s, too much for a Lambda function. Those figures are the peak RSS
# and wall time of one lookup with phonenumbers 9.0.43 on Python 3.11 (x86-64
# development machine).
# A unit test checks these sets against the geocoder for every US area code, so an
# upgrade of phonenumbers that adds an area code makes that test fail.
FLORIDA_AREA_CODES: Final = frozenset(
    {
        "239",
        "305",
        "321",
        "324",
        "352",
        "386",
        "407",
        "448",
        "561",
        "645",
        "656",
        "689",
        "727",
        "728",
        "754",
        "772",
        "786",
        "813",
        "850",
        "863",
        "904",
        "941",
        "954",
    }
)
OKLAHOMA_AREA_CODES: Final = frozenset({"405", "539", "572", "580", "918"})

_NANP_COUNTRY_CODE: Final = 1
_NANP_NATIONAL_NUMBER_LENGTH: Final = 10

# Days searched for a time at which the window is open in all of a number's zones:
# the current day and a full week, so a daylight saving change in any zone is included.
_SEARCH_DAYS: Final = 8


class QuietHoursError(ConsentServiceError):
    """Base class for errors raised while computing a sending window.

    These errors are permanent: retrying with the same number fails the same way.
    """


class UnknownTimeZoneError(QuietHoursError):
    """Error raised when no time zone is known for a number or its country calling code."""


class NoCommonSendingWindowError(QuietHoursError):
    """Error raised when a number's time zones are so far apart that no hour is open in all."""


@dataclass(frozen=True)
class SendingWindow:
    """Daily local-time window in which automatic messages may go to one number.

    Attributes
    ----------
    start : datetime.time
        First local time at which sending is allowed.
    end : datetime.time
        Local time at which sending stops. The window is ``[start, end)``.
    zones : tuple of str
        IANA time zone names of the number, sorted. The window must be open in all
        of them.
    """

    start: time
    end: time
    zones: tuple[str, ...]

    def is_open_at(self, moment: datetime) -> bool:
        """Return whether an aware ``moment`` is inside the window in every zone."""
        return all(_is_open_in_zone(moment, ZoneInfo(zone), self.start, self.end) for zone in self.zones)


@lru_cache(maxsize=4096)
def sending_window_for(phone_e164: str) -> SendingWindow:
    """Determine the daily sending window and time zones of a phone number.

    The zones come from ``phonenumbers.timezone.time_zones_for_number``. When it
    returns the unknown zone, which it does for numbers its metadata considers
    invalid, the zones of the longest matching number prefix are used instead, down
    to the country calling code (every zone of the country). Results are cached per
    number string.

    Parameters
    ----------
    phone_e164 : str
        Phone number in E.164 form, for example ``"+12015550123"``.

    Returns
    -------
    SendingWindow
        08:00 to 21:00, or 08:00 to 20:00 for Florida and Oklahoma area codes, with
        the number's time zones.

    Raises
    ------
    sms_consent.errors.InvalidPhoneNumber
        If ``phone_e164`` cannot be parsed.
    UnknownTimeZoneError
        If neither the number nor its country calling code maps to a time zone, as
        for the international freephone code +800.
    """
    number = _parse_phone_number(phone_e164)
    zones = _time_zones_for(number, phone_e164)
    end = RESTRICTED_STATE_WINDOW_END if _is_florida_or_oklahoma(number) else DEFAULT_WINDOW_END
    return SendingWindow(start=DEFAULT_WINDOW_START, end=end, zones=zones)


def next_allowed_send_time(phone_e164: str, now: datetime) -> datetime | None:
    """Find the earliest time at which an automatic message may go to a number.

    Parameters
    ----------
    phone_e164 : str
        Phone number in E.164 form.
    now : datetime.datetime
        Current time. It must be timezone-aware; any zone is accepted.

    Returns
    -------
    datetime.datetime or None
        None when sending is allowed at ``now``. Otherwise the earliest instant after
        ``now``, in UTC, at which the window is open in all of the number's zones.

    Raises
    ------
    ValueError
        If ``now`` is naive.
    sms_consent.errors.InvalidPhoneNumber, UnknownTimeZoneError
        As raised by :func:`sending_window_for`.
    NoCommonSendingWindowError
        If no instant in the next 8 days is inside the window in all zones.
    zoneinfo.ZoneInfoNotFoundError
        If the time zone database lacks one of the number's zones.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be a timezone-aware datetime, got naive {now.isoformat()}")

    window = sending_window_for(phone_e164)
    now_utc = now.astimezone(UTC)
    if window.is_open_at(now_utc):
        return None

    # The earliest open instant after a closed one is a moment at which some zone's
    # window opens, so only those openings need checking, in time order. Each opening
    # is a local 08:00, because clock changes do not cross it. In the tz database from
    # 2000 to 2040, no zone that phonenumbers lists moves its clock across 08:00,
    # 20:00 or 21:00. The one exception is the day Samoa and Tokelau skipped
    # (30 December 2011), and the next day's opening is still found.
    for candidate in _window_openings_after(now_utc, window):
        if window.is_open_at(candidate):
            return candidate

    raise NoCommonSendingWindowError(
        f"The sending windows of time zones {', '.join(window.zones)} do not overlap within "
        f"{_SEARCH_DAYS} days of {now_utc.isoformat()}, so no automatic message can be scheduled "
        f"for the number ending in {_last_four_digits(phone_e164)}."
    )


def _is_open_in_zone(moment: datetime, zone: ZoneInfo, start: time, end: time) -> bool:
    local_time = moment.astimezone(zone).time()
    return start <= local_time < end


def _window_openings_after(now_utc: datetime, window: SendingWindow) -> list[datetime]:
    openings: set[datetime] = set()
    for zone_name in window.zones:
        zone = ZoneInfo(zone_name)
        local_today = now_utc.astimezone(zone).date()
        for day_offset in range(_SEARCH_DAYS):
            local_day = local_today + timedelta(days=day_offset)
            opening = datetime.combine(local_day, window.start, tzinfo=zone).astimezone(UTC)
            if opening > now_utc:
                openings.add(opening)
    return sorted(openings)


def _parse_phone_number(phone_e164: str) -> PhoneNumber:
    import phonenumbers

    try:
        return phonenumbers.parse(phone_e164, None)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhoneNumber(
            "phone",
            f"is not a valid E.164 number (it ends in {_last_four_digits(phone_e164)}). "
            f"Use the E.164 form, for example +12015550123. Parser message: {error}",
        ) from error


def _time_zones_for(number: PhoneNumber, phone_e164: str) -> tuple[str, ...]:
    from phonenumbers import timezone as phone_timezone

    zones = _known_zones(phone_timezone.time_zones_for_number(number))
    if not zones:
        # The prefix lookup skips the validity check and ends at the country calling
        # code, whose entry lists every zone of the country.
        zones = _known_zones(phone_timezone.time_zones_for_geographical_number(number))
    if not zones:
        raise UnknownTimeZoneError(
            f"No time zone is known for the number ending in {_last_four_digits(phone_e164)} "
            f"(country calling code +{number.country_code}), so its quiet hours cannot be checked."
        )
    return zones


def _known_zones(zones: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    from phonenumbers.timezone import UNKNOWN_TIMEZONE

    return tuple(sorted({zone for zone in zones if zone != UNKNOWN_TIMEZONE}))


def _is_florida_or_oklahoma(number: PhoneNumber) -> bool:
    national_number = str(number.national_number)
    if number.country_code != _NANP_COUNTRY_CODE or len(national_number) != _NANP_NATIONAL_NUMBER_LENGTH:
        return False
    area_code = national_number[:3]
    return area_code in FLORIDA_AREA_CODES or area_code in OKLAHOMA_AREA_CODES


def _last_four_digits(phone: str) -> str:
    digits = [character for character in phone if character.isdigit()]
    return "".join(digits[-4:])
