"""The rule admin: milestone triggers inline (never above the target value, also while the rule
is being added), per-period target values, and the group's rule count."""

from decimal import Decimal

import pytest

from targets.models import MilestoneTrigger, PeriodTargetValue, TargetRule
from tests.admin.forms import add_row, all_errors, inline, page_data, put
from tests.factories import GroupFactory, RuleFactory, TriggerFactory

RULE_URL = "/admin/targets/targetrule/{}/change/"
ADD_URL = "/admin/targets/targetrule/add/"


@pytest.fixture
def admin_client(login):
    return login("admin")


def rule_state():
    return (
        list(TargetRule.objects.order_by("id").values_list("id", "group_id", "name", "target_value")),
        list(MilestoneTrigger.objects.order_by("id").values_list("id", "rule_id", "trigger_value")),
        list(
            PeriodTargetValue.objects.order_by("id").values_list("id", "rule_id", "period_id", "target_value")
        ),
    )


def post_rejected(client, url, data):
    before = rule_state()
    response = client.post(url, data)
    assert response.status_code == 200, "the form was accepted"
    assert response.context["errors"]
    assert rule_state() == before
    return response


def new_rule_data(client, group, **fields):
    data = page_data(client.get(ADD_URL))
    values = {
        "group": group.id,
        "name": "New rule",
        "active": True,
        "target_entity": "TRANSACTION",
        "event_name": "TransactionAdd",
        "target_type": "GROSS_SALES",
        "target_value": "100",
        **fields,
    }
    for name, value in values.items():
        put(data, name, value)
    return data


def test_adding_a_rule_with_triggers(admin_client, demo):
    group = GroupFactory(org=demo, name="No rule yet")
    data = new_rule_data(admin_client, group)
    add_row(data, "triggers", trigger_name="Halfway", trigger_value="50")
    add_row(data, "triggers", trigger_name="Done", trigger_value="100")
    response = admin_client.post(ADD_URL, data)
    assert response.status_code == 302, all_errors(response)
    rule = TargetRule.objects.get(group=group)
    assert rule.org_id == 50363
    assert list(rule.triggers.values_list("trigger_name", "trigger_value", "org_id")) == [
        ("Halfway", Decimal("50"), 50363),
        ("Done", Decimal("100"), 50363),
    ]


def test_trigger_above_the_target_is_refused_on_a_new_rule(admin_client, demo):
    group = GroupFactory(org=demo, name="No rule yet")
    data = new_rule_data(admin_client, group)
    index = add_row(data, "triggers", trigger_name="Too far", trigger_value="150")
    response = post_rejected(admin_client, ADD_URL, data)
    assert inline(response, "triggers").forms[index].errors["trigger_value"] == [
        "Is above the target value 100"
    ]


def test_trigger_above_the_target_is_refused_on_an_existing_rule(admin_client):
    url = RULE_URL.format(113753)  # t1Fixed, target 1000
    data = page_data(admin_client.get(url))
    index = add_row(data, "triggers", trigger_name="Beyond", trigger_value="1500")
    response = post_rejected(admin_client, url, data)
    # The trigger's own clean() sees the rule once it exists.
    assert inline(response, "triggers").forms[index].errors["trigger_value"] == [
        "The trigger value is above the target value."
    ]


def test_lowering_the_target_below_a_trigger_is_refused(admin_client, demo):
    rule = RuleFactory(group=GroupFactory(org=demo), target_value=Decimal("1000"))
    TriggerFactory(rule=rule, trigger_name="Halfway", trigger_value=Decimal("500"))
    url = RULE_URL.format(rule.id)
    data = page_data(admin_client.get(url))
    put(data, "target_value", "400")
    response = post_rejected(admin_client, url, data)
    assert inline(response, "triggers").forms[0].errors["trigger_value"] == [
        "The trigger value is above the target value."
    ]


def test_lowering_target_and_trigger_together_is_accepted(admin_client, demo):
    rule = RuleFactory(group=GroupFactory(org=demo), target_value=Decimal("1000"))
    TriggerFactory(rule=rule, trigger_name="Halfway", trigger_value=Decimal("500"))
    url = RULE_URL.format(rule.id)
    data = page_data(admin_client.get(url))
    put(data, "target_value", "400")
    put(data, "triggers-0-trigger_value", "200")
    response = admin_client.post(url, data)
    assert response.status_code == 302, all_errors(response)
    assert rule.triggers.get().trigger_value == Decimal("200")


def test_negative_trigger_is_refused(admin_client):
    url = RULE_URL.format(113753)
    data = page_data(admin_client.get(url))
    index = add_row(data, "triggers", trigger_name="Below zero", trigger_value="-1")
    response = post_rejected(admin_client, url, data)
    assert inline(response, "triggers").forms[index].errors["trigger_value"] == [
        "The trigger value cannot be negative."
    ]


def test_second_rule_on_a_default_group_is_refused(admin_client):
    t1fixed = TargetRule.objects.get(id=113753).group
    response = post_rejected(admin_client, ADD_URL, new_rule_data(admin_client, t1fixed))
    assert response.context["adminform"].form.non_field_errors() == [
        "Program t1Fixed: A “One target” group needs exactly one target, got 2"
    ]


def test_a_third_rule_on_a_unified_group_is_accepted(admin_client, demo):
    group = GroupFactory(org=demo, tracking_type="UNIFIED")
    RuleFactory(group=group)
    RuleFactory(group=group)
    response = admin_client.post(ADD_URL, new_rule_data(admin_client, group))
    assert response.status_code == 302, all_errors(response)
    assert group.rules.count() == 3


def test_zero_target_value_is_refused(admin_client):
    url = RULE_URL.format(113753)
    data = page_data(admin_client.get(url))
    put(data, "target_value", "0")
    response = post_rejected(admin_client, url, data)
    assert response.context["adminform"].form.errors["target_value"] == [
        "The target value must be greater than 0."
    ]


def test_sum_without_attribute_is_refused(admin_client):
    url = RULE_URL.format(113753)
    data = page_data(admin_client.get(url))
    put(data, "target_type", "SUM")
    response = post_rejected(admin_client, url, data)
    assert response.context["adminform"].form.errors["attribute"] == [
        "A SUM target needs the activity attribute to add."
    ]


def test_per_period_target_values(admin_client):
    url = RULE_URL.format(113753)
    response = admin_client.get(url)
    choices = inline(response, "period_values").form.base_fields["period"].queryset
    assert set(choices.values_list("id", flat=True)) == {68691, 68692, 68693, 68694, 68695}
    data = page_data(response)
    add_row(data, "period_values", period=68695, target_value="2000")
    response = admin_client.post(url, data)
    assert response.status_code == 302, all_errors(response)
    override = PeriodTargetValue.objects.get(rule_id=113753)
    assert (override.period_id, override.target_value, override.org_id) == (68695, Decimal("2000"), 50363)


def test_per_period_value_of_another_group_is_refused(admin_client):
    url = RULE_URL.format(113753)
    data = page_data(admin_client.get(url))
    index = add_row(data, "period_values", period=38375, target_value="2000")  # Ac test's period
    response = post_rejected(admin_client, url, data)
    assert "period" in inline(response, "period_values").forms[index].errors


def test_the_group_of_a_rule_is_fixed_once_created(admin_client):
    url = RULE_URL.format(113753)
    data = page_data(admin_client.get(url))
    data["group"] = "33008"
    response = admin_client.post(url, data)
    assert response.status_code == 302
    assert TargetRule.objects.get(id=113753).group_id == 53230
