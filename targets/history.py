"""The history of every configuration change, whichever door it came through (django-simple-history).

Each saved or deleted group, shared period, rule, milestone trigger, streak, per-period value and
enrolment leaves a historical row with who (`history_user`: the logged-in user of the admin or the API,
none for commands), when (`history_date`: real time; `service_time`: the service clock,
`targets.clock`, which TARGETS_NOW may pin), through which door (`door`: admin, admin action,
api, command) and the row's values then. What changed is the difference between a row and the
one before it (`group_changes`).

The door comes from `through(...)` when a caller names it (admin actions), else from the request
django-simple-history's middleware keeps (a path under /admin/ is the admin, anything else the
API), else it is a command.

Services that write rows in bulk (`bulk_create`, a queryset's `delete()` of many rows) record
them with `bulk_record`, which writes the historical rows in one statement too: `bulk_create`
sends no signal, and `quietly()` keeps a bulk delete from also recording row by row.
"""

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models
from django.dispatch import receiver
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

_door: ContextVar[str | None] = ContextVar("configuration_door", default=None)
_quiet: ContextVar[bool] = ContextVar("history_recorded_in_bulk", default=False)

ADMIN, ADMIN_ACTION, API, COMMAND = "admin", "admin action", "api", "command"


class ChangeRecord(models.Model):
    """The fields every historical configuration row adds to django-simple-history's."""

    service_time = models.DateTimeField(null=True, blank=True, help_text="The service clock at the change.")
    door = models.CharField(
        max_length=20, blank=True, default="", help_text="admin, admin action, api, command"
    )

    class Meta:
        abstract = True


class EnrolmentRecord(ChangeRecord):
    """An enrolment's historical row also keeps the initial balance it was enrolled with (an
    adjustment entry of the activity log, not a field of the enrolment)."""

    initial_balance = models.DecimalField(
        max_digits=18,
        decimal_places=3,
        null=True,
        blank=True,
        help_text="The achieved value the customer started the current period with, if one was given.",
    )

    class Meta:
        abstract = True


class ConfigHistory(HistoricalRecords):
    """History of configuration rows. A CYCLIC group's per-customer periods are progress, made by
    the engine: they leave no history."""

    def __init__(self, **kwargs):
        kwargs.setdefault("bases", [ChangeRecord])
        super().__init__(**kwargs)

    def post_save(self, instance, created, using=None, **kwargs):
        if getattr(instance, "customer_id", None) is None and not _quiet.get():
            super().post_save(instance, created, using=using, **kwargs)

    def post_delete(self, instance, using=None, **kwargs):
        if getattr(instance, "customer_id", None) is None and not _quiet.get():
            super().post_delete(instance, using=using, **kwargs)


class EnrolmentHistory(HistoricalRecords):
    """History of enrolments made by a person or a program (admin, API, admin action, command).
    The engine's enrolments of ALL_CUSTOMERS groups at a customer's first activity (source
    ACTIVITY) are progress, like a CYCLIC group's periods: no history."""

    def __init__(self, **kwargs):
        kwargs.setdefault("bases", [EnrolmentRecord])
        super().__init__(**kwargs)

    def post_save(self, instance, created, using=None, **kwargs):
        if instance.source != "ACTIVITY" and not _quiet.get():
            super().post_save(instance, created, using=using, **kwargs)

    def post_delete(self, instance, using=None, **kwargs):
        if instance.source != "ACTIVITY" and not _quiet.get():
            super().post_delete(instance, using=using, **kwargs)


@contextmanager
def through(door: str):
    """Record the changes made inside as coming through `door`."""
    token = _door.set(door)
    try:
        yield
    finally:
        _door.reset(token)


def current_door() -> str:
    named = _door.get()
    if named:
        return named
    request = getattr(HistoricalRecords.context, "request", None)
    if request is None:
        return COMMAND
    return ADMIN if request.path.startswith("/admin/") else API


def stamp(history_instance):
    from targets import clock

    history_instance.service_time = clock.now()
    history_instance.door = current_door()


@receiver(pre_create_historical_record)
def _stamp_record(sender, history_instance, **kwargs):
    if isinstance(history_instance, ChangeRecord):
        stamp(history_instance)


def bulk_extras() -> dict:
    """The extra fields for `bulk_create_with_history` (which sends no signal)."""
    from targets import clock

    return {"service_time": clock.now(), "door": current_door()}


@contextmanager
def quietly():
    """Signals of the rows written inside record nothing: the caller records them with
    `bulk_record` (one INSERT instead of one per row)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def bulk_record(model, instances, *, history_type: str, **extras) -> None:
    """Historical rows for rows a service created ("+"), changed ("~") or deleted ("-") in bulk,
    stamped like the signal's (who, service clock, door) plus `extras`."""
    from django.utils import timezone

    history = model.history.model
    now = timezone.now()
    stamped = {**bulk_extras(), **extras}
    history.objects.bulk_create(
        [
            history(
                history_date=now,
                history_type=history_type,
                history_user=history.get_default_history_user(instance),
                history_change_reason="",
                **{f.attname: getattr(instance, f.attname) for f in history.tracked_fields},
                **stamped,
            )
            for instance in instances
        ]
    )


# --- reading -------------------------------------------------------------------------------------

HIDDEN = {
    "id",
    "org",
    "group",
    "rule",
    "customer",
    "created_on",
    "created_by",
    "last_updated_on",
    "last_updated_by",
}
ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass
class FieldChange:
    field: str
    old: str
    new: str


@dataclass
class Change:
    when: datetime  # real time
    service_time: datetime | None
    who: str
    door: str
    what: str  # "rule Spend"
    action: str  # created, changed, deleted
    fields: list[FieldChange] = field(default_factory=list)


def _shown(record, name, tz):
    from targets import labels

    value = getattr(record, name)
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, str) and value in labels.LABELS:
        return labels.label(value)
    if name in ("target_value", "trigger_value"):
        return labels.value(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


ENROLMENT_ACTIONS = {"+": "enrolled", "~": "changed", "-": "unenrolled"}


def _what(record) -> tuple[str, str]:
    """Which row (“rule Spend”, “enrolment of customer 42”) and what happened to it."""
    if isinstance(record, EnrolmentRecord):
        action = ENROLMENT_ACTIONS.get(record.history_type, record.history_type)
        return f"enrolment of customer {record.customer_id}", action
    name = type(record).instance_type._meta.verbose_name
    label = (
        getattr(record, "name", None)
        or getattr(record, "trigger_name", None)
        or getattr(record, "ref_code", "")
    )
    return f"{name} {label}".strip(), ACTIONS.get(record.history_type, record.history_type)


def _change(record, previous, tz) -> Change:
    from targets import labels

    model = type(record)
    what, action = _what(record)
    change = Change(
        when=record.history_date,
        service_time=record.service_time,
        who=record.history_user.get_username() if record.history_user_id else "—",
        door=record.door or "—",
        what=what,
        action=action,
    )
    for f in model.tracked_fields:
        if f.name in HIDDEN:
            continue
        new = _shown(record, f.attname, tz)
        if previous is None:
            if record.history_type == "+" and new != "—":
                change.fields.append(FieldChange(f.verbose_name, "", new))
            continue
        old = _shown(previous, f.attname, tz)
        if old != new:
            change.fields.append(FieldChange(f.verbose_name, old, new))
    if getattr(record, "initial_balance", None) is not None:
        change.fields.append(FieldChange("initial balance", "", labels.value(record.initial_balance)))
    return change


def group_records(group_id: int):
    """The historical rows of a group and of everything under it, newest first, as querysets."""
    from targets.models import (
        GroupEnrolment,
        MilestoneTrigger,
        PeriodTargetValue,
        Streak,
        TargetGroup,
        TargetPeriod,
        TargetRule,
    )

    rule_ids = set(TargetRule.history.filter(group_id=group_id).values_list("id", flat=True))
    return [
        TargetGroup.history.filter(id=group_id),
        TargetPeriod.history.filter(group_id=group_id),
        TargetRule.history.filter(group_id=group_id),
        MilestoneTrigger.history.filter(rule_id__in=rule_ids),
        PeriodTargetValue.history.filter(rule_id__in=rule_ids),
        Streak.history.filter(group_id=group_id),
        GroupEnrolment.history.filter(group_id=group_id),
    ]


def group_changes(group, *, limit: int | None = None) -> list[Change]:
    """What changed in a group's configuration, newest first: per change who, when (real time
    and service clock), through which door, which row and each field's old and new value."""
    tz = group.org.tz
    records = []
    for queryset in group_records(group.pk):
        rows = queryset.select_related("history_user").order_by("-history_date", "-history_id")
        records += list(rows[:limit] if limit else rows)
    records.sort(key=lambda r: (r.history_date, r.history_id), reverse=True)
    if limit:
        records = records[:limit]
    changes = []
    for record in records:
        # A deleted row's values are those it had: only a change compares with the row before.
        previous = record.prev_record if record.history_type == "~" else None
        change = _change(record, previous, tz)
        if change.action == "changed" and not change.fields:
            continue  # saved as it was (an attribution stamp only)
        changes.append(change)
    return changes
