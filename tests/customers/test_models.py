"""Invariants of orgs, customers, profiles and channels (SPEC §2)."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from customers.models import Actor, CommChannel, Customer, CustomerProfile, Org
from tests.factories import ActorFactory, ChannelFactory, CustomerFactory, OrgFactory, ProfileFactory

pytestmark = pytest.mark.django_db


def clean_errors(obj):
    try:
        obj.full_clean()
    except ValidationError as error:
        return error.message_dict
    return {}


# --- Org -------------------------------------------------------------------------------------


def test_org_timezone_must_be_iana():
    assert clean_errors(Org(name="Nowhere", timezone="Mars/Olympus"))["timezone"] == [
        "'Mars/Olympus' is not an IANA timezone."
    ]
    assert clean_errors(Org(name="Kolkata", timezone="Asia/Kolkata")) == {}
    assert Org(name="x", timezone="Europe/London").tz.key == "Europe/London"


def test_org_cannot_be_its_own_parent():
    org = OrgFactory()
    org.parent = org
    assert clean_errors(org)["parent"] == ["An org cannot be its own parent."]


def test_connected_orgs_have_one_level():
    parent = OrgFactory()
    child = OrgFactory(parent=parent)
    grandchild = Org(name="Too deep", parent=child)
    assert clean_errors(grandchild)["parent"] == ["Connected orgs have one level: the parent has no parent."]


def test_a_parent_cannot_become_a_child():
    parent = OrgFactory()
    OrgFactory(parent=parent)
    parent.parent = OrgFactory()
    assert clean_errors(parent)["parent"] == ["An org with children cannot become a child."]


def test_the_demo_orgs_are_connected_as_the_spec_says(demo):
    assert Org.objects.get(id=60001).parent_id == 50363
    assert Org.objects.get(id=70001).parent_id is None
    assert list(Org.objects.get(id=50363).children.values_list("id", flat=True)) == [60001]


# --- Customer --------------------------------------------------------------------------------


def test_lifetime_purchases_are_not_negative():
    customer = CustomerFactory.build(org=OrgFactory(), lifetime_purchases=Decimal("-1"))
    assert clean_errors(customer)
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(lifetime_purchases=Decimal("-1"))


@pytest.mark.parametrize("value", [[], "text", 3])
def test_custom_fields_are_a_json_object(value):
    customer = CustomerFactory.build(org=OrgFactory(), custom_fields=value)
    assert clean_errors(customer)["custom_fields"] == ["Custom fields must be a JSON object."]


@pytest.mark.parametrize("field", ["created_by", "last_updated_by"])
def test_attribution_actors_belong_to_the_customers_org(field):
    org = OrgFactory()
    customer = CustomerFactory.build(org=org, **{field: ActorFactory(org=OrgFactory())})
    assert clean_errors(customer)[field] == ["The actor belongs to another org."]
    assert clean_errors(CustomerFactory.build(org=org, **{field: ActorFactory(org=org)})) == {}


def test_customer_ids_are_given_by_the_data():
    customer = CustomerFactory(id=347286146123)
    assert Customer.objects.get(id=347286146123) == customer
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(id=347286146123)


def test_loyalty_type_choices():
    assert "loyalty_type" in clean_errors(CustomerFactory.build(org=OrgFactory(), loyalty_type="gold"))


# --- profiles, channels, actors --------------------------------------------------------------


def test_a_profile_takes_its_customers_org():
    customer = CustomerFactory()
    profile = CustomerProfile(org=OrgFactory(), customer=customer, first_name="A")
    profile.save()
    assert CustomerProfile.objects.get(id=profile.id).org_id == customer.org_id


def test_a_channel_takes_its_profiles_org():
    profile = ProfileFactory()
    channel = CommChannel(org=OrgFactory(), profile=profile, type="email", value="a@example.com")
    channel.save()
    assert CommChannel.objects.get(id=channel.id).org_id == profile.org_id


def test_channel_subscribed_and_attributes_may_be_absent():
    channel = ChannelFactory(subscribed=None, attributes=None, account_id=None)
    assert clean_errors(channel) == {}


def test_actor_type_is_admin_user_or_till():
    assert "type" in clean_errors(ActorFactory.build(org=OrgFactory(), type="ROBOT"))
    assert {c for c, _ in Actor.Type.choices} == {"ADMIN_USER", "TILL"}


def test_one_django_user_acts_as_one_actor():
    from tests.factories import UserFactory

    user = UserFactory()
    ActorFactory(user=user)
    with pytest.raises(IntegrityError), transaction.atomic():
        ActorFactory(user=user)
