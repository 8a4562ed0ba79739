"""targets.outcomes: when a group achieved a period (every achieving rule: the active ones)."""

from datetime import UTC, datetime
from types import SimpleNamespace

from targets.outcomes import achieving_rules, period_achievement


def at(hour):
    return datetime(2024, 8, 1, hour, tzinfo=UTC)


def row(id, hour):
    return SimpleNamespace(id=id, achieved_at=None if hour is None else at(hour))


def test_inactive_rules_neither_complete_nor_block_a_period():
    rules = [SimpleNamespace(id=1, active=True), SimpleNamespace(id=2, active=False)]
    assert [r.id for r in achieving_rules(rules)] == [1]


def test_a_period_is_achieved_when_every_rule_is_by_the_last_one():
    achievement = period_achievement([row(1, 9), row(2, 11), row(3, 10)])
    assert (achievement.achieved_at, achievement.user_target_id) == (at(11), 2)


def test_a_tie_is_completed_by_the_first_rule():
    assert period_achievement([row(1, 9), row(2, 11), row(3, 11)]).user_target_id == 2


def test_a_missing_or_open_rule_leaves_the_period_open():
    assert period_achievement([row(1, 9), None]).achieved_at is None
    assert period_achievement([row(1, 9), row(2, None)]).achieved_at is None
    assert period_achievement([]).achieved_at is None
