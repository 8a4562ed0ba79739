"""Ids as the platform's clients send them: a positive `long`, i.e. 1 to 2⁶³ − 1 (SPEC §3).
The one place that says what a valid id is; everything that reads an id from outside asks here."""

import re

MAX_LONG = 2**63 - 1
_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def is_long_id(value) -> bool:
    """An int (not a bool) from 1 to MAX_LONG."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_LONG


def parse_long_id(text) -> int | None:
    """The id written in `text` (ASCII digits only, no sign, no spaces), or None."""
    if not isinstance(text, str) or not _DIGITS.fullmatch(text):
        return None
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(MAX_LONG)):  # too big, and int() refuses 4,300+ digits
        return None
    value = int(digits)
    return value if value <= MAX_LONG and value > 0 else None
