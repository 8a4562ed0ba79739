"""Parsing and validating one activity item of POST /v3.1/activities or an import line.

`{userId, entity, eventName, occurredAt, amount?, netAmount?, quantity?, attributes?, externalId}`.
An invalid item is rejected with every reason at once; valid items of the same batch still apply.
"""

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cached_property

import orjson

from config.ids import is_long_id, parse_long_id
from targets import limits
from targets.clock import parse_instant
from targets.models import TargetEntity

MAX_AMOUNT = limits.MAX_AMOUNT  # 15 integer digits: Decimal(18, 3)
THOUSANDTH = Decimal("0.001")
ENTITIES = {e.value for e in TargetEntity}


@dataclass
class ActivityInput:
    user_id: int
    entity: str
    event_name: str
    occurred_at: datetime
    external_id: str
    amount: Decimal = Decimal(0)
    net_amount: Decimal | None = None
    quantity: Decimal = Decimal(0)
    attributes: dict = field(default_factory=dict)

    @cached_property
    def measures(self) -> dict[str, Decimal]:
        """What the activity adds to its customer's running totals (`targets.totals`)."""
        from targets.totals import measures

        return measures(
            amount=self.amount, net_amount=self.net_amount, quantity=self.quantity, attributes=self.attributes
        )


UNSTORABLE = "{}: cannot contain NUL characters or unpaired surrogates"


def storable(value) -> bool:
    """Whether every string in a JSON value (keys included) can be stored as text: valid UTF-8
    without NUL, which PostgreSQL refuses in text and jsonb."""
    stack = [value]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return False
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return True


class ItemError(ValueError):
    def __init__(self, reasons):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def _positive_id(value):
    if is_long_id(value):
        return value
    return parse_long_id(value.strip()) if isinstance(value, str) else None


def parse_amount(value, name, reasons):
    """A non-negative number with at most 15 integer digits, rounded to thousandths."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
        reasons.append(f"{name}: must be a number")
        return None
    if isinstance(value, float) and not math.isfinite(value):
        reasons.append(f"{name}: must be a finite number")
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        reasons.append(f"{name}: must be a number, got {str(value)[:40]!r}")
        return None
    if not number.is_finite():
        reasons.append(f"{name}: must be a finite number")
        return None
    if number < 0:
        reasons.append(f"{name}: cannot be negative")
        return None
    if number > MAX_AMOUNT:
        reasons.append(f"{name}: is too large")
        return None
    return number.quantize(THOUSANDTH, rounding=ROUND_HALF_UP)


def _compact(value) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError):  # integers beyond 64 bits: measure them as text
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def parse_item(item) -> ActivityInput:
    """An ActivityInput, or ItemError listing every problem of the item."""
    if not isinstance(item, dict):
        raise ItemError(["an activity must be a JSON object"])
    reasons = []
    user_id = _positive_id(item.get("userId"))
    if user_id is None:
        reasons.append("userId: must be a positive 64-bit integer")
    entity = item.get("entity")
    if not isinstance(entity, str) or entity.strip().upper() not in ENTITIES:
        reasons.append(f"entity: must be one of {', '.join(sorted(ENTITIES))}")
    event_name = item.get("eventName")
    if not isinstance(event_name, str) or not event_name.strip() or len(event_name) > 100:
        reasons.append("eventName: a non-empty string of at most 100 characters is required")
    elif not storable(event_name):
        reasons.append(UNSTORABLE.format("eventName"))
    external_id = item.get("externalId")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not external_id.strip() or len(external_id) > 200:
        reasons.append("externalId: a non-empty string of at most 200 characters is required")
    elif not storable(external_id):
        reasons.append(UNSTORABLE.format("externalId"))
    occurred_at = None
    raw_time = item.get("occurredAt")
    if raw_time is None or raw_time == "":
        reasons.append("occurredAt: is required")
    elif not storable(raw_time):
        reasons.append("occurredAt: not an ISO-8601 timestamp")
    else:
        try:
            occurred_at = parse_instant(raw_time) if isinstance(raw_time, str) else None
            if occurred_at is None:
                reasons.append("occurredAt: must be an ISO-8601 timestamp string")
            elif not limits.in_range(occurred_at):
                reasons.append(f"occurredAt: must be {limits.RANGE_TEXT}")
                occurred_at = None
        except ValueError as exc:
            reasons.append(
                f"occurredAt: {exc}" if "timezone" in str(exc) else "occurredAt: not an ISO-8601 timestamp"
            )
    amount = parse_amount(item.get("amount"), "amount", reasons)
    net_amount = parse_amount(item.get("netAmount"), "netAmount", reasons)
    quantity = parse_amount(item.get("quantity"), "quantity", reasons)
    attributes = item.get("attributes")
    if attributes is None:
        attributes = {}
    elif not isinstance(attributes, dict):
        reasons.append("attributes: must be a JSON object")
    elif not limits.json_depth_ok(attributes, max_depth=limits.MAX_JSON_DEPTH):
        reasons.append(f"attributes: nested deeper than {limits.MAX_JSON_DEPTH} levels")
    elif not storable(attributes):
        reasons.append(UNSTORABLE.format("attributes"))
    elif len(_compact(attributes)) > limits.MAX_ATTRIBUTES_BYTES:
        reasons.append(f"attributes: larger than {limits.MAX_ATTRIBUTES_BYTES} bytes of compact JSON")
    if reasons:
        raise ItemError(reasons)
    return ActivityInput(
        user_id=user_id,
        entity=entity.strip().upper(),
        event_name=event_name.strip(),
        occurred_at=occurred_at,
        external_id=external_id.strip(),
        amount=amount if amount is not None else Decimal(0),
        net_amount=net_amount,
        quantity=quantity if quantity is not None else Decimal(0),
        attributes=attributes,
    )
