"""Writes of the configuration API (SPEC §5): create, change and delete target groups with their
periods, rules (targets), milestone triggers and streaks; enrol and unenrol customers.

Plain functions with keyword-only arguments, each one transaction. They take parsed input
(`data`, a dict keyed by model field names, as the API's serializers produce it) and return
model instances; they know nothing of HTTP. Validation is the admin's: the planned group is
described with `services.group_spec` and checked by `validation.validate_group` and the models'
`clean()`, so a rule lives in one place.

Shape of `data` (keys absent from a partial update are left as they are):
    name, description, active, target_evaluation_type, tracking_type, preferred_till_id,
    enrolment, frequency_type, frequency, total_periods, start, end,
    periods: [{id?, ref_code, start?, end?}],
    rules: [{id?, name, active, target_entity, event_name, target_type, attribute,
             target_value, triggers: [{id?, trigger_name, trigger_value}]}],
    streaks: [{id?, name, target_count_of_sequence}]
`start`/`end` are aware datetimes, or dates meaning the org's local day (start 00:00:00,
end 23:59:59).

Customer progress is never lost silently: a change that would delete or move a period holding
progress, delete a rule, trigger or streak holding progress, or change what a rule with progress
counts raises `ProgressConflict` (the API answers 409) and changes nothing.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from uuid import uuid4

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from simple_history.utils import bulk_create_with_history

from customers.models import Actor, Customer
from targets import history, limits, totals
from targets.events.models import EventType
from targets.events.recorder import record_enrolments
from targets.events.revocations import record_deletion
from targets.history import bulk_extras
from targets.models import (
    Activity,
    Enrolment,
    EnrolmentEpisode,
    EnrolmentSource,
    EvaluationType,
    FrequencyType,
    GroupEnrolment,
    MilestoneTrigger,
    Streak,
    TargetGroup,
    TargetPeriod,
    TargetRule,
    TargetType,
    TrackingType,
    UserMilestone,
    UserStreak,
    UserTarget,
)
from targets.periods import PeriodGenerationError, cyclic_windows, group_windows, local_instant
from targets.refresh import refresh_after_change
from targets.services import ConfigurationConflict, group_spec, stamp_attribution, sync_pauses
from targets.validation import ConfigError, validate_group

GROUP_FIELDS = (
    "name",
    "description",
    "active",
    "target_evaluation_type",
    "tracking_type",
    "enrolment",
    "frequency_type",
    "frequency",
    "total_periods",
    "start",
    "end",
    "count_activity_from",
)
# A partial update that changes one of these regenerates the periods (when none are given).
SCHEDULE_FIELDS = ("target_evaluation_type", "frequency_type", "frequency", "total_periods", "start", "end")
RULE_FIELDS = ("name", "active", "target_entity", "event_name", "target_type", "attribute", "target_value")
# What a rule counts: fixed once customers have progress on it (its name, value and active may change).
RULE_MEANING = ("target_entity", "event_name", "target_type", "attribute")
API_NAMES = {
    "target_entity": "targetEntity",
    "event_name": "eventName",
    "target_type": "targetType",
    "attribute": "attribute",
    "target_evaluation_type": "targetEvaluationType",
    "tracking_type": "trackingType",
}

ENROLLED, ALREADY_ENROLLED, UNENROLLED, NOT_ENROLLED, NOT_FOUND = (
    "ENROLLED",
    "ALREADY_ENROLLED",
    "UNENROLLED",
    "NOT_ENROLLED",
    "NOT_FOUND",
)


class ConfigurationInvalid(Exception):
    """The input breaks invariants: every ConfigError found, and the duplicate name if any."""

    def __init__(self, errors: list[ConfigError], *, duplicate_name: str | None = None):
        self.errors = errors
        self.duplicate_name = duplicate_name
        super().__init__("; ".join(str(e) for e in errors) or f"duplicate name {duplicate_name!r}")


class ProgressConflict(ConfigurationConflict):
    """The change would lose or reinterpret customer progress: `errors` (ConfigErrors, the
    field each is about) and `messages` (their text, as the API answers 409)."""

    def __init__(self, errors: list[ConfigError]):
        self.errors = errors
        self.messages = [str(error) for error in errors]
        super().__init__("; ".join(self.messages))


@dataclass
class GroupWrite:
    group: TargetGroup
    warnings: list[str] = field(default_factory=list)


@dataclass
class GroupDeletion:
    deleted: bool
    group: TargetGroup  # the deactivated group when not deleted; the unsaved remains when deleted
    warnings: list[str] = field(default_factory=list)


def resolve_instant(value, *, tz, end: bool) -> datetime | None:
    """An aware datetime as is; a date as the start (00:00:00) or end (23:59:59) of that local day."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return local_instant(tz, value, time(23, 59, 59) if end else time(0, 0, 0))
    raise TypeError(f"expected a datetime or a date, got {type(value).__name__}")


# ---------------------------------------------------------------------------------------------
# Create, update, delete


@transaction.atomic
def group_create(*, org, actor, data: dict, now: datetime) -> GroupWrite:
    group = TargetGroup(org=org)
    return _write(group=group, data=data, actor=actor, now=now, creating=True, partial=False)


@transaction.atomic
def group_update(
    *, group: TargetGroup, actor, data: dict, now: datetime, partial: bool = False
) -> GroupWrite:
    """Replace the group's settings (PUT) or some of them (PATCH, `partial`). Nested lists given
    replace the saved ones: items with an `id` update that row, items without one are created
    (a period without id takes over the saved period of the same refCode), rows left out are
    deleted. A PUT without periods regenerates them from the frequency settings; a PATCH does so
    only when it changes a frequency setting."""
    locked = TargetGroup.objects.select_for_update().select_related("org").get(pk=group.pk)
    return _write(group=locked, data=data, actor=actor, now=now, creating=False, partial=partial)


@transaction.atomic
def group_delete(*, group: TargetGroup, actor, now: datetime, force: bool = False) -> GroupDeletion:
    """Delete a group. A group with customer progress is deactivated instead, unless `force`
    (the caller decides who may force: the API lets superusers)."""
    locked = TargetGroup.objects.select_for_update().get(pk=group.pk)
    holders = UserTarget.objects.filter(rule__group=locked).values("customer_id").distinct().count()
    if holders and not force:
        was_active = locked.active
        if was_active:
            locked.active = False
            stamp_attribution(locked, actor=actor, now=now, creating=False)
            locked.save(update_fields=["active", "last_updated_on", "last_updated_by"])
            sync_pauses(group=locked, rules=[], now=now)
        state = "deactivated" if was_active else "left inactive"
        return GroupDeletion(
            deleted=False,
            group=locked,
            warnings=[
                f"group {locked.id} holds progress of {holders} customer(s): {state} instead of deleted; "
                "a superuser can delete it with its progress with ?force=true"
            ],
        )
    warnings = []
    if holders:
        warnings.append(f"group {locked.id} deleted with the progress of {holders} customer(s)")
    # Announced while the rows (and their names) exist; the delete takes the progress with them.
    record_deletion(group=locked, now=now)
    # Its initialBalance entries go with it: their customers' running totals are counted afresh.
    balanced = set(Activity.objects.filter(adjusts_group=locked).values_list("customer_id", flat=True))
    locked.delete()
    totals.recount(customer_ids=balanced)
    return GroupDeletion(deleted=True, group=locked, warnings=warnings)


@transaction.atomic
def rule_delete(*, rule: TargetRule, actor, now: datetime) -> list[str]:
    """Delete a rule with its progress (the admin's delete; the configuration API refuses a rule
    holding progress with 409 instead). Its achievements are revoked, and the customers who held
    progress on it are refreshed in the group (a UNIFIED period or a streak needs one rule less).
    Returns warnings naming how many customers lost progress."""
    group = TargetGroup.objects.select_for_update().get(pk=rule.group_id)
    holders = record_deletion(group=group, now=now, rule_ids=[rule.pk])
    TargetRule.objects.filter(pk=rule.pk).delete()
    if not group.rules.exists():
        # The engine skips a group without rules: its streaks (revoked above) would stay achieved.
        UserStreak.objects.filter(streak__group=group).delete()
    stamp_attribution(group, actor=actor, now=now, creating=False)
    group.save(update_fields=["last_updated_on", "last_updated_by"])
    if not holders:
        return []
    refresh_after_change(group=group, now=now, reason=f"rule {rule.pk} deleted", customer_ids=holders)
    return [f"rule {rule.pk} deleted with the progress of {len(holders)} customer(s)"]


# ---------------------------------------------------------------------------------------------
# Enrolment


def _require_explicit(group):
    if group.enrolment != Enrolment.EXPLICIT:
        raise ConfigurationInvalid(
            [
                ConfigError(
                    "group",
                    "enrolment",
                    f"group {group.id} is {group.enrolment}: every customer of the org is associated; "
                    "enrolment applies to EXPLICIT groups",
                )
            ]
        )


@transaction.atomic
def group_enrol(
    *,
    group: TargetGroup,
    user_ids: list[int],
    now: datetime,
    initial_balance=None,
    reset_streaks: bool = False,
    source: str = EnrolmentSource.API,
) -> list[tuple[int, str]]:
    """Enrol customers of the group's org in an EXPLICIT group. Per distinct user id, in order:
    ENROLLED, ALREADY_ENROLLED, or NOT_FOUND (no such customer in the group's org).

    Activity counts while a customer is enrolled (docs/engine.md). A re-enrolment resumes from
    the value at which the customer was unenrolled, unless `initial_balance` is given: then every
    target of the group starts its current period (the one holding `now`) at that value — an
    adjustment entry in the activity log, so that recompute_progress finds it. `reset_streaks`
    starts the customers' streaks afresh."""
    locked = TargetGroup.objects.select_for_update().get(pk=group.pk)
    _require_explicit(locked)
    ids = list(dict.fromkeys(user_ids))
    found = set(Customer.objects.filter(id__in=ids, org_id=locked.org_id).values_list("id", flat=True))
    already = set(
        GroupEnrolment.objects.filter(group=locked, customer_id__in=found).values_list(
            "customer_id", flat=True
        )
    )
    new = [user_id for user_id in ids if user_id in found and user_id not in already]
    GroupEnrolment.objects.bulk_create(
        [
            GroupEnrolment(
                org_id=locked.org_id,
                group=locked,
                customer_id=user_id,
                enrolled_on=now,
                source=source,
                streak_reset_at=now if reset_streaks else None,
            )
            for user_id in new
        ],
        ignore_conflicts=True,
    )
    if new:  # bulk_create sends no signal, and with ignore_conflicts gives no ids: read them back
        history.bulk_record(
            GroupEnrolment,
            GroupEnrolment.objects.filter(group=locked, customer_id__in=new, enrolled_on=now),
            history_type="+",
            initial_balance=initial_balance,
        )
    if initial_balance is not None and new:
        entries = Activity.objects.bulk_create(
            Activity(
                org_id=locked.org_id,
                customer_id=user_id,
                entity="EVENT",
                event_name="initialBalance",
                occurred_at=now,
                amount=initial_balance,
                quantity=0,
                attributes={"source": source},
                external_id=f"initialBalance:{locked.pk}:{user_id}:{uuid4().hex}",
                received_at=now,
                adjusts_group=locked,
            )
            for user_id in new
        )
        totals.add_stored(activities=entries)  # the limit's running totals count every activity
    # Before the refresh, whose events (an initialBalance reaching a target) follow it.
    record_enrolments(type=EventType.ENROLLED, group=locked, customer_ids=new, now=now, source=source)
    # A backdated group counts activity received before it existed for the customers enrolled
    # (docs/engine.md): enrolling one brings that activity in, as a balance or a reset does.
    if new and (initial_balance is not None or reset_streaks or locked.counts_from < locked.created_on):
        refresh_after_change(group=locked, now=now, reason="enrolment", customer_ids=new)
    return [
        (user_id, NOT_FOUND if user_id not in found else ALREADY_ENROLLED if user_id in already else ENROLLED)
        for user_id in ids
    ]


@transaction.atomic
def group_unenrol(
    *, group: TargetGroup, user_ids: list[int], now: datetime
) -> tuple[list[tuple[int, str]], list[str]]:
    """Remove enrolments of an EXPLICIT group. Per distinct user id: UNENROLLED, NOT_ENROLLED
    (a customer of the org without enrolment) or NOT_FOUND. Progress rows are kept (re-enrolling
    shows them again and resumes from them); activity received while unenrolled never counts.
    The warnings name the customers who hold some progress."""
    locked = TargetGroup.objects.select_for_update().get(pk=group.pk)
    _require_explicit(locked)
    ids = list(dict.fromkeys(user_ids))
    found = set(Customer.objects.filter(id__in=ids, org_id=locked.org_id).values_list("id", flat=True))
    enrolments = list(GroupEnrolment.objects.filter(group=locked, customer_id__in=found))
    enrolled = {e.customer_id for e in enrolments}
    EnrolmentEpisode.objects.bulk_create(
        EnrolmentEpisode(
            org_id=locked.org_id,
            group=locked,
            customer_id=e.customer_id,
            start=e.enrolled_on,
            end=max(e.enrolled_on, now),
        )
        for e in enrolments
    )
    with history.quietly():  # recorded below in one statement rather than one per row
        GroupEnrolment.objects.filter(id__in=[e.id for e in enrolments]).delete()
    history.bulk_record(GroupEnrolment, enrolments, history_type="-")
    record_enrolments(type=EventType.UNENROLLED, group=locked, customer_ids=enrolled, now=now)
    holders = sorted(
        UserTarget.objects.filter(rule__group=locked, customer_id__in=enrolled)
        .values_list("customer_id", flat=True)
        .distinct()
    )
    warnings = [
        f"customer {customer_id} keeps its progress in group {locked.id}; it is hidden until re-enrolled"
        for customer_id in holders
    ]
    results = [
        (user_id, NOT_FOUND if user_id not in found else UNENROLLED if user_id in enrolled else NOT_ENROLLED)
        for user_id in ids
    ]
    return results, warnings


@transaction.atomic
def enrolments_delete(*, enrolments, now: datetime) -> list[str]:
    """Delete GroupEnrolment rows (the admin's delete, its "delete selected", an inline's delete
    box) as `group_unenrol` does: an episode kept, UNENROLLED announced. Only EXPLICIT groups'
    enrolments can be removed (ConfigurationInvalid otherwise: every customer of the org is in an
    ALL_CUSTOMERS group). Returns the warnings of the unenrolments."""
    by_group = {}
    for group_id, customer_id in sorted({(e.group_id, e.customer_id) for e in enrolments}):
        by_group.setdefault(group_id, []).append(customer_id)
    warnings = []
    for group in TargetGroup.objects.filter(id__in=by_group).order_by("id"):
        _results, more = group_unenrol(group=group, user_ids=by_group[group.id], now=now)
        warnings += more
    return warnings


# ---------------------------------------------------------------------------------------------
# The write itself: plan the rows, validate, check progress, save.


@dataclass
class _Progress:
    """What of a group holds customer progress (row counts)."""

    periods: Counter
    rules: Counter
    triggers: set
    streaks: set

    @property
    def any(self):
        return bool(self.rules)


def _progress(group) -> _Progress:
    periods, rules = Counter(), Counter()
    rows = (
        UserTarget.objects.filter(rule__group=group, period__customer__isnull=True)
        .values_list("rule_id", "period_id")
        .annotate(n=Count("id"))
    )
    for rule_id, period_id, n in rows:
        periods[period_id] += n
        rules[rule_id] += n
    # Per-customer (CYCLIC) periods are never edited here, but their rules are.
    for rule_id, n in (
        UserTarget.objects.filter(rule__group=group, period__customer__isnull=False)
        .values_list("rule_id")
        .annotate(n=Count("id"))
    ):
        rules[rule_id] += n
    triggers = set(
        UserMilestone.objects.filter(trigger__rule__group=group).values_list("trigger_id", flat=True)
    )
    streaks = set(UserStreak.objects.filter(streak__group=group).values_list("streak_id", flat=True))
    return _Progress(periods, rules, triggers, streaks)


@dataclass
class GroupPlan:
    """A write worked out but not applied: the group carrying its new settings (unsaved), the
    rows it will have, what it had, and what is wrong with it."""

    group: TargetGroup
    creating: bool
    generated: bool  # the periods come from the frequency settings
    before: dict
    originals: dict
    periods: list
    saved_periods: dict
    rules: list
    saved_rules: dict
    streaks: list
    saved_streaks: dict
    errors: list[ConfigError]
    duplicate_name: str | None


def group_check(*, org, data: dict, group: TargetGroup | None = None, partial: bool = False) -> GroupPlan:
    """What group_create (no `group`) or group_update would do with `data`, without writing:
    raises ConfigurationInvalid or ProgressConflict exactly as they would. The admin calls it
    while validating its forms, so that both doors refuse the same changes for the same reasons."""
    target = (
        TargetGroup(org=org) if group is None else TargetGroup.objects.select_related("org").get(pk=group.pk)
    )
    plan = group_plan(group=target, data=data, creating=group is None, partial=partial)
    _raise_invalid(plan)
    if not plan.creating:
        conflicts = progress_conflicts(target, plan)
        if conflicts:
            raise ProgressConflict(conflicts)
    return plan


def group_plan(*, group, data, creating, partial) -> GroupPlan:
    """Apply `data` to `group` in memory and plan its periods, rules and streaks (nothing is
    written; the saved rows are read)."""
    tz = group.org.tz
    errors: list[ConfigError] = []
    before = {f: getattr(group, f) for f in (*GROUP_FIELDS, "preferred_till_id")}

    for name in GROUP_FIELDS:
        if name in data:
            value = data[name]
            if name in ("start", "end", "count_activity_from"):
                value = resolve_instant(value, tz=tz, end=name == "end")
            setattr(group, name, value)
    if "preferred_till_id" in data:
        errors += _set_preferred_till(group, data["preferred_till_id"])

    schedule_changed = creating or any(
        name in data and getattr(group, name) != before[name] for name in SCHEDULE_FIELDS
    )
    saved_periods = {} if creating else {p.id: p for p in group.periods.filter(customer__isnull=True)}
    for period in saved_periods.values():
        period.saved_key = (period.ref_code, period.sequence)
    saved_rules = {} if creating else {r.id: r for r in group.rules.prefetch_related("triggers")}
    saved_streaks = {} if creating else {s.id: s for s in group.streaks.all()}
    originals = {
        "periods": {pid: (p.ref_code, p.start, p.end) for pid, p in saved_periods.items()},
        "rules": {rid: {f: getattr(r, f) for f in RULE_FIELDS} for rid, r in saved_rules.items()},
    }

    generated = False
    if "periods" in data:
        periods, period_errors = _plan_explicit_periods(group, data["periods"], saved_periods, tz)
        errors += period_errors
    elif not partial or schedule_changed:
        periods, period_errors = _plan_generated_periods(group, saved_periods)
        errors += period_errors
        generated = True
    else:
        periods = sorted(saved_periods.values(), key=lambda p: p.sequence)

    if "rules" in data:
        rules, rule_errors = _plan_rules(group, data["rules"], saved_rules)
        errors += rule_errors
    else:
        rules = list(saved_rules.values())
        for rule in rules:
            rule.pending_triggers = list(rule.triggers.all())

    if "streaks" in data:
        streaks, streak_errors = _plan_streaks(group, data["streaks"], saved_streaks)
        errors += streak_errors
    else:
        streaks = list(saved_streaks.values())

    errors += validate_group(group_spec(group, periods=periods, rules=rules, streaks=streaks))
    errors += _cyclic_settings_errors(group, tz)
    errors += _sum_limit_errors(group, rules, originals["rules"])
    return GroupPlan(
        group=group,
        creating=creating,
        generated=generated,
        before=before,
        originals=originals,
        periods=periods,
        saved_periods=saved_periods,
        rules=rules,
        saved_rules=saved_rules,
        streaks=streaks,
        saved_streaks=saved_streaks,
        errors=_unique(errors),
        duplicate_name=_duplicate_name(group),
    )


def _raise_invalid(plan):
    if plan.errors or plan.duplicate_name:
        raise ConfigurationInvalid(plan.errors, duplicate_name=plan.duplicate_name)


def _write(*, group, data, actor, now, creating, partial) -> GroupWrite:
    warnings: list[str] = []
    plan = group_plan(group=group, data=data, creating=creating, partial=partial)
    _raise_invalid(plan)

    if not creating:
        progress = _progress(group)
        conflicts = progress_conflicts(group, plan, progress=progress)
        if conflicts:
            raise ProgressConflict(conflicts)
        if (
            plan.before["enrolment"] == Enrolment.ALL_CUSTOMERS
            and group.enrolment == Enrolment.EXPLICIT
            and progress.any
        ):
            kept = _enrol_progress_holders(group, now)
            if kept:
                warnings.append(
                    f"{kept} customer(s) with progress in group {group.id} were enrolled so that they keep it"
                )

    stamp_attribution(group, actor=actor, now=now, creating=creating)
    try:
        with transaction.atomic():
            group.save()
    except IntegrityError:
        if _duplicate_name(group):
            raise ConfigurationInvalid([], duplicate_name=group.name) from None
        raise

    _save_periods(group, plan.periods, plan.saved_periods, generated=plan.generated, creating=creating)
    _save_rules(group, plan.rules, plan.saved_rules, now=None if creating else now)
    _save_streaks(group, plan.streaks, plan.saved_streaks)
    sync_pauses(group=group, rules=plan.rules, now=now)
    if not creating or group.count_activity_from is not None:
        refresh_after_change(group=group, now=now, reason="created" if creating else "configuration changed")
    return GroupWrite(group=group, warnings=warnings)


def _unique(errors):
    return list(dict.fromkeys(errors))


def _sum_limit_errors(group, rules, originals) -> list[ConfigError]:
    """A SUM target that starts reading an attribute whose stored values already sum past what
    an achieved value can hold is refused (docs/security.md), so that no refresh or recompute
    ever meets a value the database cannot store. Ingestion keeps the sums of attributes read by
    existing rules in bounds, so an unchanged rule needs no check."""
    errors = []
    for i, rule in enumerate(rules):
        if rule.target_type != TargetType.SUM or not (rule.attribute or "").strip():
            continue
        before = originals.get(rule.pk)
        if before and before["target_type"] == TargetType.SUM and before["attribute"] == rule.attribute:
            continue
        customer = limits.attribute_sum_overflow(org_id=group.org_id, key=rule.attribute)
        if customer is not None:
            message = limits.SUM_RULE_OVERFLOW.format(customer=customer, key=rule.attribute)
            errors.append(ConfigError("targets", f"targets[{i}].attribute", message))
    return errors


def _set_preferred_till(group, till_id) -> list[ConfigError]:
    if till_id is None:
        group.preferred_till = None
        return []
    till = Actor.objects.filter(id=till_id, org_id=group.org_id).first()
    if till is None:
        group.preferred_till = None
        return [ConfigError("group", "preferredTillId", f"no till {till_id} in org {group.org_id}")]
    group.preferred_till = till
    try:
        group.clean()  # the model's rule: a TILL of the group's org
    except ValidationError as exc:
        return [
            ConfigError("group", "preferredTillId", message)
            for message in exc.message_dict.get("preferred_till", [])
        ]
    return []


def _duplicate_name(group) -> str | None:
    if not group.name:
        return None
    clash = TargetGroup.objects.filter(org_id=group.org_id, name=group.name)
    if group.pk:
        clash = clash.exclude(pk=group.pk)
    return group.name if clash.exists() else None


def _cyclic_settings_errors(group, tz) -> list[ConfigError]:
    """A CYCLIC group's cycles are generated per customer by the engine: its settings must
    generate (a calendar frequency, not too many cycles). Checked with the engine's generator."""
    if group.target_evaluation_type != EvaluationType.CYCLIC or not (group.start and group.end):
        return []
    if group.frequency_type == FrequencyType.CUSTOM:
        return [
            ConfigError(
                "group",
                "frequencyType",
                "a CYCLIC_WINDOW group's cycles are generated per customer and need a calendar frequency, "
                "not CUSTOM",
            )
        ]
    try:
        cyclic_windows(
            anchor=group.start,
            end=group.end,
            frequency_type=group.frequency_type,
            frequency=group.frequency,
            total_periods=group.total_periods,
            tz=tz,
            ref_code_prefix="",
        )
    except PeriodGenerationError as exc:
        return [ConfigError("group", "totalPeriods", str(exc))]
    return []


def _plan_explicit_periods(group, items, saved, tz):
    """The periods as given, each bound to its saved row (by id, else by refCode) or new."""
    errors = []
    claimed = {}
    for i, item in enumerate(items):
        pid = item.get("id")
        if pid is None:
            continue
        if pid not in saved:
            errors.append(ConfigError("periods", f"periods[{i}].id", f"no period {pid} in this group"))
        elif pid in claimed:
            errors.append(ConfigError("periods", f"periods[{i}].id", f"repeats periods[{claimed[pid]}]"))
        else:
            claimed[pid] = i
    unclaimed_by_code = {p.ref_code: p for pid, p in saved.items() if pid not in claimed}
    agnostic = group.target_evaluation_type == EvaluationType.PERIOD_AGNOSTIC
    planned = []
    for i, item in enumerate(items):
        pid = item.get("id")
        row = saved.get(pid) if pid is not None and claimed.get(pid) == i else None
        if row is None and pid is None:
            row = unclaimed_by_code.pop(item.get("ref_code") or "", None)
        if row is None:
            row = TargetPeriod(org_id=group.org_id, group=group if group.pk else None)
        row.ref_code = item.get("ref_code") or ""
        start = resolve_instant(item.get("start"), tz=tz, end=False)
        end = resolve_instant(item.get("end"), tz=tz, end=True)
        if agnostic:
            # PERIOD_AGNOSTIC periods have no calendar: they are filled one after the other.
            start = start or group.start
            end = end or start
        else:
            if start is None:
                errors.append(ConfigError("periods", f"periods[{i}].startDate", "is required"))
            if end is None:
                errors.append(ConfigError("periods", f"periods[{i}].endDate", "is required"))
        row.start, row.end = start, end
        row.request_index = i
        planned.append(row)
    if not agnostic and not errors:
        order = sorted(planned, key=lambda p: (p.start, p.request_index))
    else:
        order = planned
    for sequence, row in enumerate(order, start=1):
        row.sequence = sequence
    return planned, errors


def _plan_generated_periods(group, saved):
    """The periods the frequency settings give, bound to saved rows of the same refCode."""
    try:
        windows = group_windows(group)
    except PeriodGenerationError as exc:
        path = "totalPeriods" if group.target_evaluation_type == EvaluationType.PERIOD_AGNOSTIC else "periods"
        return [], [ConfigError("periods", path, f"cannot be generated: {exc}")]
    by_code = {p.ref_code: p for p in saved.values()}
    planned = []
    for i, window in enumerate(windows):
        row = by_code.pop(window.ref_code, None) or TargetPeriod(
            org_id=group.org_id, group=group if group.pk else None
        )
        row.ref_code, row.sequence, row.start, row.end = (
            window.ref_code,
            window.sequence,
            window.start,
            window.end,
        )
        row.request_index = i
        planned.append(row)
    return planned, []


def _plan_rules(group, items, saved):
    errors = []
    planned = []
    claimed = {}
    for i, item in enumerate(items):
        rid = item.get("id")
        if rid is not None:
            if rid not in saved:
                errors.append(ConfigError("targets", f"targets[{i}].id", f"no target {rid} in this group"))
                rid = None
            elif rid in claimed:
                errors.append(ConfigError("targets", f"targets[{i}].id", f"repeats targets[{claimed[rid]}]"))
                rid = None
            else:
                claimed[rid] = i
        rule = saved[rid] if rid is not None else TargetRule(org_id=group.org_id)
        for name in RULE_FIELDS:
            if name in item:
                setattr(rule, name, item[name])
        saved_triggers = {t.id: t for t in rule.triggers.all()} if rule.pk else {}
        rule.saved_triggers = saved_triggers
        rule.pending_triggers = []
        trigger_claims = {}
        for j, trigger_item in enumerate(item.get("triggers", [])):
            tid = trigger_item.get("id")
            trigger = None
            if tid is not None:
                if tid not in saved_triggers:
                    errors.append(
                        ConfigError(
                            "targets",
                            f"targets[{i}].milestones[{j}].id",
                            f"no milestone {tid} in this target",
                        )
                    )
                elif tid in trigger_claims:
                    errors.append(
                        ConfigError(
                            "targets",
                            f"targets[{i}].milestones[{j}].id",
                            f"repeats targets[{i}].milestones[{trigger_claims[tid]}]",
                        )
                    )
                else:
                    trigger_claims[tid] = j
                    trigger = saved_triggers[tid]
            if trigger is None:
                trigger = MilestoneTrigger(org_id=group.org_id)
            trigger.trigger_name = trigger_item.get("trigger_name", trigger.trigger_name)
            trigger.trigger_value = trigger_item.get("trigger_value", trigger.trigger_value)
            rule.pending_triggers.append(trigger)
        planned.append(rule)
    return planned, errors


def _plan_streaks(group, items, saved):
    errors = []
    planned = []
    claimed = {}
    for i, item in enumerate(items):
        sid = item.get("id")
        streak = None
        if sid is not None:
            if sid not in saved:
                errors.append(ConfigError("streaks", f"streaks[{i}].id", f"no streak {sid} in this group"))
            elif sid in claimed:
                errors.append(ConfigError("streaks", f"streaks[{i}].id", f"repeats streaks[{claimed[sid]}]"))
            else:
                claimed[sid] = i
                streak = saved[sid]
        if streak is None:
            streak = Streak(org_id=group.org_id)
        streak.name = item.get("name", streak.name)
        streak.target_count_of_sequence = item.get(
            "target_count_of_sequence", streak.target_count_of_sequence
        )
        planned.append(streak)
    return planned, errors


def progress_conflicts(group, plan: GroupPlan, *, progress: "_Progress | None" = None) -> list[ConfigError]:
    """Why the planned change would lose or reinterpret customer progress (empty: it would not).
    Each conflict names the field it is about, in the API's vocabulary, like a ConfigError."""
    progress = _progress(group) if progress is None else progress
    if not progress.any:
        return []
    before, originals = plan.before, plan.originals
    periods, saved_periods = plan.periods, plan.saved_periods
    rules, saved_rules = plan.rules, plan.saved_rules
    streaks, saved_streaks = plan.streaks, plan.saved_streaks
    messages = []
    for name in ("target_evaluation_type", "tracking_type"):
        if getattr(group, name) != before[name]:
            messages.append(
                f"{API_NAMES[name]}: group {group.id} holds customer progress; its {API_NAMES[name]} "
                f"cannot change from {before[name]} to {getattr(group, name)}"
            )

    kept_periods = {p.pk for p in periods if p.pk}
    for pid, (ref_code, start, end) in originals["periods"].items():
        held = progress.periods.get(pid)
        if not held:
            continue
        if pid not in kept_periods:
            messages.append(
                f"periods: period {ref_code} (id {pid}) holds {held} customer target(s); it cannot be deleted"
            )
            continue
        row = saved_periods[pid]
        moved = [
            label
            for label, old, new in (("startDate", start, row.start), ("endDate", end, row.end))
            if old != new
        ]
        if moved:
            messages.append(
                f"periods[{row.request_index}].{moved[0]}: period {ref_code} (id {pid}) holds {held} "
                f"customer target(s); its {' and '.join(moved)} cannot change"
            )

    kept_rules = {r.pk: i for i, r in enumerate(rules) if r.pk}
    for rid, fields in originals["rules"].items():
        held = progress.rules.get(rid)
        rule_triggers = getattr(saved_rules[rid], "saved_triggers", None)
        if held and rid not in kept_rules:
            messages.append(
                f"targets: target {fields['name']!r} (id {rid}) holds {held} customer target(s); "
                "it cannot be deleted"
            )
            continue
        if rid not in kept_rules:
            continue
        i = kept_rules[rid]
        rule = saved_rules[rid]
        if held:
            for name in RULE_MEANING:
                if getattr(rule, name) != fields[name]:
                    messages.append(
                        f"targets[{i}].{API_NAMES[name]}: target {fields['name']!r} (id {rid}) holds {held} "
                        f"customer target(s); what it counts ({API_NAMES[name]}) cannot change"
                    )
        if rule_triggers is not None:
            kept_triggers = {t.pk for t in rule.pending_triggers if t.pk}
            for tid, trigger in rule_triggers.items():
                if tid in progress.triggers and tid not in kept_triggers:
                    messages.append(
                        f"targets[{i}].milestones: milestone {trigger.trigger_name!r} (id {tid}) was reached "
                        "by customers; it cannot be deleted"
                    )

    kept_streaks = {s.pk for s in streaks if s.pk}
    for sid, streak in saved_streaks.items():
        if sid in progress.streaks and sid not in kept_streaks:
            messages.append(
                f"streaks: streak {streak.name!r} (id {sid}) holds customer streaks; it cannot be deleted"
            )
    return [_conflict(message) for message in messages]


def _conflict(message: str) -> ConfigError:
    path, _, text = message.partition(": ")
    section = path.split("[")[0].split(".")[0]
    return ConfigError(section if section in ("periods", "targets", "streaks") else "group", path, text)


def _enrol_progress_holders(group, now) -> int:
    """Before a group turns EXPLICIT, enrol the customers who hold progress in it, since the
    group counts activity, so that what they had counted keeps counting. Enrolments the engine
    made at their first activity become such enrolments too. Returns how many were enrolled."""
    since = min(group.counts_from, now)
    holders = set(UserTarget.objects.filter(rule__group=group).values_list("customer_id", flat=True))
    explicit = set(
        GroupEnrolment.objects.filter(group=group)
        .exclude(source=EnrolmentSource.ACTIVITY)
        .values_list("customer_id", flat=True)
    )
    holders -= explicit
    GroupEnrolment.objects.filter(group=group, customer_id__in=holders).delete()
    bulk_create_with_history(  # bulk_create sends no signal
        [
            GroupEnrolment(
                org_id=group.org_id,
                group=group,
                customer_id=cid,
                enrolled_on=since,
                source=EnrolmentSource.API,
            )
            for cid in sorted(holders)
        ],
        GroupEnrolment,
        custom_historical_attrs=bulk_extras(),
    )
    return len(holders)


def _save_periods(group, periods, saved, *, generated, creating):
    if generated and creating and group.target_evaluation_type == EvaluationType.PERIOD_AGNOSTIC:
        # Generated refCodes name the group (PERIOD_G_{id}_N); the id exists only now.
        for row, window in zip(periods, group_windows(group), strict=True):
            row.ref_code = window.ref_code
    kept = {p.pk for p in periods if p.pk}
    removed = [pid for pid in saved if pid not in kept]
    if removed:
        TargetPeriod.objects.filter(id__in=removed).delete()
    # Two steps so that swapping refCodes or sequences never meets the unique constraints.
    moving = [p for p in periods if p.pk and (p.ref_code, p.sequence) != _saved_key(p)]
    for n, row in enumerate(moving, start=1):
        TargetPeriod.objects.filter(pk=row.pk).update(ref_code=f"~moving~{row.pk}", sequence=10**9 + n)
    for row in periods:
        row.group = group
        row.org_id = group.org_id
        if row.pk:
            row.save(update_fields=["ref_code", "sequence", "start", "end"])
    new = [p for p in periods if not p.pk]
    if new:  # with their history rows (bulk_create sends no signal)
        bulk_create_with_history(new, TargetPeriod, custom_historical_attrs=bulk_extras())


def _saved_key(period):
    return getattr(period, "saved_key", (None, None))


def _save_rules(group, rules, saved, *, now):
    """Save the planned rules; a rule added to an existing group counts activity received from
    `now` on (None when the group is being created: its rules count from the group's creation)."""
    kept = {r.pk for r in rules if r.pk}
    removed = [rid for rid in saved if rid not in kept]
    if removed:
        TargetRule.objects.filter(id__in=removed).delete()
    for rule in rules:
        if not rule.pk and now is not None:
            rule.created_on = now
        rule.group = group
        rule.org_id = group.org_id
        rule.save()
        kept_triggers = {t.pk for t in rule.pending_triggers if t.pk}
        stale = [tid for tid in getattr(rule, "saved_triggers", {}) if tid not in kept_triggers]
        if stale:
            MilestoneTrigger.objects.filter(id__in=stale).delete()
        for trigger in rule.pending_triggers:
            trigger.rule = rule
            trigger.org_id = group.org_id
            trigger.save()


def _save_streaks(group, streaks, saved):
    kept = {s.pk for s in streaks if s.pk}
    removed = [sid for sid in saved if sid not in kept]
    if removed:
        Streak.objects.filter(id__in=removed).delete()
    continuous = group.tracking_type != TrackingType.NON_CONTINUOUS_STREAK
    for streak in streaks:
        streak.group = group
        streak.org_id = group.org_id
        streak.continuous = continuous
        streak.save()
