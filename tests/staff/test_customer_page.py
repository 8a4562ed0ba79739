"""SPEC §6 customer page: per associated group (the API's selector), a progress bar per period
with achieved / target, milestone marks and achieved date, the current period highlighted,
streak ladders; toggles mirroring the API parameters; the same data as JSON."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from targets import clock
from tests.factories import (
    CustomerFactory,
    EnrolmentFactory,
    OrgFactory,
    ProfileFactory,
    RuleFactory,
    TriggerFactory,
    UserTargetFactory,
    group_with_periods,
)
from tests.staff.html import parse

CUSTOMER = 347286146
URL = f"/staff/customers/{CUSTOMER}/"


@pytest.fixture
def page(staff_client):
    def get(url=URL, username="staff50363", **params):
        response = staff_client(username).get(url, params)
        assert response.status_code == 200, response.content[:500]
        return response, parse(response.content)

    return get


def group_section(doc, name):
    for section in doc.find_all("section", cls="group"):
        if section.find("h3").text() == name:
            return section
    raise AssertionError(f"no group {name!r} on the page")


def period_row(section, ref_code):
    return section.find("tr", data_period=ref_code)


def test_the_profile_card_shows_name_channels_and_lifetime_purchases(page):
    _, doc = page()
    card = doc.find("section", cls="profile")
    assert "919111122111 919111122111" in card.find("h1").text()
    assert "918111255499" in card.text()
    assert "mobile" in card.text() and "email" in card.text()
    assert "2,400" in card.text()
    assert "rustaging (50363)" in card.text()


def test_nine_groups_and_t1fixed_shows_cycle_2_at_120_percent_and_cycle_5_as_current(page):
    _, doc = page()
    assert len(doc.find_all("section", cls="group")) == 9
    t1 = group_section(doc, "t1Fixed")
    cycle2 = period_row(t1, "Cycle_2")
    bar = cycle2.find(role="progressbar")
    assert bar.attrs["data-percent"] == "120%"
    assert bar.attrs["aria-valuenow"] == "100"  # the bar is full; the text says 120 %
    assert (bar.attrs["aria-valuemin"], bar.attrs["aria-valuemax"]) == ("0", "100")
    assert bar.attrs["aria-valuetext"] == "1,200 of 1,000 (120%)"
    assert "t1Fixed" in bar.attrs["aria-label"] and "Cycle_2" in bar.attrs["aria-label"]
    assert "120%" in cycle2.text() and "1,200 / 1,000" in cycle2.text()
    assert "27 Aug 2024, 09:43 UTC" in cycle2.text()  # achieved date, in the org's zone (UTC)
    current = t1.find_all("tr", cls="current")
    assert [row.attrs["data-period"] for row in current] == ["Cycle_5"]
    assert current[0].attrs["aria-current"] == "true"
    assert "current" in current[0].find("th").text()  # said in words, not only in colour
    assert "current" not in cycle2.find("th").text()


def test_every_period_is_listed_by_default_and_current_only_on_request(page):
    _, doc = page()
    assert len(group_section(doc, "t1Fixed").find_all("tr", cls="period")) == 5
    _, doc = page(includeInactive="false")
    rows = group_section(doc, "t1Fixed").find_all("tr", cls="period")
    assert [r.attrs["data-period"] for r in rows] == ["Cycle_5"]
    # A group with no current period is still listed, saying so.
    assert "No current period" in group_section(doc, "Ac test").text()


def test_toggles_accept_true_and_false_in_any_case_and_refuse_anything_else(staff_client):
    client = staff_client("staff50363")
    assert client.get(URL, {"includeInactive": "FALSE"}).status_code == 200
    assert client.get(URL, {"includeInactive": "yes"}).status_code == 400
    assert client.get(URL, {"includeInactiveTargets": "1"}).status_code == 400


def test_inactive_groups_show_only_with_the_toggle_and_are_marked_inactive(page, demo):
    group = group_with_periods(org=demo, periods=2, name="Retired program", active=False)
    _, doc = page()
    assert "Retired program" not in [h.text() for h in doc.find_all("h3")]
    _, doc = page(includeInactiveTargets="true")
    section = group_section(doc, "Retired program")
    assert "inactive" in section.classes()
    assert "Inactive" in section.find("span", cls="badge").text()
    assert section.attrs["data-group-id"] == str(group.id)


def test_milestone_marks_sit_on_the_bar_and_say_whether_they_were_reached(org_staff):
    org, client = org_staff()
    group = group_with_periods(org=org, periods=1, name="Marks")
    rule = group.rules.get()
    TriggerFactory(rule=rule, trigger_name="Quarter", trigger_value=Decimal("250"))
    TriggerFactory(rule=rule, trigger_name="Most", trigger_value=Decimal("750"))
    customer = CustomerFactory(org=org)
    UserTargetFactory(customer=customer, rule=rule, period=group.periods.get(), achieved_value=Decimal("300"))
    doc = parse(client.get(f"/staff/customers/{customer.id}/").content)
    row = group_section(doc, "Marks").find("tr", data_period="Cycle_1")
    bar = row.find("div", role="progressbar")
    marks = bar.find_all("span", cls="mark")
    assert [m.attrs["style"] for m in marks] == ["left: 25%", "left: 75%"]
    assert ["reached" in m.classes() for m in marks] == [True, False]
    assert [li.text() for li in row.find("ul", cls="milestones").find_all("li")] == [
        "◆ Quarter at 250: reached",
        "◇ Most at 750: not yet",
    ]
    assert bar.attrs["aria-valuetext"] == "300 of 1,000 (30%)"
    assert bar.find("span", cls="fill").attrs["style"] == "width: 30%"
    assert "not achieved" in row.text()


def test_a_streak_ladder_shows_count_needed_and_status(org_staff, pinned_clock):
    org, client = org_staff()
    now = clock.now()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
    group = group_with_periods(
        org=org, periods=4, name="Daily streak", tracking_type="STREAKS", streaks=(3,), start=start
    )
    customer = CustomerFactory(org=org)
    rule = group.rules.get()
    for period in group.periods.order_by("sequence")[:2]:  # yesterday's and the day before's
        UserTargetFactory(
            customer=customer,
            rule=rule,
            period=period,
            achieved_value=Decimal("1000"),
            achieved_at=period.start + timedelta(hours=1),
        )
    doc = parse(client.get(f"/staff/customers/{customer.id}/").content)
    streak = group_section(doc, "Daily streak").find("div", cls="streak")
    assert "2 / 3 periods" in streak.text()
    assert streak.find("span", cls="badge").text() == "In progress"
    steps = streak.find("ol", cls="ladder").find_all("li")
    assert ["done" in s.classes() for s in steps] == [True, True, False]


def test_the_json_link_serves_the_api_response_for_the_same_toggles(page, client_for):
    response, doc = page(includeInactive="true", includeInactiveTargets="false")
    link = doc.find("a", id="json-link").attrs["href"]
    assert link == f"{URL}data.json?includeInactive=true&includeInactiveTargets=false"
    staff_json = json.loads(response.client.get(link).content)
    api = client_for("tillrustaging2").get(
        f"/v3.1/users/{CUSTOMER}/targetGroups",
        {"includeInactive": "true", "includeInactiveTargets": "false"},
        HTTP_DATA_SCOPE="ALL",
    )
    assert api.status_code == 200
    assert staff_json == json.loads(api.content)


def test_the_json_of_a_customer_outside_the_orgs_is_the_api_404(staff_client):
    response = staff_client("staff60001").get(f"{URL}data.json")
    assert response.status_code == 404
    body = json.loads(response.content)
    assert body["data"] is None and body["errors"][0]["code"] == 8015


def customer_with_groups(org, n):
    """A customer enrolled in n programs, each with five periods, two rules (one inactive), two
    milestones, progress in three periods, and a streak on every other one."""
    customer = CustomerFactory(org=org)
    ProfileFactory(customer=customer)
    for i in range(n):
        streaky = i % 2 == 1
        group = group_with_periods(
            org=org,
            periods=5,
            enrolment="EXPLICIT",
            triggers=("100", "500"),
            streaks=(2,) if streaky else (),
            tracking_type="STREAKS" if streaky else "DEFAULT",
        )
        EnrolmentFactory(group=group, customer=customer)
        RuleFactory(group=group, active=False, name="retired rule")
        for period in group.periods.all()[:3]:
            UserTargetFactory(customer=customer, rule=group.rules.first(), period=period, achieved_value=600)
    return customer


@pytest.mark.parametrize("toggles", [{}, {"includeInactive": "false", "includeInactiveTargets": "true"}])
def test_the_customer_page_costs_at_most_15_queries_whatever_the_number_of_groups(org_staff, toggles):
    org, client = org_staff()
    counts = []
    for n in (1, 12):
        customer = customer_with_groups(org, n)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/staff/customers/{customer.id}/", toggles)
        assert response.status_code == 200
        assert len(parse(response.content).find_all("section", cls="group")) == n
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 15


# --- the org's own time, people's words, ended programs collapsed (issue 13, point 8) ---------


def kolkata_program(*, name, start, periods=3):
    """A program of a Kolkata org whose days are local days (midnight IST = 18:30Z the day
    before), with one customer's first period achieved at 09:21Z = 14:51 IST."""
    org = OrgFactory(timezone="Asia/Kolkata")
    group = group_with_periods(org=org, periods=periods, name=name, start=start)
    return org, group


def test_dates_and_times_are_the_org_s_own_with_the_zone_named(org_staff, pinned_clock):
    start = datetime(2024, 8, 25, 18, 30, tzinfo=UTC)  # 26 Aug 00:00 IST
    org, group = kolkata_program(name="Kolkata days", start=start)
    _, client = org_staff(org)
    customer = CustomerFactory(org=org)
    first = group.periods.order_by("sequence").first()
    UserTargetFactory(
        customer=customer,
        rule=group.rules.get(),
        period=first,
        achieved_value=Decimal("1000"),
        achieved_at=datetime(2024, 8, 26, 9, 21, tzinfo=UTC),
    )
    doc = parse(client.get(f"/staff/customers/{customer.id}/").content)
    section = group_section(doc, "Kolkata days")
    assert "Times in Asia/Kolkata" in section.find("p", cls="meta").text()
    row = period_row(section, "Cycle_1")
    dates = row.find("td", data_label="Dates")
    # The local day (26 Aug), not the UTC date the period starts on (25 Aug), unbroken.
    assert dates.text() == "26 Aug 2024"
    assert [span.text() for span in dates.find_all("span", cls="nowrap")] == ["26 Aug 2024"]
    achieved = row.find("td", data_label="Achieved on").find("time")
    assert achieved.text() == "26 Aug 2024, 14:51 IST"
    assert "nowrap" in achieved.classes()
    assert achieved.attrs["datetime"] == "2024-08-26T09:21:00+00:00"
    assert "Asia/Kolkata" in doc.find("section", cls="profile").text()


def test_enums_are_shown_in_people_s_words(page):
    response, doc = page()
    t1 = group_section(doc, "t1Fixed")
    chips = [chip.text() for chip in t1.find("p", cls="meta").find_all("span", cls="chip")]
    assert "Fixed calendar periods" in chips and "One target" in chips
    assert t1.find("caption").text().endswith("Gross sales (money) on transactions (TransactionAdd)")
    page_text = doc.find("main").text()
    codes = ("FIXED_CALENDAR_WINDOW", "CYCLIC_WINDOW", "PERIOD_AGNOSTIC_WINDOW", "GROSS_SALES", "STREAKS")
    for code in codes:
        assert code not in page_text


def test_ended_programs_are_collapsed_and_running_ones_open(org_staff, pinned_clock):
    now = clock.now()
    org = OrgFactory(timezone="Asia/Kolkata")
    _, client = org_staff(org)
    ended = group_with_periods(org=org, periods=3, name="Last year", start=now - timedelta(days=400))
    running = group_with_periods(org=org, periods=3, name="This week", start=now - timedelta(days=1))
    customer = CustomerFactory(org=org)
    doc = parse(client.get(f"/staff/customers/{customer.id}/").content)

    old = group_section(doc, "Last year")
    details = old.find("details", cls="ended-body")
    assert "open" not in details.attrs  # collapsed by default
    assert "Ended program" in details.find("summary").text()
    assert details.find("table", cls="periods") is not None  # the periods are inside
    end_day = ended.end.astimezone(org.tz)
    assert f"Ended {end_day.day} {end_day:%b %Y}" in old.find("span", cls="ended").text()

    new = group_section(doc, "This week")
    assert not new.find_all("details", cls="ended-body")
    assert new.find("table", cls="periods") is not None
    assert running.end > now
