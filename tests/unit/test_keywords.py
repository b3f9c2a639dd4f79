"""Tests for reply normalization and keyword classification."""

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sms_consent.domain.keywords import (
    HELP_KEYWORDS,
    OPT_IN_KEYWORDS,
    OPT_OUT_KEYWORDS,
    ReplyIntent,
    classify_reply,
    normalize_reply,
)

OPT_OUT = ReplyIntent.OPT_OUT
OPT_IN = ReplyIntent.OPT_IN
HELP = ReplyIntent.HELP
UNKNOWN = ReplyIntent.UNKNOWN

ZERO_WIDTH_CHARACTERS = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad"]

CLASSIFICATION_CASES = [
    # Opt-out keywords as the whole reply, in any case and with punctuation.
    ("STOP", OPT_OUT),
    ("stop", OPT_OUT),
    ("Stop", OPT_OUT),
    ("sToP", OPT_OUT),
    ("stop!!", OPT_OUT),
    ("STOP.", OPT_OUT),
    ("  stop  ", OPT_OUT),
    ('"STOP"', OPT_OUT),
    ("STOPALL", OPT_OUT),
    ("Unsubscribe", OPT_OUT),
    ("CANCEL", OPT_OUT),
    ("end", OPT_OUT),
    ("Quit", OPT_OUT),
    ("REVOKE", OPT_OUT),
    ("optout", OPT_OUT),
    ("OPT-OUT", OPT_OUT),
    ("Opt Out", OPT_OUT),
    ("opt\u2010out", OPT_OUT),
    ("REMOVE", OPT_OUT),
    ("ARRET", OPT_OUT),
    ("Arrêt", OPT_OUT),
    ("TD", OPT_OUT),
    # Opt-out keywords as the first word.
    ("Stop. Thank you", OPT_OUT),
    ("Stop please", OPT_OUT),
    ("STOP ALL", OPT_OUT),
    ("stop,please", OPT_OUT),
    ("Unsubscribe me from this", OPT_OUT),
    ("Cancel these", OPT_OUT),
    # Courtesy words before a keyword.
    ("Please stop", OPT_OUT),
    ("ok, STOP", OPT_OUT),
    ("No, unsubscribe", OPT_OUT),
    ("please cancel", OPT_OUT),
    # Emoji, invisible characters and Unicode lookalikes.
    ("STOP 🛑", OPT_OUT),
    ("🛑🛑 stop", OPT_OUT),
    ("stop ❤️", OPT_OUT),
    ("S\u200bTOP", OPT_OUT),
    ("\ufeffSTOP", OPT_OUT),
    ("STOP\u200d", OPT_OUT),
    ("ＳＴＯＰ", OPT_OUT),
    ("𝐒𝐓𝐎𝐏", OPT_OUT),
    ("stop\u00a0please", OPT_OUT),
    ("stop\u3000now", OPT_OUT),
    ("\nSTOP\r\n", OPT_OUT),
    # Plain-language revocations.
    ("please stop texting me", OPT_OUT),
    ("Can you stop messaging me", OPT_OUT),
    ("stop messaging me", OPT_OUT),
    ("Stop the texts", OPT_OUT),
    ("stop sending me messages", OPT_OUT),
    ("don't text me", OPT_OUT),
    ("Don\u2019t text me", OPT_OUT),
    ("Please don\u2018t text me again", OPT_OUT),
    ("do not text me anymore", OPT_OUT),
    ("Dont contact me", OPT_OUT),
    ("Never text this number again", OPT_OUT),
    ("Don't send me any more texts", OPT_OUT),
    ("I don't want these texts", OPT_OUT),
    ("I no longer want to receive messages", OPT_OUT),
    ("I don't want to be texted", OPT_OUT),
    ("wrong number", OPT_OUT),
    ("Sorry, you have the wrong number!", OPT_OUT),
    ("unsubscribe me", OPT_OUT),
    ("How do I unsubscribe?", OPT_OUT),
    ("I want to opt out", OPT_OUT),
    ("opt me out", OPT_OUT),
    ("take me off your list", OPT_OUT),
    ("Please take my number off your list", OPT_OUT),
    ("remove me", OPT_OUT),
    ("Please remove my number", OPT_OUT),
    ("delete my number", OPT_OUT),
    ("no more texts", OPT_OUT),
    ("No more text messages please", OPT_OUT),
    ("leave me alone", OPT_OUT),
    ("Lose my number", OPT_OUT),
    ("I never signed up for this", OPT_OUT),
    ("I revoke my consent", OPT_OUT),
    ("Not interested.", OPT_OUT),
    ("Hi, who is this? Stop texting me", OPT_OUT),
    ("No, don't. Stop texting me", OPT_OUT),
    # Opt-out wins over opt-in and help.
    ("yes stop", OPT_OUT),
    ("Yes, stop texting me", OPT_OUT),
    ("START unsubscribe", OPT_OUT),
    ("help stop", OPT_OUT),
    ("Stop yes", OPT_OUT),
    # Keywords inside unrelated sentences.
    ("Can we stop by the house Tuesday?", UNKNOWN),
    ("Y STOP", OPT_OUT),
    ("Y, stop", OPT_OUT),
    ("Thanks, STOP", OPT_OUT),
    ("Who is this? STOP", OPT_OUT),
    ("Wrong #", OPT_OUT),
    ("I can't stop", UNKNOWN),
    ("Please don't stop", UNKNOWN),
    ("I will end up buying it", UNKNOWN),
    ("Don't cancel the inspection", UNKNOWN),
    ("please cancel the showing", UNKNOWN),
    ("Remember to remove the lockbox", UNKNOWN),
    ("I don't want to unsubscribe", UNKNOWN),
    ("Please don't stop texting me", UNKNOWN),
    ("I don't want to miss your texts", UNKNOWN),
    ("Thanks, see you at the closing", UNKNOWN),
    ("stopwatch", UNKNOWN),
    # Opt-in.
    ("YES", OPT_IN),
    ("Yes!", OPT_IN),
    ("yes please", OPT_IN),
    ("Yes, cancel the showing", OPT_IN),
    ("Y", OPT_IN),
    ("y.", OPT_IN),
    ("START", OPT_IN),
    ("Start!", OPT_IN),
    ("UNSTOP", OPT_IN),
    ("ＹＥＳ", OPT_IN),
    ("yes 👍", OPT_IN),
    ("y is this number texting me", UNKNOWN),
    ("yeah", UNKNOWN),
    # Help.
    ("HELP", HELP),
    ("help?", HELP),
    ("Help me understand", HELP),
    ("INFO", HELP),
    ("info please", HELP),
    # Nothing to classify.
    ("", UNKNOWN),
    ("   ", UNKNOWN),
    ("\u200b\ufeff", UNKNOWN),
    ("👍", UNKNOWN),
    ("?!", UNKNOWN),
    ("\ud83d", UNKNOWN),
    ("No", UNKNOWN),
    ("ok", UNKNOWN),
]


@pytest.mark.parametrize(("text", "expected"), CLASSIFICATION_CASES)
def test_classify_reply_table(text, expected):
    assert classify_reply(text) is expected


def test_classification_table_size():
    assert len(CLASSIFICATION_CASES) >= 60


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Hello   World  ", "hello world"),
        ("ＳＴＯＰ", "stop"),
        ("S\u200bT\u200cO\u200dP\u2060", "stop"),
        ("\ufeffyes", "yes"),
        ("don\u2019t", "don't"),
        ("stop\u00a0\u00a0please", "stop please"),
        ("opt\u2013out", "opt-out"),
        ("...Stop!!!", "stop"),
        ("🛑 STOP 🛑", "stop"),
        ("line one\nline two", "line one line two"),
        ("ARRÊT", "arrêt"),
        ("Straße", "strasse"),
        ("", ""),
        ("?!", ""),
    ],
)
def test_normalize_reply_cases(text, expected):
    assert normalize_reply(text) == expected


def test_keyword_sets_disjoint():
    assert not OPT_OUT_KEYWORDS & OPT_IN_KEYWORDS
    assert not OPT_OUT_KEYWORDS & HELP_KEYWORDS
    assert not OPT_IN_KEYWORDS & HELP_KEYWORDS


@pytest.mark.parametrize("keyword", sorted(OPT_OUT_KEYWORDS))
def test_each_opt_out_keyword_alone(keyword):
    assert classify_reply(keyword.upper()) is OPT_OUT


@pytest.mark.parametrize("keyword", sorted(OPT_IN_KEYWORDS))
def test_each_opt_in_keyword_alone(keyword):
    assert classify_reply(keyword.upper()) is OPT_IN


@pytest.mark.parametrize("keyword", sorted(HELP_KEYWORDS))
def test_each_help_keyword_alone(keyword):
    assert classify_reply(keyword.upper()) is HELP


# Hypothesis's default text strategy leaves out surrogates, which a decoded SMS body
# can still contain, so the property tests draw from every code point.
any_text = st.text(alphabet=st.characters(codec=None, exclude_categories=()))

opt_out_replies = st.sampled_from(sorted(OPT_OUT_KEYWORDS | {"opt out", "stop all"}))


@given(any_text)
@example("\ud800")
@example("\u0000STOP")
def test_classify_never_raises(text):
    assert isinstance(classify_reply(text), ReplyIntent)


@given(any_text)
def test_normalize_is_idempotent(text):
    once = normalize_reply(text)
    assert normalize_reply(once) == once


@given(
    opt_out_replies,
    st.lists(
        st.tuples(st.integers(min_value=0), st.sampled_from(ZERO_WIDTH_CHARACTERS)),
        max_size=6,
    ),
)
def test_zero_width_insertions_keep_opt_out(reply, insertions):
    text = reply
    for position, character in insertions:
        index = position % (len(text) + 1)
        text = text[:index] + character + text[index:]
    assert classify_reply(text) is OPT_OUT


@given(opt_out_replies, st.lists(st.booleans(), min_size=12, max_size=12))
def test_case_changes_keep_opt_out(reply, upper_flags):
    text = "".join(
        character.upper() if upper else character.lower()
        for character, upper in zip(reply, upper_flags + [False] * len(reply), strict=False)
    )
    assert classify_reply(text) is OPT_OUT


@given(st.lists(any_text, max_size=8))
@example(["yes"])
@example(["please", "don't", "stop", "texting", "me"])
def test_stop_followed_by_any_words(words):
    assert classify_reply("STOP " + " ".join(words)) is OPT_OUT
