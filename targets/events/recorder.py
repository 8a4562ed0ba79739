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


# A pending event is a tuple, in this order: what the hooks build for each of the tens of
# thousands of events a large write can announce (a dict and an object per event cost about as
# much as the event's row on the server). `pending_event` builds one by keyword.
(AT, NOT_ENROLLED, TYPE, ORG, USER, GROUP, RULE, PERIOD, TRIGGER, STREAK) = range(10)
(ACHIEVED_VALUE, TARGET_VALUE, ACTIVITY, REVOKED_TYPE, SOURCE) = range(10, 15)
SUBJECTS = slice(GROUP, STREAK + 1)
# Event time; at the same instant a customer's enrolment before what that activity achieved.
EVENT_ORDER = itemgetter(AT, NOT_ENROLLED)

_ENROLLED = EventType.ENROLLED.value
_MILESTONE = EventType.MILESTONE_ACHIEVED.value
_REVOKED = EventType.ACHIEVEMENT_REVOKED.value


def pending_event(
    type,
    *,
    org_id,
    user_id,
    occurred_at,
    group_id=None,
    rule_id=None,
    period_id=None,
    trigger_id=None,
    streak_id=None,
    achieved_value=None,
    target_value=None,
    activity_id=None,
    revoked_type="",
    source="",
) -> tuple:
    type = str(type)
    return (
        occurred_at,
        type != _ENROLLED,
        type,
        org_id,
        user_id,
        group_id,
        rule_id,
        period_id,
        trigger_id,
        streak_id,
        achieved_value,
        target_value,
        activity_id,
        str(revoked_type),
        source,
    )


def write_events(pending: list[tuple], *, now) -> None:
    """Insert pending events (in their order, emitted at `now`) in the caller's transaction
    (which must be one: the outbox commits or rolls back with the progress change), with the
    names their subjects have now. A write can announce thousands: on PostgreSQL they go as
    one COPY whose text this module formats itself (`_copy_events`), elsewhere through the
    engine's `insert_rows`.

    No lock: on PostgreSQL the rows get their feed positions after commit, from
    targets.events.sequencer. SQLite writes one transaction at a time, so there ids are in
    commit order and become the positions right away."""
    if not pending:
        return
    subjects = {p[SUBJECTS] for p in pending}  # a few hundred in a write of thousands
    names = _names(subjects)
    uuids = new_uuids(len(pending))
    if connection.vendor == "postgresql":
        _copy_events(
            pending, subjects={key: _subject_text(key, names) for key in subjects}, uuids=uuids, now=now
        )
    else:
        insert_rows(Event, EVENT_FIELDS, _rows(pending, names=names, uuids=uuids, now=now))
        Event.objects.filter(position__isnull=True).update(position=F("id"))
    from targets.events.dispatch import events_written

    events_written({p[ORG] for p in pending})


_SUBJECT_NAMES = (
    (TargetGroup, "name"),
    (TargetRule, "name"),
    (TargetPeriod, "ref_code"),
    (MilestoneTrigger, "trigger_name"),
    (Streak, "name"),
)


def _names(subjects) -> list[dict]:
    """{id: name} of each kind of subject (group … streak) named in `subjects` (distinct
    SUBJECTS of events): one query per kind, its ids bound as one array (a write names
    hundreds of CYCLIC periods)."""
    found = []
    for column, (model, field) in enumerate(_SUBJECT_NAMES):
        ids = [id for id in {key[column] for key in subjects} if id is not None]
        found.append(dict(model.objects.filter(id__any=ids).values_list("id", field)) if ids else {})
    return found


def _rows(pending, *, names, uuids, now) -> list[tuple]:
    """Event rows in EVENT_FIELDS order."""
    groups, rules, periods, triggers, streaks = names
    return [
        (
            uid,
            p[TYPE],
            p[ORG],
            p[USER],
            p[AT],
            now,
            p[GROUP],
            groups.get(p[GROUP], ""),
            p[RULE],
            rules.get(p[RULE], ""),
            p[PERIOD],
            periods.get(p[PERIOD], ""),
            p[TRIGGER],
            triggers.get(p[TRIGGER], ""),
            p[STREAK],
            streaks.get(p[STREAK], ""),
            _decimal(p[ACHIEVED_VALUE]),
            _decimal(p[TARGET_VALUE]),
            p[ACTIVITY],
            p[REVOKED_TYPE],
            p[SOURCE],
        )
        for p, uid in zip(pending, uuids, strict=True)
    ]


# COPY's text format: tab-separated, \N for NULL, backslash escapes in text.
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"
_COPY_CHUNK = 2000  # rows per write to the COPY stream


def _copy_events(pending, *, subjects, uuids, now) -> None:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(Event._meta.get_field(name).column) for name in EVENT_FIELDS)
    sql = f"COPY {quote(Event._meta.db_table)} ({columns}) FROM STDIN"
    lines = _copy_lines(pending, subjects=subjects, uuids=uuids, now=now)
    # wrap_database_errors: a constraint violation is Django's IntegrityError, as from INSERT.
    with connection.cursor() as cursor, connection.wrap_database_errors, cursor.copy(sql) as copy:
        for start in range(0, len(lines), _COPY_CHUNK):
            copy.write("".join(lines[start : start + _COPY_CHUNK]))


def _copy_lines(pending, *, subjects, uuids, now) -> list[str]:
    """A line of COPY text per event, by one f-string. The column types are known, and what
    repeats is formatted once per write: the ten subject columns (ids and escaped names) per
    distinct (group, rule, period, trigger, streak) — `subjects` — and each instant. Through a
    driver's adapters (what `insert_rows` does) the Python work costs several times the
    server's for the row, and the engine writes ~10 events per activity, most of them naming
    the same few rules and periods."""
    emitted = now.isoformat()
    instants = {}

    def instant(at):  # occurred_at and emitted_at
        text = instants[at] = f"{at.isoformat()}\t{emitted}"
        return text

    known, null = instants.get, _NULL
    return [
        f"{uid}\t{p[TYPE]}\t{p[ORG]}\t{p[USER]}\t{known(p[AT]) or instant(p[AT])}\t{subjects[p[SUBJECTS]]}"
        f"\t{null if p[ACHIEVED_VALUE] is None else str(p[ACHIEVED_VALUE])}"
        f"\t{null if p[TARGET_VALUE] is None else str(p[TARGET_VALUE])}"
        f"\t{null if p[ACTIVITY] is None else p[ACTIVITY]}\t{p[REVOKED_TYPE]}\t{p[SOURCE]}\n"
        for p, uid in zip(pending, uuids, strict=True)
    ]


def _subject_text(key, names) -> str:
    """The ten subject columns of COPY text: each id (\\N: none) and its escaped name."""
    parts = []
    for value, found in zip(key, names, strict=True):
        if value is None:
            parts += (_NULL, "")
        else:
            parts += (str(value), found.get(value, "").translate(_ESCAPES))
    return "\t".join(parts)


class EventRecorder:
    def __init__(self, *, groups, enrolled, now, activities):
        self.on = events_enabled()
        self.groups, self.enrolled, self.now, self.activities = groups, enrolled, now, activities
        self.pending: list[tuple] = []  # pending_event tuples
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
                self._revoke_milestone(key_of[ut_id], trigger_id, None)
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
        rules, desired, append = self._rule_all(), self.desired, self.pending.append
        # Inline: most of a large write's events are these.
        for ut_id, trigger_id in new:
            key = key_of[ut_id]
            customer_id, rule_id, period_id = key
            group, rule = rules[rule_id]
            state = desired[key]
            append(
                (
                    state.milestones[trigger_id],
                    True,
                    _MILESTONE,
                    group.org_id,
                    customer_id,
                    group.id,
                    rule_id,
                    period_id,
                    trigger_id,
                    None,
                    state.value,
                    self._trigger_values(rule).get(trigger_id),
                    state.milestones_by.get(trigger_id),
                    "",
                    "",
                )
            )
        for ut_id, trigger_id in gone:
            self._revoke_milestone(key_of[ut_id], trigger_id, self.desired.get(key_of[ut_id]))

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
                pending_event(
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
                pending_event(
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
                pending_event(
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
                pending_event(
                    EventType.STREAK_DROPPED,
                    **common,
                    occurred_at=_dropped_at(periods, outcomes) or self.now,
                    achieved_value=old.current_count,
                    target_value=needed,
                )
            )

    def flush(self):
        if self.on and self.pending:
            self.pending.sort(key=EVENT_ORDER)
            write_events(self.pending, now=self.now)
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
            pending_event(
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

    def _revoke_milestone(self, key, trigger_id, state):
        customer_id, rule_id, period_id = key
        group, rule = self._rule(rule_id)
        self.pending.append(
            pending_event(
                _REVOKED,
                org_id=group.org_id,
                user_id=customer_id,
                group_id=group.id,
                rule_id=rule_id,
                period_id=period_id,
                trigger_id=trigger_id,
                occurred_at=self.now,
                achieved_value=state.value if state else None,
                target_value=self._trigger_values(rule).get(trigger_id),
                revoked_type=_MILESTONE,
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
                pending_event(
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
                pending_event(
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
            pending_event(
                type,
                org_id=group.org_id,
                user_id=customer_id,
                occurred_at=now,
                group_id=group.pk,
                source=source,
            )
            for customer_id in ids
        ],
        now=now,
    )
