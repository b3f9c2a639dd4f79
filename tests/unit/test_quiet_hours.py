"""Tests for quiet hours: sending windows per phone number and the next allowed send time."""

import subprocess
import sys
from datetime import UTC, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sms_consent.domain import quiet_hours
from sms_consent.domain.quiet_hours import (
    FLORIDA_AREA_CODES,
    OKLAHOMA_AREA_CODES,
    NoCommonSendingWindowError,
    QuietHoursError,
    SendingWindow,
    UnknownTimeZoneError,
    next_allowed_send_time,
    sending_window_for,
)
from sms_consent.errors import ConsentServiceError, InvalidPhoneNumber

NEW_JERSEY = "+12015550123"
NEW_YORK = "+12125550123"
MIAMI = "+13055550123"
ORLANDO = "+14075550123"
PENSACOLA = "+18504330123"
OKLAHOMA_CITY = "+14055550123"
TULSA = "+19185550123"
LOS_ANGELES = "+13105550123"
HAWAII = "+18085550123"
# Zones that phonenumbers 9.0.43 lists for these numbers: Halifax and St. John's for
# Newfoundland and Labrador, every NANP zone for a toll-free number, and every zone of
# Russia (plus Kazakhstan, which shares +7) for a mobile number.
NEWFOUNDLAND = "+17095550123"
TOLL_FREE = "+18005550123"
RUSSIAN_MOBILE = "+79161234567"
AUSTRALIAN_MOBILE = "+61412345678"

ALL_NUMBERS = [
    NEW_JERSEY,
    NEW_YORK,
    MIAMI,
    ORLANDO,
    PENSACOLA,
    OKLAHOMA_CITY,
    TULSA,
    LOS_ANGELES,
    HAWAII,
    NEWFOUNDLAND,
    TOLL_FREE,
    RUSSIAN_MOBILE,
    AUSTRALIAN_MOBILE,
]

EASTERN = ZoneInfo("America/New_York")


def utc(year, month, day, hour, minute=0, second=0):
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def eastern(year, month, day, hour, minute=0, second=0):
    return datetime(year, month, day, hour, minute, second, tzinfo=EASTERN)


def brute_force_next_send_time(phone, now):
    """Step minute by minute to the first instant open in every zone (test oracle)."""
    window = sending_window_for(phone)
    zones = [ZoneInfo(zone) for zone in window.zones]

    def is_open(moment):
        return all(window.start <= moment.astimezone(zone).time() < window.end for zone in zones)

    if is_open(now):
        return None
    moment = now.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    for _ in range(3 * 24 * 60):
        if is_open(moment):
            return moment
        moment += timedelta(minutes=1)
    raise AssertionError("no open minute within 3 days")


@pytest.mark.parametrize("phone", ALL_NUMBERS)
def test_fixture_numbers_are_valid(phone):
    assert phonenumbers.is_valid_number(phonenumbers.parse(phone))


@pytest.mark.parametrize(
    ("phone", "zones", "end"),
    [
        (NEW_JERSEY, ("America/New_York",), time(21)),
        (NEW_YORK, ("America/New_York",), time(21)),
        (MIAMI, ("America/New_York",), time(20)),
        (ORLANDO, ("America/New_York",), time(20)),
        (PENSACOLA, ("America/Chicago",), time(20)),
        (OKLAHOMA_CITY, ("America/Chicago",), time(20)),
        (TULSA, ("America/Chicago",), time(20)),
        (LOS_ANGELES, ("America/Los_Angeles",), time(21)),
        (HAWAII, ("Pacific/Honolulu",), time(21)),
        (NEWFOUNDLAND, ("America/Halifax", "America/St_Johns"), time(21)),
    ],
)
def test_sending_window_for_numbers(phone, zones, end):
    assert sending_window_for(phone) == SendingWindow(start=time(8), end=end, zones=zones)


def test_sending_window_toll_free_spans_nanp():
    zones = sending_window_for(TOLL_FREE).zones
    assert "Pacific/Guam" in zones
    assert "America/St_Johns" in zones
    assert "Pacific/Honolulu" in zones
    assert len(zones) > 20


def test_sending_window_russian_mobile_spans_country():
    zones = sending_window_for(RUSSIAN_MOBILE).zones
    assert "Europe/Moscow" in zones
    assert "Asia/Kamchatka" in zones


def test_sending_window_zones_are_loadable():
    for phone in ALL_NUMBERS:
        for zone in sending_window_for(phone).zones:
            assert ZoneInfo(zone).key == zone


def test_sending_window_invalid_number_uses_prefix():
    # phonenumbers rejects exchange 000, so time_zones_for_number returns the unknown
    # zone and the area code prefix supplies Eastern time.
    number = "+12010000000"
    assert not phonenumbers.is_valid_number(phonenumbers.parse(number))
    assert sending_window_for(number).zones == ("America/New_York",)


def test_sending_window_unknown_country_zone_raises():
    with pytest.raises(UnknownTimeZoneError, match="5678") as raised:
        sending_window_for("+80012345678")
    assert isinstance(raised.value, QuietHoursError)
    assert isinstance(raised.value, ConsentServiceError)
    assert not raised.value.retryable


@pytest.mark.parametrize("phone", ["not a number", "2015550123", "", "+"])
def test_sending_window_unparsable_number_raises(phone):
    with pytest.raises(InvalidPhoneNumber, match="E.164"):
        sending_window_for(phone)


def test_sending_window_error_masks_number():
    with pytest.raises(InvalidPhoneNumber) as raised:
        sending_window_for("20155512345678x")
    assert "2015551" not in str(raised.value)
    assert "5678" in str(raised.value)


def test_florida_oklahoma_area_codes_match_geocoder():
    from phonenumbers import geocoder

    florida = set()
    oklahoma = set()
    for area_code in range(200, 1000):
        for exchange in ("555", "234", "321", "456"):
            number = phonenumbers.parse(f"+1{area_code}{exchange}0123")
            if not phonenumbers.is_valid_number(number):
                continue
            description = geocoder.description_for_number(number, "en")
            if description == "Florida" or description.endswith(", FL"):
                florida.add(str(area_code))
            if description == "Oklahoma" or description.endswith(", OK"):
                oklahoma.add(str(area_code))
            break
    assert florida == FLORIDA_AREA_CODES
    assert oklahoma == OKLAHOMA_AREA_CODES


def test_module_import_skips_phonenumbers():
    package_root = Path(quiet_hours.__file__).resolve().parents[2]
    script = (
        f"import sys; sys.path.insert(0, {str(package_root)!r}); "
        "import sms_consent.domain.quiet_hours; "
        "print('phonenumbers' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_next_send_open_at_start_exactly():
    assert next_allowed_send_time(NEW_JERSEY, eastern(2026, 6, 15, 8)) is None


def test_next_send_closed_at_end_exactly():
    assert next_allowed_send_time(NEW_JERSEY, eastern(2026, 6, 15, 21)) == eastern(2026, 6, 16, 8)


def test_next_send_open_just_before_end():
    assert next_allowed_send_time(NEW_JERSEY, eastern(2026, 6, 15, 20, 59, 59)) is None


def test_next_send_florida_closed_at_2030():
    evening = eastern(2026, 6, 15, 20, 30)
    assert next_allowed_send_time(NEW_JERSEY, evening) is None
    assert next_allowed_send_time(MIAMI, evening) == eastern(2026, 6, 16, 8)


def test_next_send_florida_closed_at_twenty():
    assert next_allowed_send_time(ORLANDO, eastern(2026, 6, 15, 19, 59)) is None
    assert next_allowed_send_time(ORLANDO, eastern(2026, 6, 15, 20)) == eastern(2026, 6, 16, 8)


def test_next_send_oklahoma_closes_at_twenty_central():
    central = ZoneInfo("America/Chicago")
    assert next_allowed_send_time(TULSA, datetime(2026, 6, 15, 19, 59, tzinfo=central)) is None
    assert next_allowed_send_time(TULSA, datetime(2026, 6, 15, 20, 0, tzinfo=central)) == utc(2026, 6, 16, 13)


def test_next_send_pensacola_uses_central_time():
    # 07:30 in Pensacola is already 08:30 in Miami, so an Eastern window would be open.
    assert next_allowed_send_time(PENSACOLA, utc(2026, 6, 15, 12, 30)) == utc(2026, 6, 15, 13)


def test_next_send_before_start_returns_same_day():
    assert next_allowed_send_time(NEW_JERSEY, eastern(2026, 6, 15, 7, 59)) == eastern(2026, 6, 15, 8)


def test_next_send_late_evening_returns_next_day():
    assert next_allowed_send_time(NEW_JERSEY, eastern(2026, 6, 15, 22)) == eastern(2026, 6, 16, 8)


def test_next_send_after_midnight_returns_same_day():
    assert next_allowed_send_time(NEW_JERSEY, eastern(2026, 6, 16, 0, 30)) == eastern(2026, 6, 16, 8)


def test_next_send_returns_utc():
    result = next_allowed_send_time(LOS_ANGELES, utc(2026, 1, 15, 12))
    assert result == utc(2026, 1, 15, 16)
    assert result.tzinfo is UTC


def test_next_send_accepts_any_aware_zone():
    tokyo_evening = datetime(2026, 1, 15, 20, 0, tzinfo=timezone(timedelta(hours=9)))
    assert next_allowed_send_time(NEW_JERSEY, tokyo_evening) == utc(2026, 1, 15, 13)


def test_next_send_naive_now_raises():
    with pytest.raises(ValueError, match="timezone-aware"):
        next_allowed_send_time(NEW_JERSEY, datetime(2026, 6, 15, 12))


def test_next_send_hawaii_no_daylight_saving():
    assert next_allowed_send_time(HAWAII, utc(2026, 1, 15, 17, 59)) == utc(2026, 1, 15, 18)
    assert next_allowed_send_time(HAWAII, utc(2026, 7, 15, 17, 59)) == utc(2026, 7, 15, 18)


# US daylight saving time starts on 2026-03-08 at 02:00 local time (UTC-5 to UTC-4)
# and ends on 2026-11-01 at 02:00 local time (UTC-4 to UTC-5).
@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # The day before the spring change, still EST: 08:00 is 13:00 UTC.
        (utc(2026, 3, 7, 3), utc(2026, 3, 7, 13)),
        # 01:00 EST on the change day: 08:00 EDT is 12:00 UTC.
        (utc(2026, 3, 8, 6), utc(2026, 3, 8, 12)),
        # 03:30 EDT, just after the clocks went forward.
        (utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 12)),
        # 21:00 EDT on the change day closes at 01:00 UTC.
        (utc(2026, 3, 9, 1), utc(2026, 3, 9, 12)),
        # The day before the autumn change, still EDT.
        (utc(2026, 10, 31, 11), utc(2026, 10, 31, 12)),
        # 01:30 EDT, the first of the two 01:30s: 08:00 EST is 13:00 UTC.
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 13)),
        # 01:30 EST, the repeated 01:30.
        (utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 13)),
        # 21:00 EST on the change day closes at 02:00 UTC.
        (utc(2026, 11, 2, 2), utc(2026, 11, 2, 13)),
        # 21:00 EDT the evening before the change, then 08:00 EST.
        (utc(2026, 11, 1, 1), utc(2026, 11, 1, 13)),
    ],
)
def test_next_send_daylight_saving_days(now, expected):
    assert next_allowed_send_time(NEW_JERSEY, now) == expected


@pytest.mark.parametrize(
    "now",
    [
        utc(2026, 3, 8, 12),
        utc(2026, 3, 9, 0, 59),
        utc(2026, 11, 1, 13),
        utc(2026, 11, 2, 1, 59),
    ],
)
def test_next_send_open_on_daylight_saving_days(now):
    assert next_allowed_send_time(NEW_JERSEY, now) is None


def test_next_send_newfoundland_waits_for_halifax_morning():
    # 07:45 in Halifax is 08:15 in St. John's: open there, closed in Halifax.
    halifax = ZoneInfo("America/Halifax")
    now = datetime(2026, 6, 15, 7, 45, tzinfo=halifax)
    assert next_allowed_send_time(NEWFOUNDLAND, now) == datetime(2026, 6, 15, 8, tzinfo=halifax)


def test_next_send_newfoundland_closes_with_st_johns():
    # 20:45 in Halifax is 21:15 in St. John's: open in Halifax, closed in St. John's.
    halifax = ZoneInfo("America/Halifax")
    now = datetime(2026, 6, 15, 20, 45, tzinfo=halifax)
    assert next_allowed_send_time(NEWFOUNDLAND, now) == datetime(2026, 6, 16, 8, tzinfo=halifax)
    assert next_allowed_send_time(NEWFOUNDLAND, now - timedelta(minutes=16)) is None


@pytest.mark.parametrize("phone", [TOLL_FREE, RUSSIAN_MOBILE, AUSTRALIAN_MOBILE, NEWFOUNDLAND])
@pytest.mark.parametrize(
    "now",
    [utc(2026, 1, 15, 12), utc(2026, 3, 8, 6, 17), utc(2026, 7, 4, 0), utc(2026, 11, 1, 21, 45)],
)
def test_next_send_multiple_zones_open_in_all(phone, now):
    window = sending_window_for(phone)
    assert len(window.zones) > 1

    result = next_allowed_send_time(phone, now)
    assert result == brute_force_next_send_time(phone, now)
    if result is not None:
        for zone in window.zones:
            local_time = result.astimezone(ZoneInfo(zone)).time()
            assert window.start <= local_time < window.end, zone


def test_next_send_no_overlap_raises(monkeypatch):
    # UTC, UTC+8 and UTC-8 without daylight saving: the 13-hour windows of any two
    # overlap, but no hour is open in all three.
    far_apart = SendingWindow(
        start=time(8), end=time(21), zones=("Asia/Shanghai", "Etc/UTC", "Pacific/Pitcairn")
    )
    monkeypatch.setattr(quiet_hours, "sending_window_for", lambda phone: far_apart)
    with pytest.raises(NoCommonSendingWindowError, match="Pitcairn"):
        next_allowed_send_time(NEW_JERSEY, utc(2026, 6, 15, 12))


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(ALL_NUMBERS),
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
)
def test_next_send_is_earliest_open_time(phone, now):
    window = sending_window_for(phone)
    result = next_allowed_send_time(phone, now)
    if result is None:
        assert window.is_open_at(now)
        return
    assert result > now
    assert window.is_open_at(result)
    assert not window.is_open_at(now)
    assert not window.is_open_at(result - timedelta(microseconds=1))
