"""Deleting announces what it takes away, whatever the door: an enrolment deleted in the admin
(its page, "delete selected", an inline's delete box) is an unenrolment (UNENROLLED); a group or
a rule deleted in the admin or through the API revokes its customers' achievements
(ACHIEVEMENT_REVOKED with the ids and names they had), which the feed and the webhooks still
serve once the rows are gone, and nothing is announced twice."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.forms import inlineformset_factory
from django.test import Client

from targets.admin_deletion import UnenrolInlineFormSet
from targets.configuration import group_delete, group_enrol, rule_delete
from targets.events import dispatch
from targets.events.feed import event_page
from targets.events.models import Event, WebhookDelivery
from targets.events.webhooks import endpoint_create
from targets.models import EnrolmentEpisode, GroupEnrolment, TargetGroup, TargetRule, UserTarget
from targets.refresh import refresh_customers
from tests.factories import CustomerFactory, group_with_periods
from tests.support import PASSWORD, api_user, body
from tests.targets.events.test_recorder import last_id, types
from tests.targets.test_engine import NOW, at, ingest, item

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser(db):
    user = get_user_model().objects.create_superuser("deleter", "d@example.com", "pw-deleter-1")
    client = Client()
    client.force_login(user)
    return client


def revoked(customer, since=0):
    """[(revoked type, rule id, trigger id, streak id)] of the customer's revocations, sorted."""
    return sorted(
        (e.revoked_type, e.rule_id, e.trigger_id, e.streak_id)
        for e in Event.objects.filter(user_id=customer.id, id__gt=since, type="ACHIEVEMENT_REVOKED")
    )


# --- enrolments ------------------------------------------------------------------------------


@pytest.fixture
def explicit():
    group = group_with_periods(periods=5, enrolment="EXPLICIT")
    customers = [CustomerFactory(org=group.org) for _ in range(2)]
    group_enrol(group=group, user_ids=[c.id for c in customers], now=NOW)
    return group, customers


def assert_unenrolled(group, customer):
    assert types(customer) == ["ENROLLED", "UNENROLLED"]
    event = Event.objects.get(user_id=customer.id, type="UNENROLLED")
    assert (event.group_id, event.group_name) == (group.id, group.name)
    assert not GroupEnrolment.objects.filter(group=group, customer=customer).exists()
    assert EnrolmentEpisode.objects.filter(group=group, customer=customer).count() == 1


def test_deleting_an_enrolment_on_its_admin_page_unenrols(superuser, explicit):
    group, (customer, other) = explicit
    enrolment = GroupEnrolment.objects.get(group=group, customer=customer)
    response = superuser.post(f"/admin/targets/groupenrolment/{enrolment.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert_unenrolled(group, customer)
    assert types(other) == ["ENROLLED"]


def test_delete_selected_enrolments_unenrols_each(superuser, explicit):
    group, customers = explicit
    ids = list(GroupEnrolment.objects.filter(group=group).values_list("id", flat=True))
    response = superuser.post(
        "/admin/targets/groupenrolment/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert response.status_code == 302
    for customer in customers:
        assert_unenrolled(group, customer)


def test_an_enrolment_inlines_delete_box_unenrols(explicit):
    group, (customer, other) = explicit
    Inline = inlineformset_factory(
        TargetGroup, GroupEnrolment, formset=UnenrolInlineFormSet, fields=("customer",), extra=0
    )
    rows = list(GroupEnrolment.objects.filter(group=group).order_by("customer_id"))
    data = {
        "enrolments-TOTAL_FORMS": "2",
        "enrolments-INITIAL_FORMS": "2",
        "enrolments-MIN_NUM_FORMS": "0",
        "enrolments-MAX_NUM_FORMS": "1000",
    }
    for n, row in enumerate(rows):
        data |= {f"enrolments-{n}-id": row.id, f"enrolments-{n}-customer": row.customer_id}
    data[f"enrolments-{[r.customer_id for r in rows].index(customer.id)}-DELETE"] = "on"
    formset = Inline(data, instance=group, prefix="enrolments")
    assert formset.is_valid(), formset.errors
    formset.save()
    assert_unenrolled(group, customer)
    assert types(other) == ["ENROLLED"]


def test_an_all_customers_groups_enrolment_cannot_be_deleted_in_the_admin(superuser):
    group = group_with_periods(periods=5)
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1), 10))
    enrolment = GroupEnrolment.objects.get(group=group, customer=customer)
    response = superuser.post(f"/admin/targets/groupenrolment/{enrolment.id}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert GroupEnrolment.objects.filter(pk=enrolment.pk).exists()
    assert types(customer) == ["ENROLLED"]


# --- groups and rules ------------------------------------------------------------------------


@pytest.fixture
def achieved():
    """A customer who reached a milestone and the target of period 1 (and another who did not)."""
    group = group_with_periods(periods=5, triggers=["500"])
    customer, other = CustomerFactory(org=group.org), CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1), 1000))
    ingest(other, item(other, at(1), 10))
    assert sorted(types(customer)) == ["ENROLLED", "MILESTONE_ACHIEVED", "TARGET_ACHIEVED"]
    return group, customer, other


def assert_group_revoked(group, customer, other, mark):
    assert not TargetRule.objects.filter(pk=group.rules_ids[0]).exists()  # gone
    rule_id, trigger_id, rule_name, trigger_name = group.rules_ids
    assert revoked(customer, mark) == [
        ("MILESTONE_ACHIEVED", rule_id, trigger_id, None),
        ("TARGET_ACHIEVED", rule_id, None, None),
    ]
    events = Event.objects.filter(user_id=customer.id, id__gt=mark)
    assert {(e.group_name, e.rule_name, e.period_ref_code) for e in events} == {
        (group.name, rule_name, "Cycle_1")
    }
    assert {e.trigger_name for e in events} == {"", trigger_name}
    assert types(other, mark) == []  # nothing achieved, nothing revoked


def remember(group):
    rule = group.rules.get()
    trigger = rule.triggers.get()
    group.rules_ids = (rule.id, trigger.id, rule.name, trigger.trigger_name)
    return group


def test_deleting_a_group_through_the_service_revokes_its_achievements_once(achieved):
    group, customer, other = achieved
    remember(group)
    mark = last_id()
    group_delete(group=group, actor=None, now=NOW, force=True)
    assert_group_revoked(group, customer, other, mark)
    assert not UserTarget.objects.filter(customer=customer).exists()
    # A later write of the customer announces nothing about the deleted group again.
    done = last_id()
    ingest(customer, item(customer, at(2), 1000))
    assert types(customer, done) == []


def test_a_group_holding_progress_deleted_without_force_is_deactivated_and_announces_nothing(achieved):
    group, customer, _other = achieved
    mark = last_id()
    outcome = group_delete(group=group, actor=None, now=NOW)
    assert not outcome.deleted
    assert types(customer, mark) == []


def test_deleting_a_group_on_its_admin_page_revokes(superuser, achieved):
    group, customer, other = achieved
    remember(group)
    mark = last_id()
    response = superuser.post(f"/admin/targets/targetgroup/{group.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not TargetGroup.objects.filter(pk=group.pk).exists()
    assert_group_revoked(group, customer, other, mark)


def test_delete_selected_groups_revokes_each_groups_achievements(superuser, achieved):
    group, customer, other = achieved
    remember(group)
    second = group_with_periods(periods=5, org=group.org)
    ingest(customer, item(customer, at(3), 1000))  # achieves in both groups
    mark = last_id()
    response = superuser.post(
        "/admin/targets/targetgroup/",
        {"action": "delete_selected", "_selected_action": [group.id, second.id], "post": "yes"},
    )
    assert response.status_code == 302
    assert not TargetGroup.objects.filter(pk__in=[group.pk, second.pk]).exists()
    events = Event.objects.filter(user_id=customer.id, id__gt=mark)
    assert sorted((e.group_id, e.revoked_type, e.period_ref_code) for e in events) == sorted(
        [
            (group.id, "MILESTONE_ACHIEVED", "Cycle_1"),
            (group.id, "MILESTONE_ACHIEVED", "Cycle_3"),
            (group.id, "TARGET_ACHIEVED", "Cycle_1"),
            (group.id, "TARGET_ACHIEVED", "Cycle_3"),
            (second.id, "TARGET_ACHIEVED", "Cycle_3"),
        ]
    )


def test_the_api_delete_with_force_revokes(client_for, achieved):
    group, customer, other = achieved
    remember(group)
    user = api_user(group.org, perms=("targets.delete_targetgroup", "targets.change_targetgroup"))
    user.is_superuser = True
    user.save()
    mark = last_id()
    response = client_for(user.username, PASSWORD).delete(f"/v3/targetGroups/{group.id}?force=true")
    assert response.status_code == 200, response.content
    assert body(response)["data"] == {"id": group.id, "deleted": True}
    assert_group_revoked(group, customer, other, mark)


def test_deleting_a_unified_group_revokes_its_periods_and_streaks_too():
    group = group_with_periods(
        periods=5,
        tracking_type="UNIFIED",
        rule_kwargs=[
            {"target_type": "GROSS_SALES", "target_value": 100},
            {"target_entity": "EVENT", "event_name": "Visit", "target_type": "COUNT", "target_value": 1},
        ],
    )
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(2), 150), item(customer, at(2, 13), entity="EVENT", event="Visit"))
    assert "UNIFIED_TARGET_ACHIEVED" in types(customer)
    mark = last_id()
    group_delete(group=group, actor=None, now=NOW, force=True)
    assert [r[0] for r in revoked(customer, mark)] == [
        "TARGET_ACHIEVED",
        "TARGET_ACHIEVED",
        "UNIFIED_TARGET_ACHIEVED",
    ]

    streaks = group_with_periods(periods=5, tracking_type="STREAKS", streaks=[1], org=group.org)
    streak, rule = streaks.streaks.get(), streaks.rules.get()
    ingest(customer, item(customer, at(2), 1000))
    mark = last_id()
    group_delete(group=streaks, actor=None, now=NOW, force=True)
    assert revoked(customer, mark) == [
        ("STREAK_ACHIEVED", None, None, streak.id),
        ("TARGET_ACHIEVED", rule.id, None, None),
    ]
    assert Event.objects.get(id__gt=mark, revoked_type="STREAK_ACHIEVED").streak_name == streak.name


def test_the_feed_and_the_webhooks_serve_a_deleted_groups_revocations(achieved):
    group, customer, _other = achieved
    remember(group)
    endpoint = endpoint_create(org_id=group.org_id, url="https://hooks.example.com/x", now=NOW)
    dispatch.fan_out(now=NOW)
    mark = last_id()
    group_delete(group=group, actor=None, now=NOW, force=True)
    page = event_page(org_ids=[group.org_id], limit=1000)
    listed = [e for e in page.events if e["userId"] == customer.id and e["type"] == "ACHIEVEMENT_REVOKED"]
    assert {(e["groupId"], e["groupName"], e["targetName"]) for e in listed} == {
        (group.id, group.name, group.rules_ids[2])
    }
    assert dispatch.fan_out(now=NOW) >= 2
    for event in Event.objects.filter(id__gt=mark):
        delivery = WebhookDelivery.objects.get(endpoint=endpoint, event=event)
        sent = json.loads(dispatch.body_of(delivery))
        assert (sent["type"], sent["groupId"], sent["groupName"]) == (
            "ACHIEVEMENT_REVOKED",
            group.id,
            group.name,
        )


def test_deleting_a_rule_in_the_admin_revokes_it_and_refreshes_the_group(superuser):
    group = group_with_periods(periods=5, tracking_type="STREAKS", streaks=[1], triggers=["500"])
    rule = group.rules.get()
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(2), 1000))
    assert sorted(types(customer)) == ["ENROLLED", "MILESTONE_ACHIEVED", "STREAK_ACHIEVED", "TARGET_ACHIEVED"]
    mark = last_id()
    response = superuser.post(f"/admin/targets/targetrule/{rule.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    trigger_id = Event.objects.get(type="MILESTONE_ACHIEVED", user_id=customer.id).trigger_id
    streak_id = group.streaks.get().id
    # The rule's achievements by the deletion, the streak (no rule achieves a period) by the refresh.
    assert revoked(customer, mark) == [
        ("MILESTONE_ACHIEVED", rule.id, trigger_id, None),
        ("STREAK_ACHIEVED", None, None, streak_id),
        ("TARGET_ACHIEVED", rule.id, None, None),
    ]
    assert Event.objects.get(id__gt=mark, revoked_type="TARGET_ACHIEVED").rule_name == rule.name
    done = last_id()
    refresh_customers(group_id=group.id, customer_ids=[customer.id], now=NOW)
    assert types(customer, done) == []  # nothing announced twice


def test_deleting_the_missing_rule_of_a_unified_group_achieves_its_period():
    group = group_with_periods(
        periods=5,
        tracking_type="UNIFIED",
        rule_kwargs=[
            {"target_type": "GROSS_SALES", "target_value": 100},
            {"target_entity": "EVENT", "event_name": "Visit", "target_type": "COUNT", "target_value": 1},
            {"target_entity": "EVENT", "event_name": "Review", "target_type": "COUNT", "target_value": 1},
        ],
    )
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(2), 150), item(customer, at(2, 13), entity="EVENT", event="Visit"))
    assert "UNIFIED_TARGET_ACHIEVED" not in types(customer)
    mark = last_id()
    rule_delete(rule=group.rules.get(event_name="Review"), actor=None, now=NOW)
    (unified,) = Event.objects.filter(user_id=customer.id, id__gt=mark)
    assert (unified.type, unified.achieved_value, unified.target_value) == ("UNIFIED_TARGET_ACHIEVED", 2, 2)

    mark = last_id()
    rule_delete(rule=group.rules.get(event_name="Visit"), actor=None, now=NOW)
    # The period stays achieved by the one rule left: only the visit target is revoked.
    assert [r[0] for r in revoked(customer, mark)] == ["TARGET_ACHIEVED"]
    assert types(customer, mark) == ["ACHIEVEMENT_REVOKED"]


def test_delete_selected_rules_revokes_each(superuser, achieved):
    group, customer, other = achieved
    remember(group)
    mark = last_id()
    response = superuser.post(
        "/admin/targets/targetrule/",
        {"action": "delete_selected", "_selected_action": [group.rules_ids[0]], "post": "yes"},
    )
    assert response.status_code == 302
    assert_group_revoked(group, customer, other, mark)
