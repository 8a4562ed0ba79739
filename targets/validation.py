"""Invariants across the rows of one group (SPEC §2), in one place.

The admin (inline formsets) and the configuration API both describe a group as plain specs
and call `validate_group`; each error names the field in the API's vocabulary
(`periods[1].startDate`), which the API returns as is and the admin shows beside the inline.
Single-row invariants (end after start, trigger not above target, …) are checked here too, so
that a caller sees every problem at once, and again by the models' `clean()` and by database
constraints.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from targets import limits
from targets.models import STREAK_TRACKING, EvaluationType, TargetType, TrackingType

MAX_UNIFIED_RULES = limits.MAX_RULES


@dataclass
class PeriodSpec:
    ref_code: str
    start: datetime | None
    end: datetime | None


@dataclass
class TriggerSpec:
    trigger_name: str
    trigger_value: Decimal | None


@dataclass
class RuleSpec:
    name: str
    target_type: str
    target_value: Decimal | None
    attribute: str = ""
    triggers: list[TriggerSpec] = field(default_factory=list)


@dataclass
class StreakSpec:
    name: str
    target_count_of_sequence: int | None


@dataclass
class GroupSpec:
    name: str
    target_evaluation_type: str
    tracking_type: str
    start: datetime | None
    end: datetime | None
    total_periods: int | None = None
    frequency: int | None = None
    periods: list[PeriodSpec] = field(default_factory=list)
    rules: list[RuleSpec] = field(default_factory=list)
    streaks: list[StreakSpec] = field(default_factory=list)


@dataclass(frozen=True)
class ConfigError:
    section: str  # "group", "periods", "targets", "streaks"
    path: str  # the API field path, e.g. "periods[1].startDate"
    message: str

    def __str__(self):
        return f"{self.path}: {self.message}"


def validate_group(spec: GroupSpec) -> list[ConfigError]:
    size_errors = list(_size_errors(spec))
    if size_errors:  # the per-row checks below would be as long as the oversized lists
        return size_errors
    return [
        *_group_errors(spec),
        *_period_errors(spec),
        *_rule_errors(spec),
        *_streak_errors(spec),
    ]


def _size_errors(spec):
    """Caps on the rows of one group (docs/security.md): each is read and rendered on every
    request for the group, so its size bounds the cost of the read endpoint, the admin page and
    the staff pages."""
    if len(spec.periods) > limits.MAX_PERIODS:
        yield ConfigError(
            "periods", "periods", f"at most {limits.MAX_PERIODS} periods, got {len(spec.periods)}"
        )
    # Targets: at most MAX_RULES through the tracking type's own rule (_rule_errors).
    for i, rule in enumerate(spec.rules):
        if len(rule.triggers) > limits.MAX_TRIGGERS:
            yield ConfigError(
                "targets",
                f"targets[{i}].milestones",
                f"at most {limits.MAX_TRIGGERS} milestones per target, got {len(rule.triggers)}",
            )
    if len(spec.streaks) > limits.MAX_STREAKS:
        yield ConfigError(
            "streaks", "streaks", f"at most {limits.MAX_STREAKS} streaks, got {len(spec.streaks)}"
        )


def _group_errors(spec):
    if not spec.name or not spec.name.strip():
        yield ConfigError("group", "name", "is required")
    elif len(spec.name) > 200:
        yield ConfigError("group", "name", "is longer than 200 characters")
    if spec.start and spec.end and spec.end < spec.start:
        yield ConfigError("group", "endDate", "is before startDate")
    for path, instant in (("startDate", spec.start), ("endDate", spec.end)):
        if instant is not None and not limits.in_range(instant):
            yield ConfigError("group", path, f"must be {limits.RANGE_TEXT}")
    if spec.frequency is not None and not 1 <= spec.frequency <= limits.MAX_FREQUENCY:
        yield ConfigError("group", "frequency", f"must be from 1 to {limits.MAX_FREQUENCY}")
    if spec.total_periods is not None and not 1 <= spec.total_periods <= limits.MAX_PERIODS:
        yield ConfigError("group", "totalPeriods", f"must be from 1 to {limits.MAX_PERIODS}")


def _period_errors(spec):
    if spec.target_evaluation_type == EvaluationType.CYCLIC and spec.periods:
        yield ConfigError("periods", "periods", "a CYCLIC_WINDOW group's periods are created per customer")
        return
    seen_codes = {}
    for i, period in enumerate(spec.periods):
        if not period.ref_code:
            yield ConfigError("periods", f"periods[{i}].refCode", "is required")
        elif period.ref_code in seen_codes:
            yield ConfigError(
                "periods", f"periods[{i}].refCode", f"repeats periods[{seen_codes[period.ref_code]}]"
            )
        else:
            seen_codes[period.ref_code] = i
        if period.start and period.end and period.end < period.start:
            yield ConfigError("periods", f"periods[{i}].endDate", "is before startDate")
        for name, instant in (("startDate", period.start), ("endDate", period.end)):
            if instant is not None and not limits.in_range(instant):
                yield ConfigError("periods", f"periods[{i}].{name}", f"must be {limits.RANGE_TEXT}")
    if spec.target_evaluation_type == EvaluationType.FIXED:
        yield from _overlaps(spec.periods)


def _overlaps(periods):
    """FIXED periods of one group must not overlap (ends are inclusive). Sorted by start, a
    period overlaps when it starts before the furthest end seen so far."""
    dated = sorted((p.start, i, p) for i, p in enumerate(periods) if p.start and p.end and p.end >= p.start)
    furthest = None
    for start, i, period in dated:
        if furthest is not None and start <= furthest.end:
            yield ConfigError("periods", f"periods[{i}].startDate", f"overlaps {furthest.ref_code}")
        if furthest is None or period.end > furthest.end:
            furthest = period


def _rule_errors(spec):
    count = len(spec.rules)
    if spec.tracking_type == TrackingType.UNIFIED:
        if not 2 <= count <= MAX_UNIFIED_RULES:
            yield ConfigError(
                "targets", "targets", f"a UNIFIED group needs 2 to {MAX_UNIFIED_RULES} targets, got {count}"
            )
    elif count != 1:
        yield ConfigError(
            "targets", "targets", f"a {spec.tracking_type} group needs exactly one target, got {count}"
        )
    for i, rule in enumerate(spec.rules):
        if not rule.name or not rule.name.strip():
            yield ConfigError("targets", f"targets[{i}].name", "is required")
        if rule.target_value is None:
            yield ConfigError("targets", f"targets[{i}].value", "is required")
        elif rule.target_value <= 0:
            yield ConfigError("targets", f"targets[{i}].value", "must be greater than 0")
        if rule.target_type == TargetType.SUM and not (rule.attribute or "").strip():
            yield ConfigError("targets", f"targets[{i}].attribute", "is required for a SUM target")
        for j, trigger in enumerate(rule.triggers):
            path = f"targets[{i}].milestones[{j}].triggerValue"
            if trigger.trigger_value is None:
                yield ConfigError("targets", path, "is required")
            elif trigger.trigger_value < 0:
                yield ConfigError("targets", path, "cannot be negative")
            elif rule.target_value is not None and trigger.trigger_value > rule.target_value:
                yield ConfigError("targets", path, f"is above the target value {rule.target_value}")


def _streak_errors(spec):
    if spec.streaks and spec.tracking_type not in STREAK_TRACKING:
        yield ConfigError(
            "streaks",
            "streaks",
            f"streaks need a STREAKS or NON_CONTINUOUS_STREAK group, not {spec.tracking_type}",
        )
        return
    available = (
        spec.total_periods if spec.target_evaluation_type == EvaluationType.CYCLIC else len(spec.periods)
    )
    for i, streak in enumerate(spec.streaks):
        path = f"streaks[{i}].targetCountOfSequence"
        count = streak.target_count_of_sequence
        if count is None:
            yield ConfigError("streaks", path, "is required")
        elif count < 1:
            yield ConfigError("streaks", path, "must be at least 1")
        elif count > limits.MAX_PERIODS:
            yield ConfigError("streaks", path, f"must be at most {limits.MAX_PERIODS}")
        elif available is not None and count > available:
            yield ConfigError("streaks", path, f"is longer than the number of periods ({available})")
