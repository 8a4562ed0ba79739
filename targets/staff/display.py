"""Turn the selector's response dict (the API's `data`) into what the customer page draws:
targets grouped by rule, percentages, bar widths, milestone mark positions, streak ladders.
Pure functions on plain data; no queries."""

from dataclasses import dataclass, field
from decimal import Decimal

from targets.clock import parse_instant

STATUS_WORDS = {
    "NOT_STARTED": "Not started",
    "IN_PROGRESS": "In progress",
    "ACHIEVED": "Achieved",
    "DROPPED": "Dropped",
}


def amount(value) -> str:
    """A value in numbers, as staff read it: 1,200 or 12.5 (up to three decimals)."""
    if value is None:
        return ""
    value = Decimal(str(value))
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def percent(achieved, target) -> Decimal:
    """achieved / target in percent, one decimal (120, 33.3)."""
    if not target:
        return Decimal(0)
    return (Decimal(str(achieved)) * 100 / Decimal(str(target))).quantize(Decimal("0.1"))


def plain(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 120, 33.3 (for text and CSS widths)."""
    return f"{value.normalize():f}"


@dataclass
class Mark:
    name: str
    value: str
    position: Decimal  # percent of the bar
    achieved: bool

    @property
    def left(self):
        return plain(self.position)


@dataclass
class PeriodRow:
    period_id: int
    ref_code: str
    start: object  # aware datetime (the page shows it in the group's org zone)
    end: object
    target: str
    achieved: str
    percent: Decimal
    bar: Decimal  # width of the filled part, 0..100
    current: bool
    achieved_at: object  # datetime or None
    target_id: int | None
    marks: list = field(default_factory=list)

    @property
    def percent_text(self):
        return f"{plain(self.percent)}%"

    @property
    def width(self):
        return plain(self.bar)


@dataclass
class RuleBlock:
    rule_id: int
    name: str
    target_type: str
    target_entity: str
    event_name: str
    rows: list = field(default_factory=list)


@dataclass
class StreakBlock:
    name: str
    status: str
    status_word: str
    count: int
    needed: int
    achieved_at: object
    steps: list  # [(number, done)]


@dataclass
class GroupBlock:
    id: int
    name: str
    org_id: int
    evaluation: str
    tracking: str
    active: bool
    description: str
    rules: list
    streaks: list
    has_current: bool
    zone: str = "UTC"  # the group's org timezone: its dates and times are shown in it
    end: object = None
    ended: bool = False  # its window is over: the customer page shows it collapsed


def _instant(text):
    return parse_instant(text) if text else None


def rule_blocks(targets) -> list[RuleBlock]:
    """The group's targets (ordered by rule, then period) as one block of period rows per rule."""
    blocks = {}
    for t in targets:
        block = blocks.get(t["targetRuleId"])
        if block is None:
            block = blocks[t["targetRuleId"]] = RuleBlock(
                t["targetRuleId"], t["targetName"], t["targetType"], t["targetEntity"], t["eventName"]
            )
        pct = percent(t["targetAchievedValue"], t["targetValue"])
        block.rows.append(
            PeriodRow(
                period_id=t["periodId"],
                ref_code=t["periodRefCode"],
                start=_instant(t["periodStartDateWithTimeStamp"]),
                end=_instant(t["periodEndDateWithTimeStamp"]),
                target=amount(t["targetValue"]),
                achieved=amount(t["targetAchievedValue"]),
                percent=pct,
                bar=min(pct, Decimal(100)),
                current=bool(t["currentPeriod"]),
                achieved_at=_instant(t["targetAchievedDateTime"]),
                target_id=t["targetId"],
                marks=[
                    Mark(
                        m["triggerName"],
                        amount(m["triggerValue"]),
                        min(percent(m["triggerValue"], t["targetValue"]), Decimal(100)),
                        bool(m["isAchieved"]),
                    )
                    for m in t["milestones"] or ()
                ],
            )
        )
    return list(blocks.values())


def streak_blocks(streaks) -> list[StreakBlock]:
    out = []
    for s in streaks or ():
        needed, count = s["totalTargetCountOfSequence"], s["currentCount"]
        out.append(
            StreakBlock(
                name=s["streakName"],
                status=s["status"],
                status_word=STATUS_WORDS.get(s["status"], s["status"]),
                count=count,
                needed=needed,
                achieved_at=_instant(s["streakAchievedDateTime"]),
                steps=[(n, n <= count) for n in range(1, needed + 1)],
            )
        )
    return out


def group_blocks(target_groups, *, labels, now=None) -> list[GroupBlock]:
    """`labels`: group id -> {active, description, zone, end, …} (targets.staff.queries.group_labels).
    A group whose window ended before `now` is marked `ended`."""
    out = []
    for g in target_groups:
        label = labels.get(g["id"], {})
        rules = rule_blocks(g["targets"])
        out.append(
            GroupBlock(
                id=g["id"],
                name=g["name"],
                org_id=g["orgId"],
                evaluation=g["targetEvaluationType"],
                tracking=g["trackingType"],
                active=label.get("active", True),
                description=label.get("description", ""),
                rules=rules,
                streaks=streak_blocks(g.get("streaks")),
                has_current=any(row.current for rule in rules for row in rule.rows),
                zone=label.get("zone") or "UTC",
                end=label.get("end"),
                ended=bool(now and label.get("end") and label["end"] < now),
            )
        )
    return out


def profile_card(customer: dict) -> dict:
    """The profile card: name, channels, loyalty information."""
    profiles = customer.get("profiles") or []
    first = profiles[0] if profiles else {}
    loyalty = customer.get("loyaltyInfo") or {}
    attribution = loyalty.get("attribution") or {}
    created = attribution.get("createdOn")
    return {
        "name": f"{first.get('firstName', '')} {first.get('lastName', '')}".strip(),
        "profiles": profiles,
        "loyalty_type": loyalty.get("loyaltyType"),
        "lifetime_purchases": amount(loyalty.get("lifetimePurchases")),
        "created_on": parse_instant(created.replace("+0000", "+00:00")) if created else None,
        "custom_fields": customer.get("customFields") or {},
    }
