"""The read model of GET /v3.1/users/{userId}/targetGroups as small typed records.

Whoever fetches them (the ORM selector, the benchmark's raw-SQL floor, the naive variant) hands
a `CustomerTargets` to `targets.serialize.customer_targets_data`, the one place that applies the
domain rules of the answer and writes the documented dicts, so the bytes cannot drift apart.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple


class ActorRecord(NamedTuple):
    id: int
    code: str | None
    description: str | None
    name: str | None
    type: str | None


class CustomerRecord(NamedTuple):
    id: int
    org_id: int
    loyalty_type: str
    lifetime_purchases: Decimal
    custom_fields: dict | None
    created_on: datetime | None
    created_by_id: int | None
    last_updated_on: datetime | None
    last_updated_by_id: int | None


class ChannelRecord(NamedTuple):
    type: str
    account_id: str | None
    value: str
    primary: bool
    verified: bool
    subscribed: bool
    attributes: dict | None


class ProfileRecord(NamedTuple):
    id: int
    first_name: str
    last_name: str
    source: str
    account_id: str
    org_source_id: int
    channels: list[ChannelRecord]


class GroupRecord(NamedTuple):
    id: int
    org_id: int
    name: str
    target_evaluation_type: str
    tracking_type: str
    preferred_till_id: int | None
    created_on: datetime | None
    last_updated_on: datetime | None
    created_by: ActorRecord | None
    last_updated_by: ActorRecord | None
    # The customer re-enrolled with resetStreakStatus: periods achieved before do not count.
    streak_reset_at: datetime | None = None


class PeriodRecord(NamedTuple):
    id: int
    group_id: int
    ref_code: str
    sequence: int
    start: datetime
    end: datetime


class TriggerRecord(NamedTuple):
    id: int
    trigger_name: str
    trigger_value: Decimal


class RuleRecord(NamedTuple):
    id: int
    group_id: int
    name: str
    active: bool
    target_entity: str
    event_name: str
    target_type: str
    target_value: Decimal
    triggers: list[TriggerRecord]  # by value, then id


class UserTargetRecord(NamedTuple):
    id: int
    rule_id: int
    period_id: int
    achieved_value: Decimal
    achieved_at: datetime | None
    enrolled_on: datetime | None


class StreakRecord(NamedTuple):
    id: int
    group_id: int
    name: str
    target_count_of_sequence: int
    continuous: bool
    user_streak_id: int | None  # the customer's UserStreak, if any


@dataclass
class CustomerTargets:
    """Everything one answer needs. Periods, rules and streaks are keyed by group id and kept
    in the documented order (periods by sequence, rules and streaks by id); user targets and
    per-period target values are keyed by (rule id, period id)."""

    customer: CustomerRecord
    profiles: list[ProfileRecord] = field(default_factory=list)
    groups: list[GroupRecord] = field(default_factory=list)  # by id
    periods: dict[int, list[PeriodRecord]] = field(default_factory=dict)
    rules: dict[int, list[RuleRecord]] = field(default_factory=dict)
    overrides: dict[tuple[int, int], Decimal] = field(default_factory=dict)
    user_targets: dict[tuple[int, int], UserTargetRecord] = field(default_factory=dict)
    streaks: dict[int, list[StreakRecord]] = field(default_factory=dict)
