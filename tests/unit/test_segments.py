"""Tests for SMS encoding detection, segment counts and GSM-7 lookalike replacement."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sms_consent.domain.segments import GSM7, UCS2, SegmentInfo, is_gsm7, measure, to_gsm_friendly

GSM7_EXTENSION_CHARACTERS = "\f^{}\\[~]|€"
EMOJI = "😀"


def test_measure_empty_message():
    assert measure("") == SegmentInfo(encoding=GSM7, characters=0, segments=1, per_segment=160)


@pytest.mark.parametrize(
    ("length", "segments", "per_segment"),
    [
        (1, 1, 160),
        (160, 1, 160),
        (161, 2, 153),
        (153 * 2, 2, 153),
        (153 * 2 + 1, 3, 153),
        (153 * 3, 3, 153),
        (153 * 3 + 1, 4, 153),
    ],
)
def test_measure_gsm7_boundaries(length, segments, per_segment):
    info = measure("a" * length)
    assert info.encoding == GSM7
    assert info.characters == length
    assert info.segments == segments
    assert info.per_segment == per_segment


@pytest.mark.parametrize(
    ("length", "segments", "per_segment"),
    [
        (1, 1, 70),
        (70, 1, 70),
        (71, 2, 67),
        (67 * 2, 2, 67),
        (67 * 2 + 1, 3, 67),
    ],
)
def test_measure_ucs2_boundaries(length, segments, per_segment):
    info = measure("ж" * length)
    assert info.encoding == UCS2
    assert info.characters == length
    assert info.segments == segments
    assert info.per_segment == per_segment


@pytest.mark.parametrize("character", list(GSM7_EXTENSION_CHARACTERS))
def test_measure_extension_character_counts_two(character):
    info = measure("a" + character)
    assert info.encoding == GSM7
    assert info.characters == 3


def test_measure_extension_characters_fill_single_segment():
    assert measure("€" * 80) == SegmentInfo(encoding=GSM7, characters=160, segments=1, per_segment=160)
    assert measure("€" * 81) == SegmentInfo(encoding=GSM7, characters=162, segments=2, per_segment=153)


def test_measure_extension_character_not_split_across_parts():
    # 152 septets leave one septet in the first part, too few for the 2-septet euro
    # sign, so it starts the second part and the rest then overflows into a third.
    text = "a" * 152 + "€" + "a" * 152
    info = measure(text)
    assert info.characters == 306
    assert info.segments == 3


def test_measure_extension_character_fits_at_part_end():
    text = "a" * 151 + "€" + "a" * 153
    info = measure(text)
    assert info.characters == 306
    assert info.segments == 2


def test_measure_gsm7_basic_set_counts_one():
    text = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ÄÖÑÜ§¿äöñüà"
    info = measure(text)
    assert info.encoding == GSM7
    assert info.characters == len(text)


def test_measure_emoji_counts_two_units():
    info = measure(EMOJI)
    assert info.encoding == UCS2
    assert info.characters == 2


def test_measure_emoji_boundaries():
    assert measure(EMOJI * 35) == SegmentInfo(encoding=UCS2, characters=70, segments=1, per_segment=70)
    assert measure(EMOJI * 36) == SegmentInfo(encoding=UCS2, characters=72, segments=2, per_segment=67)


def test_measure_surrogate_pair_not_split_across_parts():
    # 66 units leave one unit in the first part, too few for the 2-unit emoji.
    text = "ж" * 66 + EMOJI + "ж" * 66
    info = measure(text)
    assert info.characters == 134
    assert info.segments == 3


def test_measure_surrogate_pair_fits_at_part_end():
    text = "ж" * 65 + EMOJI + "ж" * 67
    info = measure(text)
    assert info.characters == 134
    assert info.segments == 2


@pytest.mark.parametrize("character", ["’", "ç", "ж", "\u00a0", "`", "\x1b", EMOJI])
def test_measure_one_non_gsm_character_switches_to_ucs2(character):
    info = measure("a" * 100 + character)
    assert info.encoding == UCS2
    assert info.per_segment == 67
    assert info.segments == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("O’Brien Realty", "O'Brien Realty"),
        ("‘quoted’", "'quoted'"),
        ("“Smith & Sons”", '"Smith & Sons"'),
        ("«Maison»", '"Maison"'),
        ("Sales\u00a0Team", "Sales Team"),
        ("Sales\u2009Team", "Sales Team"),
        ("Sales\u202fTeam", "Sales Team"),
        ("Sales\tTeam", "Sales Team"),
        ("9–5", "9-5"),
        ("Realty — Homes", "Realty - Homes"),
        ("Reply YES…", "Reply YES..."),
        ("Zero\u200bwidth", "Zerowidth"),
        ("\ufeffHello", "Hello"),
        ("Acme®", "Acme(R)"),
        ("Acme™", "AcmeTM"),
        ("Ａｃｍｅ", "Acme"),
        ("Côte", "Cote"),
        ("François", "Francois"),
        ("Cafe\u0301", "Café"),
        ("Ａ\u0301", "A"),
        ("Nguyê\u0303n", "Nguyen"),
        ("line\u2028break", "line\nbreak"),
    ],
)
def test_to_gsm_friendly_replacements(text, expected):
    assert to_gsm_friendly(text) == expected


def test_to_gsm_friendly_keeps_opt_in_request_gsm7():
    request = "O’Brien Realty: Reply YES to get texts about your closing. Reply STOP to opt out."
    assert measure(request).encoding == UCS2
    assert measure(to_gsm_friendly(request)).encoding == GSM7


def test_to_gsm_friendly_keeps_emoji():
    assert to_gsm_friendly("Welcome home 🏡") == "Welcome home 🏡"


def test_to_gsm_friendly_keeps_gsm7_text_unchanged():
    text = "Reply HELP for help. Msg&data rates may apply. €5 {fee}"
    assert to_gsm_friendly(text) == text


# Drawn from every code point, lone surrogates included, which st.text() leaves out.
any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()))


@given(any_text)
def test_measure_properties(text):
    info = measure(text)
    assert info.segments >= 1
    assert info.characters <= info.segments * info.per_segment
    assert info.encoding == (GSM7 if is_gsm7(text) else UCS2)


@given(any_text)
def test_to_gsm_friendly_idempotent(text):
    once = to_gsm_friendly(text)
    assert to_gsm_friendly(once) == once
