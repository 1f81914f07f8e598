"""What counts as text a person wrote: visible characters, not blanks.

A name, title, description or reason of only spaces, tabs, line breaks, no-break or
ideographic spaces (U+00A0, U+3000) or invisible format characters (U+200B zero-width
space, U+200E left-to-right mark, U+FEFF byte-order mark …) looks empty wherever it is
shown. Every check of a required text (the API's schemas, the services' reason checks,
the checklist format, the unit import) trims and counts with these two functions, so all
of them refuse the same text.
"""

from __future__ import annotations

import unicodedata

# Separators (Zs space, Zl line, Zp paragraph), controls (Cc: \t \n \r …) and format
# characters (Cf: U+200B…U+200F, U+2060, U+FEFF, U+00AD …) are nothing a reader sees.
INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf"})


def invisible(ch: str) -> bool:
    return unicodedata.category(ch) in INVISIBLE_CATEGORIES


def trim(text: str) -> str:
    """`text` without leading and trailing whitespace and invisible characters (what is
    stored); those inside are kept."""
    if text.isascii():
        return text.strip()
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or invisible(text[start])):
        start += 1
    while end > start and (text[end - 1].isspace() or invisible(text[end - 1])):
        end -= 1
    return text[start:end]


# Marks (Mn, Mc, Me: U+0301 combining acute, U+20DD enclosing circle …) only change the
# character before them; fillers are letters or symbols drawn as blank.
MARK_CATEGORIES = frozenset({"Mn", "Mc", "Me"})
FILLERS = frozenset("\u115f\u1160\u2800\u3164\uffa0")


def visible_length(text: str) -> int:
    """How many characters of `text` a reader sees: "　a\u200bb " counts 2, and so does
    "a\u0301b" (a mark is part of its letter); marks alone and fillers (U+3164 Hangul
    filler, U+2800 blank Braille pattern) count nothing."""
    return sum(
        1
        for ch in text
        if not (
            ch.isspace()
            or invisible(ch)
            or ch in FILLERS
            or unicodedata.category(ch) in MARK_CATEGORIES
        )
    )
