"""SMS encoding and segment counts for outbound message bodies.

A message goes out in the GSM 03.38 7-bit default alphabet (GSM-7) when every
character is in its basic set or its extension table, and in UCS-2 otherwise. One
segment carries 140 octets: 160 GSM-7 septets or 70 UTF-16 code units. A longer
message is split into parts whose 6-octet concatenation header leaves 153 septets or
67 code units for text.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Final

__all__ = [
    "GSM7",
    "UCS2",
    "SegmentInfo",
    "is_gsm7",
    "measure",
    "to_gsm_friendly",
]

GSM7: Final = "GSM-7"
UCS2: Final = "UCS-2"

GSM7_SINGLE_SEGMENT_SEPTETS: Final = 160
GSM7_MULTIPART_SEPTETS: Final = 153
UCS2_SINGLE_SEGMENT_UNITS: Final = 70
UCS2_MULTIPART_UNITS: Final = 67

# The 128 characters of the GSM 03.38 default alphabet, in code order. Code 0x1B is
# the escape to the extension table and has no character of its own, so it is left
# out. Code 0x09 is the capital C with cedilla, as the ETSI standard defines it.
# Unicode's GSM0338.TXT maps it to the small ç instead, so ç is treated as outside
# GSM-7 here, and to_gsm_friendly writes it as c.
_GSM7_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "ΔΦΓΛΩΠΨΣΘΞ_ÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# Extension table characters, each sent as the escape septet plus one more.
_GSM7_EXTENSION: Final = frozenset("\f^{}\\[~]|€")

# Replacements for characters outside GSM-7 that have a GSM-7 lookalike. Word
# processors and phone keyboards insert most of these without the writer noticing.
_GSM_LOOKALIKES: Final = {
    # Single quotes, primes and accents used as apostrophes.
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u02bc": "'",
    "\u00b4": "'",
    "`": "'",
    # Double quotes and guillemets.
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u201f": '"',
    "\u2033": '"',
    "\u00ab": '"',
    "\u00bb": '"',
    # Hyphens, dashes and the minus sign.
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    # Spaces other than U+0020, and breaks other than LF and CR.
    "\t": " ",
    "\u00a0": " ",
    "\u1680": " ",
    "\u202f": " ",
    "\u205f": " ",
    "\u3000": " ",
    "\u2028": "\n",
    "\u2029": "\n",
    # Invisible characters that only change line breaking or hyphenation.
    "\u200b": "",
    "\u2060": "",
    "\ufeff": "",
    "\u00ad": "",
    # Other lookalikes.
    "\u2026": "...",
    "\u2022": "*",
    "\u00a9": "(C)",
    "\u00ae": "(R)",
    "\u2122": "TM",
}
# U+2000 to U+200A are the typographic spaces (en space, thin space, hair space...).
_GSM_LOOKALIKES.update(dict.fromkeys(map(chr, range(0x2000, 0x200B)), " "))


@dataclass(frozen=True)
class SegmentInfo:
    """Encoding and size of one outbound SMS body.

    Attributes
    ----------
    encoding : str
        ``"GSM-7"`` or ``"UCS-2"``.
    characters : int
        Length in the units of the encoding: septets for GSM-7, where an extension
        character counts 2, and UTF-16 code units for UCS-2, where a character
        outside the Basic Multilingual Plane (most emoji) counts 2.
    segments : int
        Number of SMS parts a carrier bills for. An empty body counts as 1, because
        it is still sent as one segment.
    per_segment : int
        Maximum units in one part for this body: 160 or 153 for GSM-7, 70 or 67 for
        UCS-2, depending on whether the body needs more than one part.
    """

    encoding: str
    characters: int
    segments: int
    per_segment: int


def is_gsm7(text: str) -> bool:
    """Return whether every character of ``text`` can be sent in GSM-7."""
    return all(character in _GSM7_BASIC or character in _GSM7_EXTENSION for character in text)


def measure(text: str) -> SegmentInfo:
    """Measure the encoding, length and segment count of an SMS body.

    A single character outside GSM-7 switches the whole body to UCS-2. In a multipart
    message a GSM-7 extension character (escape plus one septet) and a UTF-16
    surrogate pair are never split across two parts, so a part can carry one unit
    less than its maximum.

    Parameters
    ----------
    text : str
        Message body exactly as it will be sent.

    Returns
    -------
    SegmentInfo
        Encoding, length in encoding units, number of segments and units per segment.
    """
    if is_gsm7(text):
        widths = [2 if character in _GSM7_EXTENSION else 1 for character in text]
        return _segment(GSM7, widths, GSM7_SINGLE_SEGMENT_SEPTETS, GSM7_MULTIPART_SEPTETS)

    widths = [2 if ord(character) > 0xFFFF else 1 for character in text]
    return _segment(UCS2, widths, UCS2_SINGLE_SEGMENT_UNITS, UCS2_MULTIPART_UNITS)


def to_gsm_friendly(text: str) -> str:
    """Replace characters outside GSM-7 with GSM-7 lookalikes where one exists.

    Curly quotes become straight quotes, dashes become ``-``, Unicode spaces become
    spaces, the ellipsis becomes ``...``, and zero-width spaces, word joiners,
    byte-order marks and soft hyphens are removed. Other characters are replaced by
    their Unicode compatibility form (fullwidth ``Ａ`` becomes ``A``), or failing that
    by their base letter without the accent that GSM-7 lacks (``ô`` becomes ``o``),
    when the result is GSM-7. Characters with no lookalike, such as emoji, stay, and
    the body then still needs UCS-2.

    Parameters
    ----------
    text : str
        Message body, for example an opt-in request that contains a company name.

    Returns
    -------
    str
        The body with lookalikes replaced. A body that is already GSM-7 comes back
        unchanged.
    """
    return "".join(_gsm_lookalike(cluster) for cluster in _split_clusters(text))


def _split_clusters(text: str) -> list[str]:
    # Keep each combining mark with the character before it, so that "e" + U+0301 is
    # judged as é (which GSM-7 contains) and never as a bare "e" plus a stray accent.
    clusters: list[str] = []
    for character in text:
        if clusters and unicodedata.category(character).startswith("M"):
            clusters[-1] += character
        else:
            clusters.append(character)
    return clusters


def _gsm_lookalike(cluster: str) -> str:
    if is_gsm7(cluster):
        return cluster
    if cluster in _GSM_LOOKALIKES:
        return _GSM_LOOKALIKES[cluster]

    compatible = unicodedata.normalize("NFKC", cluster)
    if is_gsm7(compatible):
        return compatible

    decomposed = unicodedata.normalize("NFKD", cluster)
    base = "".join(part for part in decomposed if not unicodedata.category(part).startswith("M"))
    if base and is_gsm7(base):
        return base
    return cluster


def _segment(encoding: str, widths: list[int], single_limit: int, multipart_limit: int) -> SegmentInfo:
    total = sum(widths)
    if total <= single_limit:
        return SegmentInfo(encoding=encoding, characters=total, segments=1, per_segment=single_limit)

    # Fill parts greedily, moving a 2-unit character whole to the next part when it
    # does not fit in the current one.
    segments = 1
    used = 0
    for width in widths:
        if used + width > multipart_limit:
            segments += 1
            used = 0
        used += width
    return SegmentInfo(encoding=encoding, characters=total, segments=segments, per_segment=multipart_limit)
