"""SPEC §6 program page: configuration, participation per period (participants, achieved,
rate), the distribution of progress as a server-rendered SVG histogram, a leaderboard, streak
status counts; the cost does not grow with the number of customers."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from targets.models import PeriodTargetValue, TargetPeriod, UserStreak
from tests.factories import (
    CustomerFactory,
    GroupFactory,
    ProfileFactory,
    RuleFactory,
    UserTargetFactory,
    group_with_periods,
)
from tests.staff.html import parse


def program(client, group, **params):
    group_id = group if isinstance(group, int) else group.id
    response = client.get(f"/staff/programs/{group_id}/", params)
    assert response.status_code == 200, response.content[:500]
    return response, parse(response.content)


def participation(doc):
    """Period -> (participants, achieved, rate) as the table shows them."""
    table = doc.find("table", id="participation")
    out = {}
    for tr in table.find("tbody").find_all("tr"):
        cells = {td.attrs["data-label"]: td.text() for td in tr.find_all("td")}
        period = tr.find("th").text().replace(" current", "")
        out[period] = (int(cells["Participants"]), int(cells["Achieved"]), cells["Rate"])
    return out


def histogram(doc):
    svg = doc.find("svg", cls="histogram")
    return [int(rect.attrs["data-count"]) for rect in svg.find_all("rect", cls="hbar")]


def progress(customer, rule, period, value, *, achieved=None):
    return UserTargetFactory(
        customer=customer,
        rule=rule,
        period=period,
        achieved_value=Decimal(value),
        achieved_at=achieved,
    )


def test_the_demo_program_shows_its_configuration_and_participation(staff_client):
    response, doc = program(staff_client("staff50363"), 53230)  # t1Fixed
    config = doc.find("section", cls="card").text()
    for fact in (
        "Fixed calendar periods",  # people's words for FIXED_CALENDAR_WINDOW
        "One target",
        "All customers of the org",
        "Frequency Daily",
        # money with two decimals
        "Gross sales (money) on transactions (TransactionAdd), target 1,000.00 per period",
        "Window (UTC) 26 Aug 2024, 00:00 UTC – 30 Aug 2024, 23:59 UTC",  # the org's zone, named
    ):
        assert fact in config
    periods = participation(doc)
    assert periods["Cycle_2"] == (1, 1, "100.0%")
    assert periods["Cycle_1"] == (0, 0, "—")
    assert doc.find("tr", aria_current="true").find("th").text() == "Cycle_5 current"


def test_participants_achievers_rate_and_histogram_per_period(org_staff):
    org, client = org_staff()
    group = group_with_periods(org=org, periods=2, name="Spend 1000")
    rule = group.rules.get()
    first, second = group.periods.order_by("sequence")
    # Ten customers in period 1 with 0, 50, 150, …, 950 and three above the target of 1,000.
    values = ["0", "50", "150", "250", "350", "450", "999.999", "1000", "1200", "5000"]
    for value in values:
        achieved = first.start + timedelta(hours=1) if Decimal(value) >= 1000 else None
        progress(CustomerFactory(org=org), rule, first, value, achieved=achieved)
    progress(CustomerFactory(org=org), rule, second, "100")

    _, doc = program(client, group, period=1)
    assert participation(doc) == {"Cycle_1": (10, 3, "30.0%"), "Cycle_2": (1, 0, "0.0%")}
    # Buckets of 10 %: 0 and 50 in the first, 150 in the second, … 999.999 in 90–100 %,
    # and the three achievers in ≥ 100 %.
    assert histogram(doc) == [2, 1, 1, 1, 1, 0, 0, 0, 0, 1, 3]
    svg = doc.find("svg", cls="histogram")
    assert svg.attrs["role"] == "img"
    assert "≥100%: 3" in svg.find("desc").text()

    _, doc = program(client, group, period=2)
    assert histogram(doc) == [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]


def test_a_unified_program_counts_a_period_achieved_only_when_every_target_is(org_staff):
    org, client = org_staff()
    group = group_with_periods(
        org=org,
        periods=1,
        tracking_type="UNIFIED",
        rule_kwargs=[{"name": "Spend", "target_value": Decimal("100")}, {"name": "Visit", "target_value": 4}],
    )
    spend, visit = group.rules.order_by("id")
    period = group.periods.get()
    done = period.start + timedelta(hours=1)
    both = CustomerFactory(org=org)
    progress(both, spend, period, "100", achieved=done)
    progress(both, visit, period, "4", achieved=done)
    one = CustomerFactory(org=org)  # spend done, visits at 3 of 4: 75 % overall
    progress(one, spend, period, "150", achieved=done)
    progress(one, visit, period, "3")
    only_spend = CustomerFactory(org=org)  # no row for visits: 0 %
    progress(only_spend, spend, period, "100", achieved=done)

    _, doc = program(client, group)
    assert participation(doc)["Cycle_1"] == (3, 1, "33.3%")
    assert histogram(doc) == [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1]


def test_per_period_target_overrides_are_honoured(org_staff):
    org, client = org_staff()
    group = group_with_periods(org=org, periods=1)
    rule, period = group.rules.get(), group.periods.get()
    PeriodTargetValue.objects.create(org=org, rule=rule, period=period, target_value=Decimal("200"))
    progress(CustomerFactory(org=org), rule, period, "150")  # 75 % of 200, not 15 % of 1,000
    _, doc = program(client, group)
    assert histogram(doc) == [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]


def test_cyclic_programs_add_up_every_customers_nth_cycle(org_staff):
    org, client = org_staff()
    group = GroupFactory(org=org, target_evaluation_type="CYCLIC_WINDOW", total_periods=2)
    rule = RuleFactory(group=group)
    for n, start_day in enumerate((1, 5)):
        customer = CustomerFactory(org=org)
        start = group.start + timedelta(days=start_day)
        cycles = [
            TargetPeriod.objects.create(
                org=org,
                group=group,
                customer=customer,
                sequence=seq,
                ref_code=f"C_{customer.id}_{seq}",
                start=start + timedelta(days=7 * (seq - 1)),
                end=start + timedelta(days=7 * seq),
            )
            for seq in (1, 2)
        ]
        progress(customer, rule, cycles[0], "1000", achieved=cycles[0].start + timedelta(hours=1))
        if n == 0:
            progress(customer, rule, cycles[1], "500")
    _, doc = program(client, group)
    rows = participation(doc)
    assert list(rows.values()) == [(2, 2, "100.0%"), (1, 0, "0.0%")]


def test_the_leaderboard_lists_the_top_ten_by_achieved_value(org_staff):
    org, client = org_staff()
    group = group_with_periods(org=org, periods=2, name="Board")
    rule = group.rules.get()
    first, second = group.periods.order_by("sequence")
    customers = []
    for n in range(12):
        customer = CustomerFactory(org=org)
        ProfileFactory(customer=customer, first_name="Player", last_name=f"No{n}")
        progress(customer, rule, first, str(100 * n))
        customers.append(customer)
    progress(customers[0], rule, second, "5000")  # 0 + 5,000 across the periods: first place

    response, doc = program(client, group)
    board = doc.find("ol", cls="leaderboard").find_all("li")
    assert len(board) == 10
    expected = [customers[0]] + customers[11:2:-1]  # then 1,100, 1,000, … 300
    assert [li.find("a").attrs["href"] for li in board] == [f"/staff/customers/{c.id}/" for c in expected]
    assert "Player No0" in board[0].text() and "5,000" in board[0].text()
    assert "1,100" in board[1].text()


def test_streak_status_counts_include_associated_customers_without_a_streak_yet(org_staff):
    org, client = org_staff()
    group = group_with_periods(org=org, periods=4, tracking_type="STREAKS", streaks=(2,))
    streak = group.streaks.get()
    statuses = ["ACHIEVED", "ACHIEVED", "IN_PROGRESS", "DROPPED"]
    for status in statuses:
        UserStreak.objects.create(
            org=org, customer=CustomerFactory(org=org), streak=streak, status=status, current_count=1
        )
    CustomerFactory.create_batch(3, org=org)  # associated (ALL_CUSTOMERS), nothing yet
    _, doc = program(client, group)
    row = doc.find("table", id="streak-counts").find("tbody").find("tr")
    cells = {td.attrs["data-label"]: int(td.text()) for td in row.find_all("td")}
    assert cells == {"Not started": 3, "In progress": 1, "Achieved": 2, "Dropped": 1}


@pytest.mark.parametrize("tracking", ["DEFAULT", "STREAKS"])
def test_the_program_page_costs_the_same_queries_for_3_and_30_participants(org_staff, tracking):
    org, client = org_staff()
    counts = []
    for participants in (3, 30):
        group = group_with_periods(
            org=org, periods=3, tracking_type=tracking, streaks=(2,) if tracking == "STREAKS" else ()
        )
        rule = group.rules.get()
        periods = list(group.periods.order_by("sequence"))
        for n in range(participants):
            customer = CustomerFactory(org=org)
            ProfileFactory(customer=customer)
            for period in periods[: 1 + n % 3]:
                progress(customer, rule, period, str(100 * n))
            if tracking == "STREAKS":
                UserStreak.objects.create(org=org, customer=customer, streak=group.streaks.get())
        with CaptureQueriesContext(connection) as ctx:
            response, doc = program(client, group)
        assert sum(int(r.attrs["data-count"]) for r in doc.find_all("rect", cls="hbar")) > 0
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_achieved_counts_only_active_rules_as_the_api_does(org_staff, client_for, settings):
    """A group with a retired (inactive) rule: a period is achieved when every ACTIVE rule is.
    The program page counts the same achieved periods as the API's streak for that customer."""
    from tests.support import PASSWORD, READ, api_user, body

    org, client = org_staff()
    settings.TARGETS_NOW = "2024-08-01T12:00:00Z"  # after the three periods
    group = group_with_periods(
        org=org,
        periods=3,
        tracking_type="NON_CONTINUOUS_STREAK",
        streaks=(3,),
        rule_kwargs=[{"name": "Spend"}, {"name": "Retired", "active": False}],
    )
    spend = group.rules.get(name="Spend")
    retired = group.rules.get(name="Retired")
    first, second, third = group.periods.order_by("sequence")
    customer = CustomerFactory(org=org)
    for period in (first, second):
        progress(customer, spend, period, "1000", achieved=period.start + timedelta(hours=1))
    progress(customer, retired, first, "3")  # the retired rule's old row: not achieved
    progress(customer, spend, third, "10")

    api = client_for(api_user(org).username, PASSWORD).get(
        READ.format(customer.id), {"includeInactive": "true"}
    )
    streak = body(api)["data"]["targetGroups"][0]["streaks"][0]
    assert streak["currentCount"] == 2

    _, doc = program(client, group)
    periods = participation(doc)
    achieved = sum(achieved for _participants, achieved, _rate in periods.values())
    assert achieved == streak["currentCount"]
    assert periods["Cycle_1"][:2] == (1, 1) and periods["Cycle_2"][:2] == (1, 1)
    assert periods["Cycle_3"][:2] == (1, 0)


def test_the_program_list_and_page_show_labels_and_the_org_s_days(org_staff):
    from datetime import UTC, datetime

    from tests.factories import OrgFactory

    org, client = org_staff(OrgFactory(timezone="Asia/Kolkata"))
    start = datetime(2024, 8, 25, 18, 30, tzinfo=UTC)  # 26 Aug 00:00 IST
    group = group_with_periods(org=org, periods=3, name="Kolkata", start=start, tracking_type="STREAKS")
    doc = parse(client.get("/staff/programs/").content)
    row = next(tr for tr in doc.find("tbody").find_all("tr") if "Kolkata" in tr.text())
    cells = {td.attrs["data-label"]: td for td in row.find_all("td")}
    assert cells["Evaluation"].text() == "Fixed calendar periods"
    assert cells["Tracking"].text() == "Streaks of consecutive periods"
    # Local days (26–28 Aug), each date unbreakable, the zone named.
    assert cells["Window"].text() == "26 Aug 2024 – 28 Aug 2024 Asia/Kolkata"
    assert [s.text() for s in cells["Window"].find_all(cls="nowrap")] == [
        "26 Aug 2024",
        "28 Aug 2024",
        "Asia/Kolkata",
    ]

    _, doc = program(client, group)
    table = doc.find("table", id="participation")
    assert "Dates (Asia/Kolkata)" in table.find("thead").text()
    first = table.find("tbody").find("tr")
    assert [s.text() for s in first.find("td", data_label="Dates").find_all("span", cls="nowrap")] == [
        "26 Aug 2024"
    ]
    assert "STREAKS" not in doc.find("main").text()
