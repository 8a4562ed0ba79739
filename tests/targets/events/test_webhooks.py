"""/v3/webhooks, the admin's endpoints and delivery log, the SSRF guard, the retry window, and
the secret kept out of answers and logs."""

import logging
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from targets.events import dispatch
from targets.events.guard import UnsafeURL, check_url
from targets.events.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from targets.events.signing import signature, verify
from targets.events.webhooks import endpoint_create
from tests.factories import EventFactory, OrgFactory
from tests.support import PASSWORD, api_user, assert_error, body
from tests.targets.events.receiver import Receiver

pytestmark = pytest.mark.django_db

URL = "/v3/webhooks"
PERMS = ("events.view_webhookendpoint", "events.change_webhookendpoint")


@pytest.fixture
def org():
    return OrgFactory()


@pytest.fixture
def api(org, client_for):
    return client_for(api_user(org, perms=PERMS).username, PASSWORD)


def test_an_endpoint_is_created_with_a_secret_shown_once(api, org):
    response = api.post(
        URL, {"url": "https://hooks.example.com/loyalty", "eventTypes": ["TARGET_ACHIEVED"]}, format="json"
    )
    assert response.status_code == 201, response.content
    created = body(response)["data"]
    assert created["secret"].startswith("whsec_") and created["secretHint"] == "…" + created["secret"][-4:]
    assert (created["orgId"], created["eventTypes"], created["active"]) == (org.id, ["TARGET_ACHIEVED"], True)

    shown = body(api.get(f"{URL}/{created['id']}"))["data"]
    listed = body(api.get(URL))["data"]
    assert "secret" not in shown and [w["id"] for w in listed] == [created["id"]]
    assert all("secret" not in w for w in listed)
    assert created["secret"] not in repr(WebhookEndpoint.objects.get()) + str(WebhookEndpoint.objects.get())

    changed = api.patch(f"{URL}/{created['id']}", {"active": False, "eventTypes": []}, format="json")
    assert body(changed)["data"]["active"] is False and body(changed)["data"]["eventTypes"] == []
    assert api.delete(f"{URL}/{created['id']}").status_code == 204
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(
    "data",
    [
        {"url": "ftp://hooks.example.com/"},
        {"url": "https://user:pw@hooks.example.com/"},
        {"url": "not a url"},
        {"url": "https://hooks.example.com/", "eventTypes": ["NOPE"]},
        {"url": "https://hooks.example.com/", "secret": "mine"},
        {"eventTypes": []},
        [],
    ],
)
def test_bad_endpoints_are_400_in_the_envelope(api, data):
    assert_error(api.post(URL, data, format="json"), 400, 300004)


def test_other_orgs_endpoints_are_not_found_and_permissions_are_needed(api, client_for):
    theirs = endpoint_create(org_id=OrgFactory().id, url="https://hooks.example.com/", now=timezone.now())
    assert_error(api.get(f"{URL}/{theirs.id}"), 404, 404)
    assert_error(api.patch(f"{URL}/{theirs.id}", {"active": False}, format="json"), 404, 404)
    assert_error(api.get(f"{URL}/abc"), 404, 404)
    reader = client_for(api_user(OrgFactory(), perms=("events.view_webhookendpoint",)).username, PASSWORD)
    assert reader.get(URL).status_code == 200
    assert_error(reader.post(URL, {"url": "https://hooks.example.com/"}, format="json"), 403, 403)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/",
        "http://localhost/",
        "http://10.1.2.3/",
        "http://192.168.0.10/",
        "http://172.16.5.4/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
    ],
)
def test_production_settings_refuse_internal_addresses(settings, api, url):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    with pytest.raises(UnsafeURL):
        check_url(url)
    assert_error(api.post(URL, {"url": url}, format="json"), 400, 300004)


def test_a_delivery_that_reaches_an_internal_address_is_refused_at_connect_time(settings, org):
    with Receiver() as receiver:
        endpoint = endpoint_create(org_id=org.id, url=receiver.url, now=timezone.now())  # allowed then
        EventFactory(org=org)
        dispatch.fan_out(now=timezone.now())
        settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False  # e.g. DNS now answers 127.0.0.1
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        assert (
            dispatch.deliver_queue(endpoint_id=endpoint.id, user_id=delivery.user_id, now_fn=timezone.now)
            == 1
        )
    delivery.refresh_from_db()
    assert receiver.received == []
    assert (delivery.status, delivery.last_response_code) == ("PENDING", None)
    assert "loopback, private or link-local" in delivery.last_error


def test_after_the_retry_window_a_delivery_fails_and_the_queue_moves_on(org, caplog):
    caplog.set_level(logging.DEBUG)
    clock = {"now": timezone.now()}
    with Receiver() as receiver:
        endpoint = endpoint_create(org_id=org.id, url=receiver.url, now=clock["now"])
        receiver.secret, receiver.fail_next = endpoint.secret, 10**6
        first, second = EventFactory(org=org, user_id=5), EventFactory(org=org, user_id=5)
        dispatch.fan_out(now=clock["now"])
        waits = []
        while WebhookDelivery.objects.get(event=first).status == DeliveryStatus.PENDING:
            dispatch.deliver_queue(endpoint_id=endpoint.id, user_id=5, now_fn=lambda: clock["now"])
            head = WebhookDelivery.objects.get(event=first)
            if head.status == DeliveryStatus.PENDING:
                waits.append(head.next_attempt_at - clock["now"])
                clock["now"] = head.next_attempt_at
                assert not WebhookDelivery.objects.get(event=second).attempts  # waits behind it
        failed = WebhookDelivery.objects.get(event=first)
        assert failed.status == "FAILED" and failed.last_response_code == 500
        assert failed.last_attempt_at - failed.first_attempt_at >= timedelta(hours=24)
        assert waits[:4] == [timedelta(minutes=m) for m in (1, 2, 4, 8)] and max(waits) == timedelta(hours=6)
        assert failed.attempts == len(waits) + 1
        assert WebhookDelivery.objects.get(event=second).attempts == 1  # the queue went on
    assert len({r["delivery"] for r in receiver.received if r["event"] == str(first.uuid)}) == 1
    assert endpoint.secret not in caplog.text


def test_the_signature_is_checked_as_documented():
    secret, body_bytes = "whsec_test", b'{"type":"TEST"}'
    header = signature(secret, 1_700_000_000, body_bytes)
    assert verify(secret, header, body_bytes, now=1_700_000_100)
    assert not verify(secret, header, body_bytes + b" ", now=1_700_000_100)
    assert not verify("whsec_other", header, body_bytes, now=1_700_000_100)
    assert not verify(secret, header, body_bytes, now=1_700_001_000)  # too old: replayed
    assert not verify(secret, "v1=abc", body_bytes, now=1_700_000_100)


@pytest.fixture
def superuser_client(db):
    user = get_user_model().objects.create_superuser("hookadmin", "h@example.com", "pw-hookadmin-1")
    client = Client()
    client.force_login(user)
    return client


def test_the_admin_shows_the_secret_once_sends_a_test_event_and_lists_deliveries(superuser_client, org):
    response = superuser_client.post(
        "/admin/events/webhookendpoint/add/",
        {
            "org": org.id,
            "url": "https://hooks.example.com/x",
            "description": "CRM",
            "event_types": ["STREAK_ACHIEVED"],
            "active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get(org=org)
    assert endpoint.event_types == ["STREAK_ACHIEVED"]
    assert endpoint.secret in response.content.decode()  # the one time it is shown
    page = superuser_client.get(f"/admin/events/webhookendpoint/{endpoint.id}/change/").content.decode()
    assert endpoint.secret not in page and endpoint.secret_hint in page

    superuser_client.post(
        "/admin/events/webhookendpoint/",
        {"action": "send_test_event", "_selected_action": [endpoint.id]},
        follow=True,
    )
    test = WebhookDelivery.objects.get(endpoint=endpoint)
    assert test.test_payload["type"] == "TEST" and test.status == "PENDING"
    WebhookDelivery.objects.filter(pk=test.pk).update(status="FAILED", attempts=7)
    log = superuser_client.get(f"/admin/events/webhookdelivery/?endpoint__id__exact={endpoint.id}")
    assert log.status_code == 200 and str(test.uuid) in log.content.decode()
    superuser_client.post(
        "/admin/events/webhookdelivery/",
        {"action": "resend", "_selected_action": [test.id]},
        follow=True,
    )
    test.refresh_from_db()
    assert (test.status, test.attempts) == ("PENDING", 7)


def test_the_admin_refuses_an_internal_url_in_production(superuser_client, org, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    response = superuser_client.post(
        "/admin/events/webhookendpoint/add/",
        {"org": org.id, "url": "http://169.254.169.254/", "active": "on"},
    )
    assert response.status_code == 200 and "link-local" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()
