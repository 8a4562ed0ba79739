"""Events from the progress writer's transitions (the outbox's write side).

The engine's writer (`targets.progress.refresh.write_progress`, through `targets.progress.sync`)
already compares what is stored with what the activity log and the configuration give, and
writes only the differences. The
recorder sees those same differences — before the rows are written — and turns the ones a
loyalty team acts on into events: a target, trigger, UNIFIED period or streak becoming
achieved, a streak run broken, an activity enrolment, an achievement taken back. What does
not change emits nothing, so replays, duplicates, retries, recompute_progress and refreshes that
reach the same state announce nothing again; a rolled-back transaction takes its events with it.

The writer calls, in order: `user_targets`, `milestones`, `enrolments`, `streak` (per customer
and streak) and `flush`, which inserts the events (`write_events`)."""

import os
import uuid
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from operator import itemgetter

from django.conf import settings
from django.db import connection
from django.db.models import F

from targets.events.models import Event, EventType
from targets.models import MilestoneTrigger, Streak, TargetGroup, TargetPeriod, TargetRule, UserMilestone
from targets.outcomes import ACHIEVED, DROPPED, IN_PROGRESS, period_achieved_at
from targets.progress.evaluate import matches
from targets.progress.sql import insert_rows


def events_enabled() -> bool:
    return getattr(settings, "EVENTS_ENABLED", True)


# Columns of an event row, in the order `write_events` takes them.
EVENT_FIELDS = (
    "uuid",
    "type",
    "org",
    "user_id",
    "occurred_at",
    "emitted_at",
    "group_id",
    "group_name",
    "rule_id",
    "rule_name",
    "period_id",
    "period_ref_code",
    "trigger_id",
    "trigger_name",
    "streak_id",
    "streak_name",
    "achieved_value",
    "target_value",
    "activity_id",
    "revoked_type",
    "source",
)
_ORG = EVENT_FIELDS.index("org")


def write_events(rows: list[tuple]) -> None:
    """Insert event rows (EVENT_FIELDS order) in the caller's transaction (which must be one:
    the outbox commits or rolls back with the progress change). A write can announce
    thousands: on PostgreSQL they go as one COPY whose text this module formats itself
    (`_copy_events`), elsewhere through the engine's `insert_rows`.

    No lock: on PostgreSQL the rows get their feed positions after commit, from
    targets.events.sequencer. SQLite writes one transaction at a time, so there ids are in
    commit order and become the positions right away."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy_events(rows)
    else:
        insert_rows(Event, EVENT_FIELDS, rows)
        Event.objects.filter(position__isnull=True).update(position=F("id"))
    from targets.events.dispatch import events_written

    events_written({row[_ORG] for row in rows})


# COPY's text format: tab-separated, \N for NULL, backslash escapes in text.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"
_COPY_CHUNK = 2000  # rows per write to the COPY stream


def _copy_events(rows) -> None:
    quote = connection.ops.quote_name
    names = ", ".join(quote(Event._meta.get_field(name).column) for name in EVENT_FIELDS)
    sql = f"COPY {quote(Event._meta.db_table)} ({names}) FROM STDIN"
    line = _line_writer()
    # wrap_database_errors: a constraint violation is Django's IntegrityError, as from INSERT.
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.copy(sql) as copy:
        for start in range(0, len(rows), _COPY_CHUNK):
            copy.write("".join([line(row) for row in rows[start : start + _COPY_CHUNK]]))


def _line_writer():
    """A function giving an event row's line of COPY text. Field by field, the column types
    being known, and each distinct instant or name formatted once: through a driver's adapters
    (what `insert_rows` does) the Python work costs several times the server's for the row, and
    the engine writes ~10 events per activity, most of them naming the same few rules."""
    texts = {None: _NULL}

    def text(value):  # a name or an instant, escaped once
        found = texts.get(value)
        if found is None:
            found = texts[value] = (
                value.isoformat() if isinstance(value, datetime) else value.translate(_ESCAPES)
            )
        return found

    def number(value):
        return _NULL if value is None else str(value)

    def line(row) -> str:
        (uid, type, org, user, occurred, emitted, group, group_name, rule, rule_name, period) = row[:11]
        (ref_code, trigger, trigger_name, streak, streak_name, achieved, target, activity) = row[11:19]
        revoked, source = row[19:]
        return (
            "\t".join(
                (
                    str(uid),
                    type,
                    str(org),
                    str(user),
                    text(occurred),
                    text(emitted),
                    number(group),
                    text(group_name),
                    number(rule),
                    text(rule_name),
                    number(period),
                    text(ref_code),
                    number(trigger),
                    text(trigger_name),
                    number(streak),
                    text(streak_name),
                    number(achieved),
                    number(target),
                    number(activity),
                    revoked,
                    source,
                )
            )
            + "\n"
        )

    return line


class _Pending:
    """An event before its names are looked up."""

    __slots__ = ("fields", "type")

    def __init__(self, type, **fields):
        self.type, self.fields = type, fields


class EventRecorder:
    def __init__(self, *, groups, enrolled, now, activities):
        self.on = events_enabled()
        self.groups, self.enrolled, self.now, self.activities = groups, enrolled, now, activities
        self.pending: list[_Pending] = []
        self.desired = {}
        self.by_target_id = None
        self.targets = {}
        self.rules = None
        self.trigger_values = {}

    # --- hooks ---------------------------------------------------------------------------

    def user_targets(self, *, existing, desired, stale):
        """Before the user targets are written: `existing` {(customer, rule, period): row as
        stored}, `desired` {key: TargetState}, `stale` ids of rows about to be deleted."""
        if not self.on:
            return
        self.desired = desired
        rule_group = self._rule_group()
        unified = set()
        for key, state in desired.items():
            old = existing.get(key)
            was = old is not None and old.achieved_at is not None
            if state.achieved_at is not None and not was:
                self._target(
                    EventType.TARGET_ACHIEVED, key, state.value, state.achieved_at, state.achieved_by
                )
            elif state.achieved_at is None and was:
                self._target(EventType.ACHIEVEMENT_REVOKED, key, state.value, self.now, None)
            else:
                continue
            if rule_group[key[1]].tracking == "UNIFIED":
                unified.add((key[0], rule_group[key[1]].id, key[2]))
        if stale:
            gone = set(stale)
            stale_keys = {key for key, row in existing.items() if row.id in gone}
            for key in stale_keys:
                row = existing[key]
                if row.achieved_at is not None:
                    self._target(EventType.ACHIEVEMENT_REVOKED, key, row.achieved_value, self.now, None)
                    if rule_group[key[1]].tracking == "UNIFIED":
                        unified.add((key[0], rule_group[key[1]].id, key[2]))
            # Their milestones go with them (ON DELETE CASCADE): announce those too.
            key_of = {existing[key].id: key for key in stale_keys}
            for ut_id, trigger_id in UserMilestone.objects.filter(user_target_id__in=gone).values_list(
                "user_target_id", "trigger_id"
            ):
                self._milestone(EventType.ACHIEVEMENT_REVOKED, key_of[ut_id], trigger_id, None)
        else:
            stale_keys = set()
        for customer_id, group_id, period_id in sorted(unified):
            self._unified(customer_id, self.groups[group_id], period_id, existing, desired, stale_keys)

    def milestones(self, *, existing, wanted, targets):
        """Before the milestones are written: `existing` and `wanted` are keyed by
        (user target id, trigger id); `targets` {(customer, rule, period): row with its id}."""
        if not self.on:
            return
        self.targets = targets
        new = [key for key in wanted if key not in existing]
        gone = [key for key in existing if key not in wanted]
        if not new and not gone:
            return
        key_of = self._key_of_target()
        for ut_id, trigger_id in new:
            key = key_of[ut_id]
            self._milestone(EventType.MILESTONE_ACHIEVED, key, trigger_id, self.desired.get(key))
        for ut_id, trigger_id in gone:
            self._milestone(
                EventType.ACHIEVEMENT_REVOKED, key_of[ut_id], trigger_id, self.desired.get(key_of[ut_id])
            )

    def enrolments(self, *, created):
        """Activity enrolments about to be inserted: (org, group, customer, at, source) rows."""
        if not self.on:
            return
        for _org, group_id, customer_id, at, source in created:
            group = self.groups[group_id]
            mine = self.enrolled[customer_id].get(group_id)
            first = next(
                (
                    a
                    for source in self.activities
                    if source is not None
                    for a in source.get(customer_id, ())
                    if a.occurred_at == at and matches(group, a, mine)
                ),
                None,
            )
            self.pending.append(
                _Pending(
                    EventType.ENROLLED,
                    org_id=group.org_id,
                    user_id=customer_id,
                    group_id=group_id,
                    occurred_at=at,
                    activity_id=first.id if first else None,
                    source=source,
                )
            )

    def streak(self, *, customer_id, group, streak_id, needed, old, new, periods, outcomes):
        """Before a UserStreak is written: `old` the stored row (None: none), `new` the
        StreakState; `periods`/`outcomes` what the state was walked from."""
        if not self.on:
            return
        was = old.status if old is not None else None
        common = {
            "org_id": group.org_id,
            "user_id": customer_id,
            "group_id": group.id,
            "streak_id": streak_id,
        }
        if new.status == ACHIEVED and was != ACHIEVED:
            self.pending.append(
                _Pending(
                    EventType.STREAK_ACHIEVED,
                    **common,
                    occurred_at=new.achieved_at,
                    achieved_value=new.current_count,
                    target_value=needed,
                    activity_id=self._activity_of_target(new.achieved_user_target_id),
                )
            )
        elif was == ACHIEVED and new.status != ACHIEVED:
            self.pending.append(
                _Pending(
                    EventType.ACHIEVEMENT_REVOKED,
                    **common,
                    occurred_at=self.now,
                    achieved_value=new.current_count,
                    target_value=needed,
                    revoked_type=EventType.STREAK_ACHIEVED,
                )
            )
        elif was == IN_PROGRESS and (
            new.status == DROPPED or (new.status == IN_PROGRESS and new.current_count < old.current_count)
        ):
            # A run in progress was broken by a missed closed period (a new run may have started
            # since: fewer periods than before).
            self.pending.append(
                _Pending(
                    EventType.STREAK_DROPPED,
                    **common,
                    occurred_at=_dropped_at(periods, outcomes) or self.now,
                    achieved_value=old.current_count,
                    target_value=needed,
                )
            )

    def flush(self):
        if self.on and self.pending:
            # In event time; a customer's enrolment before what the same activity achieved.
            self.pending.sort(key=lambda p: (p.fields["occurred_at"], p.type != EventType.ENROLLED))
            write_events(resolve(self.pending, now=self.now))
        self.pending = []

    # --- helpers -------------------------------------------------------------------------

    def _rule_group(self):
        return {rule_id: group for rule_id, (group, _) in self._rule_all().items()}

    def _rule_all(self):
        if self.rules is None:
            self.rules = {r.id: (g, r) for g in self.groups.values() for r in g.rules}
        return self.rules

    def _key_of_target(self):
        if self.by_target_id is None:
            self.by_target_id = {row.id: key for key, row in self.targets.items()}
        return self.by_target_id

    def _activity_of_target(self, user_target_id):
        if user_target_id is None:
            return None
        key = self._key_of_target().get(user_target_id)
        state = self.desired.get(key) if key else None
        return state.achieved_by if state else None

    def _trigger_values(self, rule):
        values = self.trigger_values.get(rule.id)
        if values is None:
            values = self.trigger_values[rule.id] = dict(rule.triggers)
        return values

    def _rule(self, rule_id):
        return self._rule_all()[rule_id]

    def _target(self, type, key, value, at, activity_id):
        customer_id, rule_id, period_id = key
        group, rule = self._rule(rule_id)
        self.pending.append(
            _Pending(
                type,
                org_id=group.org_id,
                user_id=customer_id,
                group_id=group.id,
                rule_id=rule_id,
                period_id=period_id,
                occurred_at=at,
                achieved_value=value,
                target_value=group.target(rule, period_id),
                activity_id=activity_id,
                revoked_type=EventType.TARGET_ACHIEVED if type == EventType.ACHIEVEMENT_REVOKED else "",
            )
        )

    def _milestone(self, type, key, trigger_id, state):
        customer_id, rule_id, period_id = key
        group, rule = self._rule(rule_id)
        achieved = type == EventType.MILESTONE_ACHIEVED
        self.pending.append(
            _Pending(
                type,
                org_id=group.org_id,
                user_id=customer_id,
                group_id=group.id,
                rule_id=rule_id,
                period_id=period_id,
                trigger_id=trigger_id,
                occurred_at=state.milestones[trigger_id] if achieved else self.now,
                achieved_value=state.value if state else None,
                target_value=self._trigger_values(rule).get(trigger_id),
                activity_id=state.milestones_by.get(trigger_id) if achieved else None,
                revoked_type="" if achieved else EventType.MILESTONE_ACHIEVED,
            )
        )

    def _unified(self, customer_id, group, period_id, existing, desired, stale_keys):
        rules = group.active_rules
        keys = [(customer_id, r.id, period_id) for r in rules]

        def before(key):
            row = existing.get(key)
            return row.achieved_at if row is not None else None

        def after(key):
            if key in desired:
                return desired[key].achieved_at
            return None if key in stale_keys else before(key)

        was, now_at = period_achieved_at(before(k) for k in keys), period_achieved_at(after(k) for k in keys)
        common = {
            "org_id": group.org_id,
            "user_id": customer_id,
            "group_id": group.id,
            "period_id": period_id,
        }
        achieved = sum(1 for k in keys if after(k) is not None)
        if now_at is not None and was is None:
            completing = max((k for k in keys if k in desired), key=lambda k: desired[k].achieved_at)
            self.pending.append(
                _Pending(
                    EventType.UNIFIED_TARGET_ACHIEVED,
                    **common,
                    occurred_at=now_at,
                    achieved_value=achieved,
                    target_value=len(keys),
                    activity_id=desired[completing].achieved_by,
                )
            )
        elif was is not None and now_at is None:
            self.pending.append(
                _Pending(
                    EventType.ACHIEVEMENT_REVOKED,
                    **common,
                    occurred_at=self.now,
                    achieved_value=achieved,
                    target_value=len(keys),
                    revoked_type=EventType.UNIFIED_TARGET_ACHIEVED,
                )
            )


def _dropped_at(periods, outcomes):
    """The end of the last closed period that broke a run (the moment the streak dropped)."""
    count, at = 0, None
    # Periods ended before a streak reset have no outcome: the outcomes are the last periods.
    for period, outcome in zip(periods[len(periods) - len(outcomes) :], outcomes, strict=True):
        if outcome.achieved_at is not None:
            count += 1
        elif outcome.closed and count:
            count, at = 0, period.end
    return at


def _decimal(value):
    return None if value is None else Decimal(value)


_SUBJECTS = {
    "group_id": (TargetGroup, "name"),
    "rule_id": (TargetRule, "name"),
    "period_id": (TargetPeriod, "ref_code"),
    "trigger_id": (MilestoneTrigger, "trigger_name"),
    "streak_id": (Streak, "name"),
}
# What a pending event may leave out, with its default.
_DEFAULTS = dict.fromkeys((*_SUBJECTS, "achieved_value", "target_value", "activity_id"), None) | {
    "revoked_type": "",
    "source": "",
}
_FIELDS = itemgetter(
    "org_id",
    "user_id",
    "occurred_at",
    "group_id",
    "rule_id",
    "period_id",
    "trigger_id",
    "streak_id",
    "achieved_value",
    "target_value",
    "activity_id",
    "revoked_type",
    "source",
)


def new_uuids(count: int) -> list[str]:
    """`count` random (version 4) UUIDs as 32 hex digits, what uuid.uuid4() gives, from one
    read of the OS's random source: uuid4() builds an object per id, a third of what turning
    the engine's events into rows costs."""
    raw = bytearray(os.urandom(16 * count))
    for i in range(6, 16 * count, 16):
        raw[i] = raw[i] & 0x0F | 0x40  # version 4
        raw[i + 2] = raw[i + 2] & 0x3F | 0x80  # RFC 4122 variant
    text = raw.hex()
    return [text[i : i + 32] for i in range(0, 32 * count, 32)]


def resolve(pending: list[_Pending], *, now) -> list[tuple]:
    """Events with the names their subjects have now (one query per kind of subject named)."""
    wanted = defaultdict(set)
    for p in pending:
        for kind, value in p.fields.items():
            if kind in _SUBJECTS and value is not None:
                wanted[kind].add(value)
    names = {kind: {} for kind in _SUBJECTS}
    for kind, ids in wanted.items():
        model, field = _SUBJECTS[kind]
        names[kind] = dict(model.objects.filter(id__in=ids).values_list("id", field))
    groups, rules, periods, triggers, streaks = (names[kind] for kind in _SUBJECTS)
    ids = new_uuids(len(pending))
    rows = []
    for p, uid in zip(pending, ids, strict=True):
        org, user, at, group, rule, period, trigger, streak, achieved, target, activity, revoked, source = (
            _FIELDS({**_DEFAULTS, **p.fields})
        )
        rows.append(
            (
                uid,
                p.type,
                org,
                user,
                at,
                now,
                group,
                groups.get(group, ""),
                rule,
                rules.get(rule, ""),
                period,
                periods.get(period, ""),
                trigger,
                triggers.get(trigger, ""),
                streak,
                streaks.get(streak, ""),
                _decimal(achieved),
                _decimal(target),
                activity,
                revoked,
                source,
            )
        )
    return rows


def record_enrolments(*, type: str, group, customer_ids, now, source: str = "") -> None:
    """ENROLLED / UNENROLLED events of an enrol or unenrol call (targets.configuration), at `now`.
    The customers are locked first, as the engine locks them, so that a customer's events are
    written in the order their changes commit."""
    if not events_enabled() or not customer_ids:
        return
    from customers.models import Customer

    ids = sorted(customer_ids)
    list(Customer.objects.select_for_update().filter(id__in=ids).order_by("id").values_list("id"))
    write_events(
        [
            (uuid.uuid4(), type, group.org_id, customer_id, now, now, group.pk, group.name)
            + (None, "", None, "", None, "", None, "", None, None, None, "", source)
            for customer_id in ids
        ]
    )
