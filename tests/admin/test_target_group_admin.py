"""The target group admin (SPEC §6): the seeded groups with their periods, rules and streaks;
every invalid configuration shows a form error and saves nothing; valid saves fill the org of
child rows and the attribution; the generate-periods and activate/deactivate actions."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from targets.clock import parse_instant
from targets.models import Streak, TargetGroup, TargetPeriod, TargetRule
from tests.admin.forms import add_row, all_errors, inline, page_data, put, row_of
from tests.conftest import DEMO_NOW
from tests.factories import GroupFactory, PeriodFactory, RuleFactory, StreakFactory, UserTargetFactory

EXAMPLE_GROUPS = {33008, 38135, 39540, 42775, 42788, 51922, 53230, 53235, 53236}
NOW = parse_instant(DEMO_NOW)


def change_url(group_id):
    return f"/admin/targets/targetgroup/{group_id}/change/"


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def group_state(group_id):
    """Everything a save could touch, to prove that a rejected save changed nothing."""
    group = TargetGroup.objects.get(id=group_id)
    return {
        "group": (
            group.name,
            group.active,
            group.tracking_type,
            group.start,
            group.end,
            group.last_updated_on,
            group.last_updated_by_id,
        ),
        "periods": list(
            TargetPeriod.objects.filter(group_id=group_id)
            .order_by("id")
            .values_list("id", "ref_code", "sequence", "start", "end", "customer_id")
        ),
        "rules": list(
            TargetRule.objects.filter(group_id=group_id)
            .order_by("id")
            .values_list("id", "name", "target_type", "attribute", "target_value")
        ),
        "streaks": list(
            Streak.objects.filter(group_id=group_id)
            .order_by("id")
            .values_list("id", "name", "target_count_of_sequence", "continuous")
        ),
    }


@pytest.fixture
def admin_client(login):
    return login("admin")


def open_change(client, group_id):
    response = client.get(change_url(group_id))
    assert response.status_code == 200
    return page_data(response)


def rejected(client, group_id, data):
    """POST the change form; assert it was re-rendered with errors and saved nothing."""
    before = group_state(group_id)
    response = client.post(change_url(group_id), data)
    assert response.status_code == 200, "the form was accepted"
    assert response.context["errors"], "no error shown"
    assert group_state(group_id) == before
    return response


# --- what the admin shows --------------------------------------------------------------------


def test_admin_lists_the_nine_groups_of_org_50363(admin_client):
    response = admin_client.get("/admin/targets/targetgroup/?org__id__exact=50363")
    assert response.status_code == 200
    assert {group.id for group in response.context["cl"].result_list} == EXAMPLE_GROUPS


def test_change_page_shows_periods_rules_and_streaks(admin_client):
    response = admin_client.get(change_url(51922))
    assert response.status_code == 200
    periods = inline(response, "periods")
    assert [(f.instance.id, f.instance.ref_code, f.instance.sequence) for f in periods.initial_forms] == [
        (66783, "period4445", 1),
        (66784, "period44456", 2),
    ]
    assert [f.instance.id for f in inline(response, "rules").initial_forms] == [111007]
    assert [f.instance.id for f in inline(response, "streaks").initial_forms] == [9008, 9009]
    assert b"streaks_dummffffy" in response.content


def test_cyclic_group_page_lists_no_customer_periods(admin_client):
    response = admin_client.get(change_url(53235))
    assert inline(response, "periods").initial_forms == []
    assert TargetPeriod.objects.filter(group_id=53235, customer__isnull=False).count() == 5


def test_list_filters_search_and_date_hierarchy(admin_client):
    by_tracking = admin_client.get(
        "/admin/targets/targetgroup/?tracking_type__exact=STREAKS&org__id__exact=50363"
    )
    assert {g.id for g in by_tracking.context["cl"].result_list} == {42775, 42788, 51922}
    by_type = admin_client.get(
        "/admin/targets/targetgroup/?target_evaluation_type__exact=CYCLIC_WINDOW&org__id__exact=50363"
    )
    assert {g.id for g in by_type.context["cl"].result_list} == {53235}
    by_id = admin_client.get("/admin/targets/targetgroup/?q=53236")
    assert [g.id for g in by_id.context["cl"].result_list] == [53236]
    by_name = admin_client.get("/admin/targets/targetgroup/?q=streakTest&org__id__exact=50363")
    assert {g.id for g in by_name.context["cl"].result_list} == {42775, 42788, 51922}
    by_month = admin_client.get(
        "/admin/targets/targetgroup/?start__year=2024&start__month=6&org__id__exact=50363"
    )
    assert {g.id for g in by_month.context["cl"].result_list} == {39540, 42775}
    inactive = admin_client.get("/admin/targets/targetgroup/?active__exact=0&org__id__exact=50363")
    assert list(inactive.context["cl"].result_list) == []


# --- valid saves -----------------------------------------------------------------------------


def test_unchanged_save_only_stamps_the_attribution(admin_client):
    before = group_state(53230)
    response = admin_client.post(change_url(53230), open_change(admin_client, 53230))
    assert response.status_code == 302, all_errors(response)
    after = group_state(53230)
    assert after["periods"] == before["periods"]
    assert after["rules"] == before["rules"]
    group = TargetGroup.objects.get(id=53230)
    assert (group.last_updated_on, group.last_updated_by_id) == (NOW, 4)  # admin's actor "First"
    assert (group.created_on, group.created_by_id) == (utc(2024, 8, 27, 9, 41, 56), 4)


def test_adding_a_group_with_children_sets_their_org_and_the_attribution(admin_client):
    response = admin_client.get("/admin/targets/targetgroup/add/")
    data = page_data(response)
    put(data, "org", 50363)
    put(data, "name", "Admin-made streak")
    put(data, "target_evaluation_type", "FIXED_CALENDAR_WINDOW")
    put(data, "tracking_type", "NON_CONTINUOUS_STREAK")
    put(data, "frequency_type", "DAILY")
    put(data, "total_periods", 3)
    put(data, "start_day", date(2024, 9, 1))
    put(data, "end_day", date(2024, 9, 3))
    for day in (1, 2, 3):
        add_row(
            data,
            "periods",
            ref_code=f"Cycle_{day}",
            start_day=date(2024, 9, day),
            end_day=date(2024, 9, day),
        )
    add_row(
        data,
        "rules",
        name="Two visits",
        active=True,
        target_entity="TRANSACTION",
        event_name="TransactionAdd",
        target_type="VISIT",
        target_value="2",
    )
    add_row(data, "streaks", name="Any two days", target_count_of_sequence=2)
    response = admin_client.post("/admin/targets/targetgroup/add/", data)
    assert response.status_code == 302, all_errors(response)

    group = TargetGroup.objects.get(org_id=50363, name="Admin-made streak")
    assert (group.created_by_id, group.created_on, group.last_updated_by_id) == (4, NOW, 4)
    periods = list(group.periods.order_by("sequence"))
    assert [(p.ref_code, p.sequence, p.org_id, p.customer_id) for p in periods] == [
        ("Cycle_1", 1, 50363, None),
        ("Cycle_2", 2, 50363, None),
        ("Cycle_3", 3, 50363, None),
    ]
    rule = group.rules.get()
    assert (rule.org_id, rule.target_value) == (50363, Decimal("2"))
    streak = group.streaks.get()
    assert (streak.org_id, streak.continuous) == (50363, False)  # NON_CONTINUOUS_STREAK


def test_changing_the_tracking_type_rederives_streak_continuity(admin_client):
    data = open_change(admin_client, 51922)
    put(data, "tracking_type", "NON_CONTINUOUS_STREAK")
    response = admin_client.post(change_url(51922), data)
    assert response.status_code == 302, all_errors(response)
    assert set(Streak.objects.filter(group_id=51922).values_list("continuous", flat=True)) == {False}


def test_periods_are_numbered_by_start_and_ref_codes_can_be_swapped(admin_client):
    data = open_change(admin_client, 51922)
    first, second = row_of(data, "periods", "id", 66783), row_of(data, "periods", "id", 66784)
    put(data, f"periods-{first}-ref_code", "period44456")
    put(data, f"periods-{second}-ref_code", "period4445")
    add_row(data, "periods", ref_code="early", start_day=date(2024, 8, 14), end_day=date(2024, 8, 15))
    response = admin_client.post(change_url(51922), data)
    assert response.status_code == 302, all_errors(response)
    assert list(
        TargetPeriod.objects.filter(group_id=51922).order_by("sequence").values_list("ref_code", "sequence")
    ) == [("early", 1), ("period44456", 2), ("period4445", 3)]
    assert TargetPeriod.objects.get(ref_code="period44456", group_id=51922).id == 66783


# --- invalid configuration: a form error, nothing saved --------------------------------------


def test_overlapping_fixed_period_is_refused(admin_client):
    data = open_change(admin_client, 53230)
    index = add_row(
        data, "periods", ref_code="Cycle_6", start_day=date(2024, 8, 30), end_day=date(2024, 8, 31)
    )
    response = rejected(admin_client, 53230, data)
    assert inline(response, "periods").forms[index].errors["start_day"] == ["Overlaps Cycle_5"]
    assert b"Overlaps Cycle_5" in response.content


def test_group_ending_before_it_starts_is_refused(admin_client):
    data = open_change(admin_client, 53230)
    put(data, "end_day", date(2024, 8, 25))
    response = rejected(admin_client, 53230, data)
    assert response.context["adminform"].form.errors["end_day"] == ["The end is before the start."]


def test_period_ending_before_it_starts_is_refused(admin_client):
    data = open_change(admin_client, 53230)
    row = row_of(data, "periods", "id", 68691)
    put(data, f"periods-{row}-end_day", date(2024, 8, 25))
    response = rejected(admin_client, 53230, data)
    assert inline(response, "periods").forms[row].errors["end_day"] == ["Is before first day"]


def test_repeated_ref_code_is_refused(admin_client):
    data = open_change(admin_client, 53230)
    put(data, f"periods-{row_of(data, 'periods', 'id', 68692)}-ref_code", "Cycle_1")
    response = rejected(admin_client, 53230, data)
    assert any(message.startswith("Repeats periods[") for message in all_errors(response))


def test_second_rule_on_a_default_group_is_refused(admin_client):
    data = open_change(admin_client, 53230)
    add_row(
        data,
        "rules",
        name="Another",
        active=True,
        target_entity="TRANSACTION",
        event_name="TransactionAdd",
        target_type="COUNT",
        target_value="3",
    )
    response = rejected(admin_client, 53230, data)
    assert inline(response, "rules").non_form_errors() == [
        "A “One target” group needs exactly one target, got 2"
    ]


def test_unified_group_needs_two_to_ten_rules(admin_client):
    data = open_change(admin_client, 53230)
    put(data, "tracking_type", "UNIFIED")
    response = rejected(admin_client, 53230, data)
    assert inline(response, "rules").non_form_errors() == [
        "A “Several targets, all needed” group needs 2 to 10 targets, got 1"
    ]


def test_sum_rule_without_attribute_is_refused(admin_client):
    data = open_change(admin_client, 53230)
    put(data, "rules-0-target_type", "SUM")
    put(data, "rules-0-attribute", "")
    response = rejected(admin_client, 53230, data)
    assert inline(response, "rules").forms[0].errors["attribute"] == [
        "A SUM target needs the activity attribute to add."
    ]


def test_rule_value_below_an_existing_trigger_is_refused(admin_client, demo):
    group = GroupFactory(org=demo, name="With a trigger")
    RuleFactory(group=group, target_value=Decimal("1000"))
    group.rules.get().triggers.create(org=demo, trigger_name="Halfway", trigger_value=Decimal("500"))
    data = open_change(admin_client, group.id)
    put(data, "rules-0-target_value", "400")
    response = rejected(admin_client, group.id, data)
    # The trigger row nested under the rule says it (the API: targets[0].milestones[0].triggerValue).
    triggers = inline(response, "rules").forms[0].nested_formsets[0]
    assert "above the target value" in triggers.forms[0].errors["trigger_value"][0]


def test_streak_longer_than_the_number_of_periods_is_refused(admin_client):
    data = open_change(admin_client, 51922)
    row = row_of(data, "streaks", "id", 9009)
    put(data, f"streaks-{row}-target_count_of_sequence", 3)
    response = rejected(admin_client, 51922, data)
    assert inline(response, "streaks").forms[row].errors["target_count_of_sequence"] == [
        "Is longer than the number of periods (2)"
    ]


def test_deleting_a_period_under_a_streak_is_refused(admin_client):
    data = open_change(admin_client, 51922)
    put(data, f"periods-{row_of(data, 'periods', 'id', 66784)}-DELETE", True)
    response = rejected(admin_client, 51922, data)
    assert "Is longer than the number of periods (1)" in all_errors(response)


def test_streak_on_a_non_streak_group_is_refused(admin_client):
    data = open_change(admin_client, 53230)
    add_row(data, "streaks", name="Not here", target_count_of_sequence=1)
    response = rejected(admin_client, 53230, data)
    assert inline(response, "streaks").non_form_errors() == [
        "Streaks need a “Streaks of consecutive periods” or “Streaks of any periods” group, not “One target”"
    ]


def test_switching_a_streak_group_to_default_is_refused(admin_client):
    data = open_change(admin_client, 51922)
    put(data, "tracking_type", "DEFAULT")
    response = rejected(admin_client, 51922, data)
    assert inline(response, "streaks").non_form_errors() == [
        "Streaks need a “Streaks of consecutive periods” or “Streaks of any periods” group, not “One target”"
    ]


def test_periods_on_a_cyclic_group_are_refused(admin_client):
    data = open_change(admin_client, 53235)
    add_row(data, "periods", ref_code="Shared", start_day=date(2024, 8, 27), end_day=date(2024, 8, 27))
    response = rejected(admin_client, 53235, data)
    assert inline(response, "periods").non_form_errors() == [
        "A “Cycles from each customer's first activity” group's periods are created per customer"
    ]


def test_duplicate_group_name_in_the_org_is_refused(login):
    client = login("staff50363")  # org is not a form field for staff: checked all the same
    data = open_change(client, 53230)
    put(data, "name", "t1PA")
    response = rejected(client, 53230, data)
    assert any("already exists" in message for message in all_errors(response))


def test_invalid_new_group_creates_nothing(admin_client):
    data = page_data(admin_client.get("/admin/targets/targetgroup/add/"))
    put(data, "org", 50363)
    put(data, "name", "Overlapping")
    put(data, "start_day", date(2024, 9, 1))
    put(data, "end_day", date(2024, 9, 3))
    add_row(data, "periods", ref_code="A", start_day=date(2024, 9, 1), end_day=date(2024, 9, 2))
    add_row(data, "periods", ref_code="B", start_day=date(2024, 9, 2), end_day=date(2024, 9, 3))
    add_row(
        data,
        "rules",
        name="Spend",
        active=True,
        target_entity="TRANSACTION",
        event_name="TransactionAdd",
        target_type="GROSS_SALES",
        target_value="100",
    )
    groups, periods, rules = (
        TargetGroup.objects.count(),
        TargetPeriod.objects.count(),
        TargetRule.objects.count(),
    )
    response = admin_client.post("/admin/targets/targetgroup/add/", data)
    assert response.status_code == 200
    assert inline(response, "periods").forms[1].errors["start_day"] == ["Overlaps A"]
    assert (TargetGroup.objects.count(), TargetPeriod.objects.count(), TargetRule.objects.count()) == (
        groups,
        periods,
        rules,
    )


def test_deleting_a_period_with_progress_is_refused(admin_client, demo):
    group = GroupFactory(org=demo, name="With progress")
    period = PeriodFactory(group=group, sequence=1)
    rule = RuleFactory(group=group)
    UserTargetFactory(rule=rule, period=period, customer_id=347286146, achieved_value=Decimal("10"))
    data = open_change(admin_client, group.id)
    put(data, "periods-0-DELETE", True)
    response = rejected(admin_client, group.id, data)
    assert inline(response, "periods").non_form_errors() == [
        f"Period Cycle_1 (id {period.id}) holds 1 customer target(s); it cannot be deleted"
    ]


# --- actions ---------------------------------------------------------------------------------


def run_action(client, action, *ids):
    response = client.post(
        "/admin/targets/targetgroup/",
        {"action": action, "_selected_action": [str(i) for i in ids], "index": "0"},
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


def test_generate_periods_action_builds_the_periods(admin_client, demo):
    group = GroupFactory(
        org=demo,
        name="Monthly from Jan 31",
        frequency_type="MONTHLY",
        total_periods=3,
        start=utc(2024, 1, 31),
        end=utc(2024, 4, 29, 23, 59, 59),
    )
    RuleFactory(group=group)  # the action saves through the service: the group must be complete
    messages = run_action(admin_client, "generate_periods", group.id)
    assert messages == [f"{group}: 3 periods generated."]
    assert list(group.periods.order_by("sequence").values_list("ref_code", "start", "end", "org_id")) == [
        ("Cycle_1", utc(2024, 1, 31), utc(2024, 2, 28, 23, 59, 59), 50363),
        ("Cycle_2", utc(2024, 2, 29), utc(2024, 3, 30, 23, 59, 59), 50363),
        ("Cycle_3", utc(2024, 3, 31), utc(2024, 4, 29, 23, 59, 59), 50363),
    ]
    group.refresh_from_db()
    assert (group.last_updated_by_id, group.last_updated_on) == (4, NOW)


def test_generate_periods_refuses_a_group_with_progress(admin_client, demo):
    group = GroupFactory(org=demo, name="Has progress", total_periods=2)
    period = PeriodFactory(group=group, sequence=1, ref_code="Mine")
    rule = RuleFactory(group=group)
    UserTargetFactory(rule=rule, period=period, customer_id=347286146)
    before = group_state(group.id)
    messages = run_action(admin_client, "generate_periods", group.id)
    assert len(messages) == 1 and "holds 1 customer target(s); it cannot be deleted" in messages[0]
    assert group_state(group.id) == before


def test_generate_periods_refuses_custom_frequency(admin_client):
    before = group_state(51922)  # CUSTOM frequency: its periods are given explicitly
    messages = run_action(admin_client, "generate_periods", 51922)
    assert len(messages) == 1 and "“Custom (periods typed in)” periods are not generated" in messages[0]
    assert group_state(51922) == before


def test_generate_periods_refuses_a_result_shorter_than_a_streak(admin_client, demo):
    group = GroupFactory(org=demo, name="Short", tracking_type="STREAKS", total_periods=2)
    for n in (1, 2, 3):
        PeriodFactory(group=group, sequence=n)
    RuleFactory(group=group)
    StreakFactory(group=group, target_count_of_sequence=3)
    before = group_state(group.id)
    messages = run_action(admin_client, "generate_periods", group.id)
    assert len(messages) == 1 and "Is longer than the number of periods (2)" in messages[0]
    assert group_state(group.id) == before


def test_deactivate_and_activate_actions(admin_client):
    messages = run_action(admin_client, "deactivate", 53230, 33008)
    assert messages == ["2 program(s) deactivated."]
    assert set(TargetGroup.objects.filter(id__in=[53230, 33008]).values_list("active", flat=True)) == {False}
    group = TargetGroup.objects.get(id=53230)
    assert (group.last_updated_by_id, group.last_updated_on) == (4, NOW)
    assert run_action(admin_client, "activate", 53230) == ["1 program(s) activated."]
    assert TargetGroup.objects.get(id=53230).active is True
    assert TargetGroup.objects.get(id=33008).active is False


def test_a_save_refreshes_progress_and_the_page_shows_the_refresh_state(admin_client):
    data = open_change(admin_client, 53230)
    assert admin_client.post(change_url(53230), data).status_code == 302
    page = admin_client.get(change_url(53230)).content.decode()
    assert "Progress refresh" in page
    assert re.search(r"Done: (\d+) of \1 customers \(with the save, finished 2024-08-30 09:21 UTC\)", page)


def test_a_superusers_org_is_not_prefilled(admin_client):
    form = admin_client.get("/admin/targets/targetgroup/add/").context["adminform"].form
    assert form["org"].value() in (None, "")


def test_days_are_the_orgs_local_days_with_the_zone_named(login):
    """Demo Coffee is in Asia/Kolkata: the window is shown and typed as local days."""
    client = login("staff60001")
    add = client.get("/admin/targets/targetgroup/add/").content.decode()
    assert "Asia/Kolkata (UTC+05:30)" in add
    group = TargetGroup.objects.filter(org_id=60001, target_evaluation_type="FIXED_CALENDAR_WINDOW").first()
    response = client.get(change_url(group.id))
    form = response.context["adminform"].form
    kolkata = group.org.tz
    assert form["start_day"].value() == group.start.astimezone(kolkata).date()
    assert form["end_day"].value() == group.end.astimezone(kolkata).date()


def test_a_new_program_gets_its_periods_from_the_schedule_in_local_time(login):
    """One pass: no periods typed in, a monthly schedule in Asia/Kolkata; the window and the
    generated periods agree (local midnights), and the streak's length is checked against them."""
    client = login("staff60001")
    data = page_data(client.get("/admin/targets/targetgroup/add/"))
    for name, value in {
        "name": "Monthly coffees",
        "target_evaluation_type": "FIXED_CALENDAR_WINDOW",
        "tracking_type": "STREAKS",
        "frequency_type": "MONTHLY",
        "frequency": 1,
        "total_periods": 4,
        "start_day": date(2024, 8, 1),
        "end_day": date(2024, 11, 30),
    }.items():
        put(data, name, value)
    rule = add_row(
        data,
        "rules",
        name="Three coffees",
        active=True,
        target_entity="TRANSACTION",
        event_name="TransactionAdd",
        target_type="COUNT",
        target_value="3",
    )
    add_row(data, f"rules-{rule}-triggers", trigger_name="First", trigger_value="1")
    add_row(data, f"rules-{rule}-triggers", trigger_name="Almost", trigger_value="2")
    add_row(data, "streaks", name="Two months running", target_count_of_sequence=2)
    response = client.post("/admin/targets/targetgroup/add/", data)
    assert response.status_code == 302, all_errors(response)

    group = TargetGroup.objects.get(org_id=60001, name="Monthly coffees")
    kolkata = group.org.tz
    periods = list(group.periods.order_by("sequence"))
    assert [
        (p.start.astimezone(kolkata).isoformat(), p.end.astimezone(kolkata).isoformat()) for p in periods
    ] == [
        ("2024-08-01T00:00:00+05:30", "2024-08-31T23:59:59+05:30"),
        ("2024-09-01T00:00:00+05:30", "2024-09-30T23:59:59+05:30"),
        ("2024-10-01T00:00:00+05:30", "2024-10-31T23:59:59+05:30"),
        ("2024-11-01T00:00:00+05:30", "2024-11-30T23:59:59+05:30"),
    ]
    assert (group.start, group.end) == (periods[0].start, periods[-1].end)
    assert [
        (t.trigger_name, t.trigger_value) for t in group.rules.get().triggers.order_by("trigger_value")
    ] == [
        ("First", Decimal("1")),
        ("Almost", Decimal("2")),
    ]
    assert group.streaks.get().target_count_of_sequence == 2


def test_the_preview_shows_the_periods_the_schedule_gives(login):
    client = login("staff60001")
    response = client.get(
        "/admin/targets/targetgroup/preview/",
        {
            "start_day": "2024-08-01",
            "end_day": "2024-11-30",
            "frequency_type": "MONTHLY",
            "frequency": "1",
            "total_periods": "4",
            "target_evaluation_type": "FIXED_CALENDAR_WINDOW",
        },
    )
    page = response.content.decode()
    assert "4 periods, in Asia/Kolkata (UTC+05:30)" in page
    assert "2024-08-01 00:00" in page and "2024-11-30 23:59:59" in page


def test_the_count_past_activity_action_backdates_the_program_and_refreshes_progress(admin_client, settings):
    """Issue 12: a backdated program counts past activity after one admin action."""
    from datetime import timedelta

    from customers.models import Org
    from targets.models import TargetGroup, UserTarget
    from targets.progress.ingest import activity_ingest
    from tests.factories import T0, CustomerFactory, group_with_periods

    org = Org.objects.get(id=60001)
    # A program that started five days before it was created.
    group = group_with_periods(org=org, periods=3, start=T0 - timedelta(days=5), created_on=T0)
    customer = CustomerFactory(org=org)
    before = group.created_on - timedelta(hours=1)
    [result] = activity_ingest(
        org=org,
        items=[
            {
                "userId": customer.id,
                "entity": "TRANSACTION",
                "eventName": "TransactionAdd",
                "occurredAt": (group.start + timedelta(hours=2)).isoformat(),
                "amount": "40",
                "externalId": "received-before-the-program",
            }
        ],
        now=before,
    )
    assert result.status == "APPLIED"
    assert not UserTarget.objects.filter(customer=customer, rule__group=group).exists()

    response = admin_client.post(
        "/admin/targets/targetgroup/",
        {"action": "count_past_activity", "_selected_action": [group.id]},
        follow=True,
    )

    assert response.status_code == 200
    group = TargetGroup.objects.get(id=group.id)
    assert group.count_activity_from == group.start
    assert UserTarget.objects.get(customer=customer, rule__group=group).achieved_value == 40


def test_a_change_url_without_an_id_is_not_a_server_error(admin_client):
    response = admin_client.get("/admin/targets/targetgroup/53239/change/widgets.css/")

    assert response.status_code in (302, 404)
