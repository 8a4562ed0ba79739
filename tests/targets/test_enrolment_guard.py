"""An enrolment never crosses orgs (issue 15 §6): the model says so in forms, the database refuses
it from any door (ORM, raw SQL, an org change of the group or the customer), and the engine
ignores such a row if one ever existed."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.test import Client

from customers.models import Customer
from targets.models import GroupEnrolment, TargetGroup, UserTarget
from tests.factories import (
    CustomerFactory,
    EnrolmentFactory,
    OrgFactory,
    cross_org_enrolment,
    group_with_periods,
)


def refused(action):
    with pytest.raises(IntegrityError), transaction.atomic():
        action()


@pytest.fixture
def two_orgs(db):
    mine, theirs = OrgFactory(), OrgFactory()
    group = group_with_periods(org=mine, enrolment="EXPLICIT")
    return mine, theirs, group, CustomerFactory(org=theirs)


def test_the_model_refuses_a_customer_of_another_org(two_orgs):
    mine, _theirs, group, stranger = two_orgs
    enrolment = GroupEnrolment(org=mine, group=group, customer=stranger, enrolled_on=group.start)
    with pytest.raises(ValidationError) as error:
        enrolment.full_clean()
    assert "customer" in error.value.message_dict


def test_the_database_refuses_it_through_the_orm_and_raw_sql(two_orgs):
    mine, theirs, group, stranger = two_orgs
    refused(
        lambda: GroupEnrolment.objects.create(
            org=mine, group=group, customer=stranger, enrolled_on=group.start
        )
    )
    refused(
        lambda: GroupEnrolment.objects.create(
            org=theirs, group=group, customer=stranger, enrolled_on=group.start
        )
    )
    refused(
        lambda: GroupEnrolment.objects.bulk_create(
            [GroupEnrolment(org=mine, group=group, customer=stranger, enrolled_on=group.start)]
        )
    )

    def raw_insert():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO targets_groupenrolment (org_id, group_id, customer_id, enrolled_on, source) "
                "VALUES (%s, %s, %s, %s, 'ADMIN')",
                [mine.id, group.id, stranger.id, group.start],
            )

    refused(raw_insert)
    assert not GroupEnrolment.objects.filter(customer=stranger).exists()


def test_an_enrolment_cannot_be_moved_across_orgs_afterwards(two_orgs):
    mine, theirs, group, _stranger = two_orgs
    member = CustomerFactory(org=mine)
    enrolment = EnrolmentFactory(group=group, customer=member)
    stranger_of_mine = CustomerFactory(org=theirs)
    refused(lambda: GroupEnrolment.objects.filter(pk=enrolment.pk).update(customer=stranger_of_mine))
    refused(lambda: Customer.objects.filter(pk=member.pk).update(org=theirs))
    refused(lambda: TargetGroup.objects.filter(pk=group.pk).update(org=theirs))
    # Without an enrolment, an org change is not this guard's business.
    loner = CustomerFactory(org=mine)
    Customer.objects.filter(pk=loner.pk).update(org=theirs)


def test_a_superuser_cannot_enrol_another_orgs_customer_in_the_admin(demo):
    from django.contrib.auth import get_user_model

    client = Client()
    client.force_login(get_user_model().objects.get(username="admin"))
    group = TargetGroup.objects.filter(org_id=60001).first()
    response = client.post("/admin/targets/groupenrolment/add/", {"group": group.id, "customer": 910000001})
    assert response.status_code == 200
    assert "customer" in response.context["adminform"].form.errors
    assert not GroupEnrolment.objects.filter(customer_id=910000001, group=group).exists()


def test_the_engine_ignores_a_cross_org_row(demo, client_for):
    """Org 70001's customer enrolled (by a row the database would refuse) in an EXPLICIT group of
    50363 whose rule its activity matches: no progress is stored under 50363."""
    group = group_with_periods(org=demo, enrolment="EXPLICIT")
    period = group.periods.order_by("sequence").first()
    cross_org_enrolment(group=group, customer=Customer.objects.get(id=910000001))
    rule = group.rules.get()
    item = {
        "userId": 910000001,
        "entity": rule.target_entity,
        "eventName": rule.event_name,
        "occurredAt": period.start.isoformat(),
        "amount": 10,
        "externalId": "cross-org-1",
    }
    response = client_for("unrelated").post(
        "/v3.1/activities", data=json.dumps([item]), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert json.loads(response.content)["data"][0]["status"] == "APPLIED"
    assert not UserTarget.objects.filter(customer_id=910000001, rule__group=group).exists()
