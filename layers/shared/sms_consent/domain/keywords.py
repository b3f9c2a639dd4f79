"""Classification of inbound SMS replies into opt-in, opt-out and help requests.

A reply is normalized first (Unicode compatibility forms, invisible characters, case,
whitespace and surrounding punctuation), then matched against keyword and phrase rules.

The rules lean toward opting out. Ignoring a revocation means texting someone who
withdrew consent, a compliance violation, while a wrongly honored revocation costs
the recipient one START reply. For the same reason a reply that mixes consent with
an opt-out word ("yes stop") is read as an opt-out.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum

__all__ = [
    "HELP_KEYWORDS",
    "OPT_IN_KEYWORDS",
    "OPT_OUT_KEYWORDS",
    "ReplyIntent",
    "classify_reply",
    "normalize_reply",
]


class ReplyIntent(StrEnum):
    """Meaning of an inbound reply for the consent record."""

    OPT_IN = "opt_in"
    OPT_OUT = "opt_out"
    HELP = "help"
    UNKNOWN = "unknown"


# Keywords that opt out when they are the whole reply or its first word. "arret" and
# "arrêt" are the French form of STOP.
OPT_OUT_KEYWORDS = frozenset(
    {
        "stop",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "revoke",
        "optout",
        "opt-out",
        "remove",
        "arret",
        "arrêt",
        "td",
    }
)

# Opt-out keywords with no everyday meaning in a reply about texts. One of these
# anywhere in a reply that starts with an opt-in or help keyword ("yes stop",
# "help, how do I unsubscribe") makes the reply an opt-out, because consent must be
# unambiguous. Words such as "end" or "cancel" are left out: "Yes, cancel the
# showing" is consent.
UNAMBIGUOUS_OPT_OUT_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "revoke", "optout", "opt-out", "arret", "arrêt"}
)

# "y" counts only as the whole reply, because a sentence that starts with the letter
# ("y is this number texting me") is not consent.
OPT_IN_KEYWORDS = frozenset({"yes", "start", "unstop"})
OPT_IN_WHOLE_REPLIES = frozenset({"y"})

HELP_KEYWORDS = frozenset({"help", "info"})

# Courtesy words skipped before an opt-out keyword ("please stop", "ok, cancel").
_LEADING_FILLERS = frozenset({"please", "pls", "plz", "kindly", "just", "ok", "okay", "no", "hi", "hey"})

# Replies that are a revocation only when they are the whole reply.
OPT_OUT_WHOLE_REPLIES = frozenset({"not interested", "go away", "wrong", "wrong #"})

_MESSAGES = r"(?:texts?|txts?|texting|text messages?|messages|msgs?|messaging|sms|spam|notifications|alerts)"
_CONTACT_VERBS = r"(?:text|txt|message|msg|sms|contact|call|email|spam|bother)"
_CONTACT_GERUNDS = (
    r"(?:texting|txting|messaging|msging|contacting|calling|emailing|spamming|bothering|harassing|sending)"
)
_OBJECTS = r"(?:me|us|this number|my number|my phone|here)"

# Phrases that a reasonable person reads as withdrawing consent, wherever they occur
# in the reply. The text is already normalized: lowercase, single spaces, straight
# apostrophes.
_REVOCATION_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern)
    for pattern in (
        # "please stop texting me", "can you quit messaging us"
        rf"\b(?:stop|quit|cease)\s+{_CONTACT_GERUNDS}\b",
        # "stop the texts", "stop all these messages", "stop sending me messages"
        rf"\bstop\s+(?:with\s+)?(?:(?:all|the|these|those|your|this|sending|me|any)\s+){{0,3}}{_MESSAGES}\b",
        # "don't text me", "do not text me anymore", "never contact this number"
        rf"\b(?:don't|dont|do not|never)\s+(?:ever\s+)?{_CONTACT_VERBS}\s+{_OBJECTS}\b",
        # "don't send me any more texts"
        r"\b(?:don't|dont|do not)\s+send\s+(?:me|us)\b"
        rf"(?:\s+(?:any|more|these|your|the|anymore)){{0,3}}\s+{_MESSAGES}\b",
        # "I don't want these texts", "no longer want to receive messages"
        r"\b(?:don't|dont|do not|no longer)\s+(?:want|wish|need)"
        r"(?:\s+(?:to|receive|get|any|more|of|these|your|the|this|those|be))*"
        rf"\s+(?:{_MESSAGES}|texted|contacted|messaged)\b",
        # "no more texts", "no more text messages"
        rf"\bno more\s+(?:of\s+)?(?:(?:these|your|the|those)\s+)?{_MESSAGES}\b",
        r"\bwrong (?:number|num|person|phone|#)",
        r"\bunsubscribe\b",
        r"\bopt (?:me|us) out\b",
        r"\b(?:want|wanna|like|wish|need|how do i|how can i|how to|let me|please)\s+(?:to\s+)?opt[ -]?out\b",
        # "take me off your list", "get my number off"
        r"\b(?:take|get)\s+(?:me|us|my number|this number|my name)\s+off\b",
        # "remove me", "delete my number"
        r"\b(?:remove|delete|erase)\s+(?:me|us|my number|this number|my name|my info)\b",
        r"\blose (?:my|this) number\b",
        r"\bleave (?:me|us) alone\b",
        # "I never signed up for this", "didn't opt in"
        r"\b(?:never|didn't|didnt|did not)\s+(?:sign(?:ed)? up|opt(?:ed)? in|subscribed?)\b",
        r"\b(?:revoke|withdraw|cancel)\s+(?:my\s+|all\s+)?(?:consent|permission|subscription)\b",
    )
)

# A revocation phrase right after one of these words is negated ("please don't stop
# texting me", "I don't want to unsubscribe"). Patterns that start with a negation
# themselves are checked against the text before their match, so they are unaffected.
_NEGATIONS = frozenset({"don't", "dont", "not", "never", "can't", "cant", "cannot", "won't", "wont"})
_NEGATION_LOOKBACK_WORDS = 3

# Apostrophe lookalikes that NFKC keeps as they are. Phones often send the right
# single quotation mark in "don’t".
_APOSTROPHES = str.maketrans(dict.fromkeys("\u2018\u2019\u201b\u02bc\u2032\u0060", "'"))

# Characters ignored when they are invisible: variation selectors that follow emoji.
_VARIATION_SELECTORS = frozenset(chr(code) for code in range(0xFE00, 0xFE10))

# A word: letters and digits, optionally joined by apostrophes or hyphens.
_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")

# Sentence punctuation that ends the scope of a negation.
_CLAUSE_BREAK = re.compile(r"[.!?;,:]")


def normalize_reply(text: str) -> str:
    """Normalize an SMS reply for keyword matching.

    The steps, in order:

    - Unicode NFKC, so fullwidth and styled letters become plain ones and
      non-breaking spaces become spaces.
    - Drop format characters (category Cf: zero-width spaces and joiners, byte-order
      marks, soft hyphens) and emoji variation selectors.
    - Turn apostrophe lookalikes into ``'`` and dashes into ``-``, then casefold.
    - Collapse whitespace to single spaces.
    - Trim whitespace, punctuation and symbols (emoji included) from both ends.

    Parameters
    ----------
    text : str
        Reply body as received.

    Returns
    -------
    str
        The normalized text, or an empty string when nothing but whitespace,
        punctuation, symbols and invisible characters was received.
    """
    normalized = unicodedata.normalize("NFKC", text)
    visible = []
    for character in normalized:
        category = unicodedata.category(character)
        if category == "Cf" or character in _VARIATION_SELECTORS:
            continue
        visible.append("-" if category == "Pd" else character)

    folded = "".join(visible).translate(_APOSTROPHES).casefold()
    collapsed = " ".join(folded.split())
    return _strip_edges(collapsed)


def classify_reply(text: str) -> ReplyIntent:
    """Classify an inbound SMS reply as opt-in, opt-out, help or unknown.

    The rules apply in this order:

    1. OPT_OUT when any of these holds:

       - The first word is an opt-out keyword: STOP, STOPALL, UNSUBSCRIBE, CANCEL,
         END, QUIT, REVOKE, OPTOUT, OPT-OUT, OPT OUT, REMOVE, ARRET or TD.
       - Courtesy words such as "please" or "ok" precede STOP, STOPALL, UNSUBSCRIBE,
         REVOKE, OPTOUT, OPT-OUT, OPT OUT or ARRET ("please stop"), or precede any
         other opt-out keyword that ends the reply ("ok cancel").
       - The reply contains a plain-language revocation ("please stop texting me",
         "wrong number", "take me off your list").
    2. OPT_IN when the first word is YES, START or UNSTOP, or the whole reply is Y.
    3. HELP when the first word is HELP or INFO.
    4. UNKNOWN otherwise, including empty replies.

    A reply for rule 2 or 3 that also contains an unambiguous opt-out word anywhere
    ("yes stop", "help unsubscribe") is OPT_OUT. A keyword inside an unrelated sentence
    ("Can we stop by the house Tuesday?") is not a signal.

    Parameters
    ----------
    text : str
        Reply body as received. Any string is accepted, including lone surrogates.

    Returns
    -------
    ReplyIntent
        The intent of the reply. The function does not raise.
    """
    normalized = normalize_reply(text)
    words = _WORD.findall(normalized)
    if not words:
        return ReplyIntent.UNKNOWN

    if _is_opt_out(normalized, words):
        return ReplyIntent.OPT_OUT

    first = words[0]
    if first in OPT_IN_KEYWORDS or normalized in OPT_IN_WHOLE_REPLIES:
        intent = ReplyIntent.OPT_IN
    elif first in HELP_KEYWORDS:
        intent = ReplyIntent.HELP
    else:
        return ReplyIntent.UNKNOWN

    if _contains_unambiguous_opt_out(words[1:]):
        return ReplyIntent.OPT_OUT
    return intent


def _strip_edges(text: str) -> str:
    start = 0
    end = len(text)
    while start < end and _is_edge_character(text[start]):
        start += 1
    while end > start and _is_edge_character(text[end - 1]):
        end -= 1
    return text[start:end]


def _is_edge_character(character: str) -> bool:
    return character.isspace() or unicodedata.category(character)[0] in "PS"


def _is_opt_out(normalized: str, words: list[str]) -> bool:
    if _starts_with_opt_out_keyword(words):
        return True

    skipped = 0
    while skipped < len(words) - 1 and words[skipped] in _LEADING_FILLERS:
        skipped += 1
    if skipped and _is_polite_opt_out(words[skipped:]):
        return True

    if normalized in OPT_OUT_WHOLE_REPLIES:
        return True
    # A reply that ends with an unambiguous opt-out word ("Y STOP", "Thanks, STOP", "Who is
    # this? STOP") revokes, unless a negation comes just before it ("I can't stop").
    last = words[-1]
    if last in UNAMBIGUOUS_OPT_OUT_WORDS and not _is_negated(normalized[: normalized.rfind(last)]):
        return True
    return _contains_revocation_phrase(normalized)


def _starts_with_opt_out_keyword(words: list[str]) -> bool:
    return words[0] in OPT_OUT_KEYWORDS or words[:2] == ["opt", "out"]


def _is_polite_opt_out(words: list[str]) -> bool:
    # "please cancel" alone is a revocation, but "please cancel the showing" is not,
    # so words that have an everyday meaning count only when nothing follows them.
    if words[0] in UNAMBIGUOUS_OPT_OUT_WORDS or words[:2] == ["opt", "out"]:
        return True
    return len(words) == 1 and words[0] in OPT_OUT_KEYWORDS


def _contains_unambiguous_opt_out(words: list[str]) -> bool:
    if any(word in UNAMBIGUOUS_OPT_OUT_WORDS for word in words):
        return True
    return any(pair == ("opt", "out") for pair in zip(words, words[1:], strict=False))


def _contains_revocation_phrase(normalized: str) -> bool:
    for pattern in _REVOCATION_PATTERNS:
        for match in pattern.finditer(normalized):
            if not _is_negated(normalized[: match.start()]):
                return True
    return False


def _is_negated(preceding_text: str) -> bool:
    # Only the clause that contains the phrase counts: in "No, don't. Stop texting me"
    # the negation belongs to an earlier sentence.
    clause = _CLAUSE_BREAK.split(preceding_text)[-1]
    recent_words = _WORD.findall(clause)[-_NEGATION_LOOKBACK_WORDS:]
    return any(word in _NEGATIONS for word in recent_words)
