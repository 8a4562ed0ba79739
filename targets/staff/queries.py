"""Reads of the staff pages that the API's selector does not cover: which orgs a staff user may
read, customer search, and a program's participation aggregates.

A customer's progress is NOT read here: the customer page calls `targets.selectors.
user_target_groups`, the one read path the API uses too. Every function is a plain function
with keyword-only arguments and a fixed number of queries whatever the number of rows.
"""

from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Window,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber
from django.utils.functional import cached_property

from config.ids import MAX_LONG as MAX_ID
from config.ids import is_long_id
from customers.models import CommChannel, Customer, CustomerProfile, Org
from targets.models import (
    GroupEnrolment,
    PeriodTargetValue,
    Streak,
    StreakStatus,
    TargetGroup,
    TargetPeriod,
    TargetRule,
    UserStreak,
    UserTarget,
)
from targets.outcomes import achieving_rules
from targets.periods import contains

BUCKETS = 11  # 0–10 %, 10–20 %, …, 90–100 %, ≥ 100 %
LEADERBOARD_SIZE = 10


# --- scope ----------------------------------------------------------------------------------


def staff_orgs(*, user) -> dict[int, str]:
    """The orgs a staff user may read, id -> name, in one query: a superuser reads every org;
    anyone else the org of its Actor and that org's children (a child org reads only itself,
    a parent also its children). A user without an Actor reads nothing."""
    if not user.is_authenticated:
        return {}
    orgs = Org.objects.all()
    if not user.is_superuser:
        orgs = orgs.filter(Q(actors__user=user) | Q(parent__actors__user=user))
    return dict(orgs.order_by("id").values_list("id", "name").distinct())


# --- customer search ------------------------------------------------------------------------


MAX_SEARCH_WORDS = 8
MAX_SEARCH_WORD = 100
COUNT_CAP = 1000  # the result count shown is exact up to here, then "1,000+"


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _contains(column: str, term: str) -> str:
    """SQL: `column` contains the parameter's pattern, case-insensitively. On PostgreSQL the
    expression is UPPER(column), which the trigram indexes of migration customers 0003 serve for
    words of 3 characters or more; a shorter word has no trigram, so the index is left aside
    (`|| ''`) for a scan that a LIMIT can stop early."""
    if connection.vendor == "postgresql":
        expression = f"UPPER({column})" if len(term) >= 3 else f"(UPPER({column}) || '')"
        return f"{expression} LIKE UPPER(%s)"
    return f"{column} LIKE %s ESCAPE '\\'"


def id_prefix_ranges(term: str) -> list[tuple[int, int]]:
    """The userId ranges whose decimal writing starts with `term` (digits): "9" is 9, 90–99,
    900–999, … up to 19 digits. Index range scans, instead of `id::text LIKE '9%'` on every row."""
    if not (term.isascii() and term.isdigit()) or term.startswith("0") or len(term) > 19:
        return []
    ranges, number = [], int(term)
    for extra in range(0, 20 - len(term)):
        low = number * 10**extra
        if low > MAX_ID:
            break
        ranges.append((low, min(low + 10**extra - 1, MAX_ID)))
    return ranges


PROBE_LIMIT = 5000  # a word matching more customers than this is "broad"


def _probe_sql(term: str, org_ids) -> tuple[str, list]:
    """SQL: up to PROBE_LIMIT + 1 ids of the customers (of the orgs in scope) one search word
    matches — part of a first or last name or of a channel value (mobile, email, …),
    case-insensitive; a word of digits also the start of a userId. A UNION ALL of index-friendly
    parts under a LIMIT, not an OR across joins: on PostgreSQL each part is a trigram-index or
    primary-key range scan, and the scan stops at the limit."""
    profile, channel, customer = (
        CustomerProfile._meta.db_table,
        CommChannel._meta.db_table,
        Customer._meta.db_table,
    )
    orgs = list(org_ids)
    in_orgs = f"IN ({', '.join(['%s'] * len(orgs))})"
    pattern = _like_pattern(term)
    parts = [
        f"SELECT customer_id FROM {profile} WHERE org_id {in_orgs} AND {_contains('first_name', term)}",
        f"SELECT customer_id FROM {profile} WHERE org_id {in_orgs} AND {_contains('last_name', term)}",
        f"SELECT p.customer_id FROM {channel} c JOIN {profile} p ON p.id = c.profile_id "
        f"WHERE c.org_id {in_orgs} AND {_contains('c.value', term)}",
    ]
    params = [*orgs, pattern, *orgs, pattern, *orgs, pattern]
    for low, high in id_prefix_ranges(term):
        parts.append(f"SELECT id FROM {customer} WHERE id BETWEEN %s AND %s AND org_id {in_orgs}")
        params += [low, high, *orgs]
    union = " UNION ALL ".join(f"SELECT * FROM ({part}) AS part{n}" for n, part in enumerate(parts))
    return f"{union} LIMIT {PROBE_LIMIT + 1}", params


def _broad_condition(term: str):
    """The same match as `_probe_sql`, row by row: for a word that matches many customers, the
    database walks the customers in id order and stops as soon as the page and the bounded count
    are full. `OFFSET 0` keeps PostgreSQL from turning the EXISTS into a hashed subplan, which
    would compute every match first."""
    profile, channel, customer = (
        CustomerProfile._meta.db_table,
        CommChannel._meta.db_table,
        Customer._meta.db_table,
    )
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    outer = f'"{customer}"."id"'
    pattern = _like_pattern(term)
    parts = [
        f"EXISTS (SELECT 1 FROM {profile} p WHERE p.customer_id = {outer} AND "
        f"({_contains('p.first_name', term)} OR {_contains('p.last_name', term)}){fence})",
        f"EXISTS (SELECT 1 FROM {channel} c JOIN {profile} p ON p.id = c.profile_id "
        f"WHERE p.customer_id = {outer} AND {_contains('c.value', term)}{fence})",
    ]
    params = [pattern, pattern, pattern]
    for low, high in id_prefix_ranges(term):
        parts.append(f"{outer} BETWEEN %s AND %s")
        params += [low, high]
    return RawSQL("(" + " OR ".join(parts) + ")", params, output_field=BooleanField())


def search_words(q: str) -> list[str]:
    """The words of a search: at most MAX_SEARCH_WORDS, each at most MAX_SEARCH_WORD long, NUL
    characters dropped (PostgreSQL cannot compare text with NUL)."""
    return [word[:MAX_SEARCH_WORD] for word in q.replace("\x00", "").split()[:MAX_SEARCH_WORDS]]


def search_customers(*, org_ids, q: str = ""):
    """Customers of the orgs in scope matching every word of `q` (all of them when `q` is
    empty), by id. A queryset: the caller paginates it with BoundedPaginator.

    Bounded work per word, whatever the number of customers (figures in docs/security.md): each
    word is first probed for at most PROBE_LIMIT + 1 matching ids (index scans under a LIMIT).
    A word with no match ends the search; a selective word becomes `id IN (its ids)`; a broad one
    a row-by-row condition the database checks only until the page and the bounded count are
    full. Longer words are probed first (they are the selective ones)."""
    customers = Customer.objects.filter(org_id__in=org_ids)
    for term in sorted(search_words(q), key=len, reverse=True):
        sql, params = _probe_sql(term, org_ids)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            ids = {row[0] for row in cursor.fetchall()}
        if not ids:
            return customers.none()
        if len(ids) <= PROBE_LIMIT:
            customers = customers.filter(id__in=sorted(ids))
        else:
            customers = customers.filter(_broad_condition(term))
    return customers.order_by("id")


class BoundedPaginator(Paginator):
    """A paginator whose count stops at COUNT_CAP + 1 (`SELECT COUNT(*) FROM (… LIMIT 1001)`):
    pages beyond the first thousand matches are not offered; `capped` says the count is a
    lower bound ("1,000+")."""

    @cached_property
    def count(self):
        return self.object_list[: COUNT_CAP + 1].count()

    @property
    def capped(self):
        return self.count > COUNT_CAP


@dataclass
class CustomerRow:
    id: int
    org_id: int
    lifetime_purchases: object
    name: str = ""
    channels: list = field(default_factory=list)  # [(type, value, primary, verified)]
    active_programs: int = 0
    org_name: str = ""
    lifetime_text: str = ""


def customer_rows(*, customers, org_ids) -> list[CustomerRow]:
    """One page of search results with names, channels and the number of active programs each
    customer is associated with, in four queries whatever the page size."""
    rows = {
        cid: CustomerRow(cid, org_id, lifetime)
        for cid, org_id, lifetime in customers.values_list("id", "org_id", "lifetime_purchases")
    }
    if not rows:
        return []
    for cid, first, last, ctype, value, primary, verified in (
        CustomerProfile.objects.filter(customer_id__in=rows)
        .order_by("customer_id", "id", "channels__id")
        .values_list(
            "customer_id",
            "first_name",
            "last_name",
            "channels__type",
            "channels__value",
            "channels__primary",
            "channels__verified",
        )
    ):
        row = rows[cid]
        if not row.name:
            row.name = f"{first} {last}".strip()
        if value is not None:
            row.channels.append((ctype, value, primary, verified))
    counts = active_program_counts(customers={cid: row.org_id for cid, row in rows.items()}, org_ids=org_ids)
    names = org_ids if isinstance(org_ids, dict) else {}
    for cid, row in rows.items():
        row.active_programs = counts.get(cid, 0)
        row.org_name = names.get(row.org_id, "")
    return list(rows.values())


def active_program_counts(*, customers: dict[int, int], org_ids) -> dict[int, int]:
    """customer id -> number of active groups of the orgs in scope it is associated with
    (`TargetGroup.objects.associated_with`), in one query. `customers` maps customer id -> org id."""
    groups = (
        TargetGroup.objects.filter(org_id__in=org_ids, active=True)
        .associated_with(customer_id=OuterRef("id"), org_id=OuterRef("org_id"))
        .order_by()
        .annotate(n=Func(F("id"), function="COUNT"))
        .values("n")
    )
    return dict(
        Customer.objects.filter(id__in=customers)
        .annotate(n=Subquery(groups, output_field=IntegerField()))
        .values_list("id", "n")
    )


def customer_org(*, customer_id: int, org_ids) -> tuple[int, str] | None:
    """The customer's org id and its timezone when it is in scope, else None."""
    if not is_long_id(customer_id):
        return None
    return (
        Customer.objects.filter(id=customer_id, org_id__in=org_ids)
        .values_list("org_id", "org__timezone")
        .first()
    )


def group_labels(*, group_ids) -> dict[int, dict]:
    """What the customer page shows about each group beside the selector's data (which does not
    carry these): whether it is active, its description, enrolment and frequency, its window and
    its org's timezone (`zone`)."""
    return {
        row["id"]: row
        for row in TargetGroup.objects.filter(id__in=group_ids).values(
            "id",
            "active",
            "description",
            "enrolment",
            "frequency_type",
            "frequency",
            "start",
            "end",
            zone=F("org__timezone"),
        )
    }


# --- programs -------------------------------------------------------------------------------


def programs(*, org_ids):
    """The groups of the orgs in scope, by id (a queryset: the caller paginates)."""
    return (
        TargetGroup.objects.filter(org_id__in=org_ids)
        .order_by("-active", "id")
        .values(
            "id",
            "name",
            "org_id",
            "active",
            "target_evaluation_type",
            "tracking_type",
            "frequency_type",
            "start",
            "end",
            zone=F("org__timezone"),
        )
    )


@dataclass
class PeriodStats:
    sequence: int
    ref_code: str = ""
    start: datetime | None = None
    end: datetime | None = None
    current: bool = False
    participants: int = 0
    achieved: int = 0
    buckets: list = field(default_factory=lambda: [0] * BUCKETS)

    @property
    def rate(self):
        return round(100 * self.achieved / self.participants, 1) if self.participants else None


@dataclass
class ProgramOverview:
    group: dict
    rules: list
    streaks: list
    periods: list  # PeriodStats by sequence
    associated: int  # customers associated with the group
    leaderboard: dict  # rule id -> [(rank, customer id, name, total value, achieved periods)]


def _bucket_case(progress: str) -> str:
    """SQL: the histogram bucket of a progress ratio (0..1+), 10 for ≥ 100 %."""
    whens = " ".join(f"WHEN {progress} >= {b / 10} THEN {b}" for b in range(BUCKETS - 1, 0, -1))
    return f"CASE {whens} ELSE 0 END"


def period_distribution(*, group_id: int, org_id: int, rule_ids: list[int]):
    """Per period sequence and progress bucket: the number of customers, and how many of them
    achieved the period, in one aggregate query.

    Only the group's achieving rules count, `rule_ids` (`targets.outcomes.achieving_rules`: the
    active ones): a customer achieved a period when it achieved every one of them, as the API and the
    engine decide it (`period_achievement`), and its progress is the smallest ratio achieved /
    target over them (a rule without a row counts 0); for one-rule groups simply that rule's
    ratio. Targets honour the per-period overrides. Periods are matched by sequence so that
    CYCLIC groups, whose periods belong to each customer, aggregate their n-th cycles together."""
    if not rule_ids:
        return []  # nothing to achieve, no progress to show
    ut = UserTarget._meta.db_table
    period = TargetPeriod._meta.db_table
    rule = TargetRule._meta.db_table
    override = PeriodTargetValue._meta.db_table
    sql = f"""
        WITH progress AS (
            SELECT p.sequence AS seq, u.customer_id AS customer_id,
                   COUNT(*) AS n_rows,
                   SUM(CASE WHEN u.achieved_at IS NOT NULL THEN 1 ELSE 0 END) AS n_done,
                   MIN(u.achieved_value * 1.0 / COALESCE(v.target_value, r.target_value)) AS ratio
            FROM {ut} u
            JOIN {rule} r ON r.id = u.rule_id
            JOIN {period} p ON p.id = u.period_id
            LEFT JOIN {override} v ON v.rule_id = u.rule_id AND v.period_id = u.period_id
            WHERE u.org_id = %s AND r.group_id = %s AND r.id IN ({", ".join(["%s"] * len(rule_ids))})
            GROUP BY p.sequence, u.customer_id
        ), scored AS (
            SELECT seq,
                   CASE WHEN n_done >= %s THEN 1 ELSE 0 END AS achieved,
                   CASE WHEN n_rows < %s THEN 0.0 ELSE ratio END AS ratio
            FROM progress
        )
        SELECT seq,
               CASE WHEN achieved = 1 THEN {BUCKETS - 1} ELSE {_bucket_case("ratio")} END AS bucket,
               COUNT(*), SUM(achieved)
        FROM scored
        GROUP BY 1, 2
        ORDER BY 1, 2
    """
    n = len(rule_ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, [org_id, group_id, *rule_ids, n, n])
        return cursor.fetchall()


def program_overview(*, group_id: int, org_ids, now: datetime) -> ProgramOverview | None:
    """Everything the program page shows, or None when the group is not in the orgs in scope.
    Nine queries whatever the number of customers: sums and counts are done by the database."""
    group = (
        TargetGroup.objects.filter(id=group_id, org_id__in=org_ids)
        .values(
            "id",
            "name",
            "description",
            "org_id",
            "org__name",
            "active",
            "target_evaluation_type",
            "tracking_type",
            "enrolment",
            "frequency_type",
            "frequency",
            "total_periods",
            "start",
            "end",
            "preferred_till__name",
            "preferred_till__code",
            "created_on",
            "created_by__name",
            "last_updated_on",
            "last_updated_by__name",
        )
        .first()
    )
    if group is None:
        return None
    org_id = group["org_id"]

    rules = {}
    for rid, name, active, entity, event, ttype, attribute, value, tname, tvalue in (
        TargetRule.objects.filter(group_id=group_id)
        .order_by("id", "triggers__trigger_value", "triggers__id")
        .values_list(
            "id",
            "name",
            "active",
            "target_entity",
            "event_name",
            "target_type",
            "attribute",
            "target_value",
            "triggers__trigger_name",
            "triggers__trigger_value",
        )
    ):
        rule = rules.setdefault(
            rid,
            {
                "id": rid,
                "name": name,
                "active": active,
                "target_entity": entity,
                "event_name": event,
                "target_type": ttype,
                "attribute": attribute,
                "target_value": value,
                "triggers": [],
            },
        )
        if tname is not None:
            rule["triggers"].append((tname, tvalue))

    periods = {
        seq: PeriodStats(seq, ref, start, end, current=contains(start, end, now))
        for seq, ref, start, end in TargetPeriod.objects.filter(group_id=group_id, customer__isnull=True)
        .order_by("sequence")
        .values_list("sequence", "ref_code", "start", "end")
    }
    if group["target_evaluation_type"] != "FIXED_CALENDAR_WINDOW":
        for stats in periods.values():
            stats.current = False  # no shared calendar: each customer has its own current period
    achieving = [r.id for r in achieving_rules(SimpleNamespace(**rule) for rule in rules.values())]
    for seq, bucket, count, achieved in period_distribution(
        group_id=group_id, org_id=org_id, rule_ids=achieving
    ):
        stats = periods.get(seq) or periods.setdefault(seq, PeriodStats(seq))
        stats.buckets[bucket] += count
        stats.participants += count
        stats.achieved += achieved or 0
    for seq in range(1, (group["total_periods"] or 0) + 1):
        periods.setdefault(seq, PeriodStats(seq))

    streaks = [
        {"id": sid, "name": name, "needed": needed, "continuous": continuous, "counts": {}}
        for sid, name, needed, continuous in Streak.objects.filter(group_id=group_id)
        .order_by("id")
        .values_list("id", "name", "target_count_of_sequence", "continuous")
    ]
    covered = TargetGroup.objects.filter(id=group_id).associated_with(
        customer_id=OuterRef("id"), org_id=OuterRef("org_id")
    )
    # The first filter only narrows the rows to test (customers of the group's org or enrolled
    # in it) so that the rule, `associated_with`, is not evaluated for every customer.
    associated = (
        Customer.objects.filter(
            Q(org_id=org_id)
            | Q(id__in=GroupEnrolment.objects.filter(group_id=group_id).values("customer_id"))
        )
        .filter(Exists(covered))
        .count()
    )
    if streaks:
        counts = {}
        for sid, status, n in (
            UserStreak.objects.filter(org_id=org_id, streak__group_id=group_id)
            .values("streak_id", "status")
            .annotate(n=Count("id"))
            .values_list("streak_id", "status", "n")
        ):
            counts.setdefault(sid, {})[status] = n
        for streak in streaks:
            mine = counts.get(streak["id"], {})
            without_row = associated - sum(mine.values())
            streak["counts"] = {
                status: mine.get(status, 0)
                + (max(without_row, 0) if status == StreakStatus.NOT_STARTED else 0)
                for status in StreakStatus.values
            }

    return ProgramOverview(
        group=group,
        rules=list(rules.values()),
        streaks=streaks,
        periods=[periods[seq] for seq in sorted(periods)],
        associated=associated,
        leaderboard=leaderboard(group_id=group_id, org_id=org_id),
    )


def leaderboard(*, group_id: int, org_id: int, size: int = LEADERBOARD_SIZE) -> dict:
    """Per rule, the customers with the highest achieved value summed over the group's periods
    (ties: more achieved periods, then the smaller userId), top `size`; two queries."""
    ranked = (
        UserTarget.objects.filter(org_id=org_id, rule__group_id=group_id)
        .values("rule_id", "customer_id")
        .annotate(
            total=Sum("achieved_value"),
            achieved=Count("id", filter=Q(achieved_at__isnull=False)),
        )
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("rule_id")],
                order_by=[F("total").desc(), F("achieved").desc(), F("customer_id").asc()],
            )
        )
        .filter(rank__lte=size)
        .order_by("rule_id", "rank")
    )
    rows = list(ranked.values_list("rule_id", "rank", "customer_id", "total", "achieved"))
    names = {}
    for cid, first, last in (
        CustomerProfile.objects.filter(customer_id__in={row[2] for row in rows})
        .order_by("customer_id", "id")
        .values_list("customer_id", "first_name", "last_name")
    ):
        names.setdefault(cid, f"{first} {last}".strip())
    board = {}
    for rule_id, rank, cid, total, achieved in rows:
        board.setdefault(rule_id, []).append((rank, cid, names.get(cid, ""), total, achieved))
    return board
