"""Writes on configuration shared by the admin and the configuration API.

Business rules live in plain functions with keyword-only arguments; the admin's actions and
the API's views call these, never the other way round."""

from django.db import transaction

from targets.models import Pause, TargetGroup
from targets.validation import GroupSpec, PeriodSpec, RuleSpec, StreakSpec, TriggerSpec


class ConfigurationConflict(Exception):
    """A change that would lose customer progress (the API answers 409, the admin a message)."""


def stamp_attribution(obj, *, actor, now, creating):
    """Fill created/last-updated on/by from the acting Actor (None when the user has none)."""
    if creating or obj.created_on is None:
        obj.created_on = now
        obj.created_by = actor
    obj.last_updated_on = now
    obj.last_updated_by = actor


def group_spec(group: TargetGroup, *, periods=None, rules=None, streaks=None) -> GroupSpec:
    """The validation view of a saved group, optionally with replaced children (unsaved model
    instances or the saved ones when omitted)."""
    periods = list(group.periods.filter(customer__isnull=True)) if periods is None else periods
    rules = list(group.rules.prefetch_related("triggers")) if rules is None else rules
    streaks = list(group.streaks.all()) if streaks is None else streaks
    return GroupSpec(
        name=group.name,
        target_evaluation_type=group.target_evaluation_type,
        tracking_type=group.tracking_type,
        start=group.start,
        end=group.end,
        total_periods=group.total_periods,
        frequency=group.frequency,
        periods=[PeriodSpec(p.ref_code, p.start, p.end) for p in periods],
        rules=[
            RuleSpec(
                name=r.name,
                target_type=r.target_type,
                target_value=r.target_value,
                attribute=r.attribute,
                triggers=[TriggerSpec(t.trigger_name, t.trigger_value) for t in _triggers(r)],
            )
            for r in rules
        ],
        streaks=[StreakSpec(s.name, s.target_count_of_sequence) for s in streaks],
    )


def _triggers(rule):
    pending = getattr(rule, "pending_triggers", None)
    if pending is not None:
        return pending
    return list(rule.triggers.all()) if rule.pk else []


@transaction.atomic
def group_set_active(*, groups, active: bool, actor, now) -> int:
    """Activate or deactivate groups; returns how many changed. Deactivating pauses a group:
    activity received until it is activated again never counts (docs/engine.md)."""
    changed = 0
    for group in groups:
        if group.active != active:
            group.active = active
            stamp_attribution(group, actor=actor, now=now, creating=False)
            group.save(update_fields=["active", "last_updated_on", "last_updated_by"])
            sync_pauses(group=group, rules=[], now=now)
            changed += 1
    return changed


def sync_pauses(*, group: TargetGroup, rules, now) -> None:
    """Record the group's and its rules' activation as data: an inactive one without an open
    pause gets one from `now`, an active one with an open pause has it closed at `now`. The
    engine judges each activity by the pauses in force when it was received."""
    open_pauses = {p.rule_id: p for p in Pause.objects.filter(group=group, end__isnull=True)}
    for rule_id, active in [(None, group.active), *((r.pk, r.active) for r in rules)]:
        pause = open_pauses.get(rule_id)
        if active and pause is not None:
            pause.end = max(now, pause.start)
            pause.save(update_fields=["end"])
        elif not active and pause is None:
            Pause.objects.create(org_id=group.org_id, group=group, rule_id=rule_id, start=now)
