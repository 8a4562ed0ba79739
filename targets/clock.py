"""The one service clock. Business code asks `clock.now()`, never `timezone.now()`, so that
TARGETS_NOW can pin time for demos and tests, and history can be replayed with explicit times."""

from datetime import UTC, datetime
from functools import lru_cache

from django.conf import settings
from django.utils import timezone


@lru_cache(maxsize=8)
def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant with a timezone ("Z" or an offset), as an aware UTC datetime.

    Naive timestamps are refused: an instant without a zone is ambiguous."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("expected an ISO-8601 timestamp")
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not an ISO-8601 timestamp") from exc
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{text!r} has no timezone")
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # year 1 with a positive offset, year 9999 with a negative one
        raise ValueError(f"{text!r} is out of range") from exc


def now() -> datetime:
    pinned = settings.TARGETS_NOW
    if pinned:
        return parse_instant(pinned)
    return timezone.now()
