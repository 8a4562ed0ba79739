"""The event feed's read side (GET /v3.1/events): oldest first, after an opaque cursor.

The cursor is the feed position (Event.position) of the last event a page listed, encoded so
that clients treat it as opaque. Positions are given after commit, one sequencer at a time, in
increasing order (targets.events.sequencer), so a reader that always continues from the cursor
it was given sees every event once, and a customer's events in the order of their changes.
Each page first sequences what committed since (a fixed number of queries: one batch)."""

import base64
import binascii
from dataclasses import dataclass

from targets.events.models import Event
from targets.events.payload import event_json
from targets.events.sequencer import BATCH, sequence_events

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
_PREFIX = "ev1:"


class BadCursor(ValueError):
    pass


def encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{position}".encode()).decode().rstrip("=")


def decode_cursor(text: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadCursor("not a cursor of this feed") from exc
    digits = raw.removeprefix(_PREFIX)
    if not raw.startswith(_PREFIX) or not digits.isascii() or not digits.isdigit() or len(digits) > 19:
        raise BadCursor("not a cursor of this feed")
    return int(digits)


@dataclass(frozen=True)
class Page:
    events: list
    cursor: str
    has_more: bool

    def as_api(self):
        return {"events": self.events, "cursor": self.cursor, "hasMore": self.has_more}


def event_page(*, org_ids, after: int = 0, limit: int = DEFAULT_LIMIT, types=None, user_id=None) -> Page:
    """One page of the orgs' events after position `after`: the same queries, whatever the page
    (one sequencing batch, then one read)."""
    given = sequence_events()
    rows = Event.objects.filter(org_id__in=org_ids, position__gt=after)
    if types:
        rows = rows.filter(type__in=types)
    if user_id is not None:
        rows = rows.filter(user_id=user_id)
    found = list(rows.order_by("position")[: limit + 1])
    page = found[:limit]
    last = page[-1].position if page else after
    # A full batch may have left committed events without a position: say there is more.
    return Page([event_json(e) for e in page], encode_cursor(last), len(found) > limit or given == BATCH)
