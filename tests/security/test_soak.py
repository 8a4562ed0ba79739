"""Concurrency soak on PostgreSQL (issue 8 §3).

A real server — gunicorn, 2 worker processes, on a free loopback port, on the test database,
clock pinned — serves 8 client threads for about 30 seconds. They mix reads of
GET /v3.1/users/{id}/targetGroups and POST /v3.1/activities batches for five customers of org
50363 (Basic auth as tillrustaging2). Some external ids are sent again on purpose, and some are
raced by several threads at once.

Afterwards:
- every posted external id is stored exactly once, and was answered APPLIED exactly once;
- no request failed (a DUPLICATE answer is by design, anything else is a failure);
- each customer's lifetime purchases equal the sum of its stored transactions;
- progress equals a recompute from stored activities: `recompute_progress` writes only
  differences, so the UserTarget, UserMilestone, UserStreak and enrolment rows are unchanged by it.

The server is stopped in a `finally` block; the run stops by itself after DURATION seconds."""

import base64
import hashlib
import json
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from customers.models import Customer, Org
from targets.models import Activity, GroupEnrolment, TargetPeriod, UserMilestone, UserStreak, UserTarget
from tests.conftest import DEMO_NOW
from tests.factories import CustomerFactory

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the soak runs on PostgreSQL")

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).parent / "gunicorn"
DURATION = 30  # seconds of load
THREADS = 8
STARTUP_DEADLINE = 30  # seconds for the server to accept connections
REQUEST_TIMEOUT = 20
AUTH = "Basic " + base64.b64encode(b"tillrustaging2:tillrustaging2").decode()
ORG = 50363
SHARED_IDS = 40  # ids that every thread posts too: raced on purpose


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url():
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_until_serving(port, server, deadline):
    """Poll the socket (bounded) until the server answers an HTTP request."""
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v3.1/", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # an answer (the API's 404 envelope): serving
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not start in time")


class Load:
    """The client side: what was sent, what came back."""

    def __init__(self, port, customers):
        self.base = f"http://127.0.0.1:{port}"
        self.customers = customers
        self.lock = threading.Lock()
        self.statuses = defaultdict(list)  # external id -> item statuses received
        self.failures = []
        self.reads = self.posts = 0

    def item(self, external_id):
        """The activity behind an external id: always the same content for the same id."""
        digest = int(hashlib.sha256(external_id.encode()).hexdigest(), 16)
        return {
            "userId": self.customers[digest % len(self.customers)],
            "entity": "TRANSACTION",
            "eventName": "TransactionAdd",
            "occurredAt": f"2024-08-{27 + digest % 3:02d}T{digest % 24:02d}:{digest % 60:02d}:00Z",
            "amount": str(Decimal(digest % 50000) / 100),
            "externalId": external_id,
        }

    def request(self, method, path, payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": AUTH, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.read()[:300]
        except OSError as error:
            return None, repr(error)

    def read(self, rng):
        customer = rng.choice(self.customers)
        status, body = self.request("GET", f"/v3.1/users/{customer}/targetGroups?includeInactive=true")
        ok = status == 200 and body["data"]["userId"] == customer
        with self.lock:
            self.reads += 1
            if not ok:
                self.failures.append(("read", customer, status, body))

    def post(self, rng, thread, counter, sent):
        ids = []
        for _ in range(rng.randint(1, 6)):
            roll = rng.random()
            if roll < 0.15 and sent:
                ids.append(rng.choice(sent))  # sent before: DUPLICATE by design
            elif roll < 0.35:
                ids.append(f"soak-shared-{rng.randrange(SHARED_IDS)}")  # raced by other threads
            else:
                counter[0] += 1
                ids.append(f"soak-{thread}-{counter[0]}")
        status, body = self.request("POST", "/v3.1/activities", [self.item(i) for i in ids])
        with self.lock:
            self.posts += 1
            if status != 200:
                self.failures.append(("post", ids, status, body))
                return
            results = body["data"]
            if [r["externalId"] for r in results] != ids:
                self.failures.append(("post", ids, status, results))
                return
            for result in results:
                self.statuses[result["externalId"]].append(result["status"])
                if result["status"] not in ("APPLIED", "DUPLICATE"):
                    self.failures.append(("item", result))
        sent.extend(ids)

    def run(self, thread, stop_at):
        rng = random.Random(1000 + thread)
        counter, sent = [0], []
        while time.monotonic() < stop_at:
            if rng.random() < 0.5:
                self.read(rng)
            else:
                self.post(rng, thread, counter, sent)


def progress_snapshot(customer_ids):
    """Every progress row of these customers, all fields, in id order."""
    return {
        model.__name__: list(model.objects.filter(**{lookup: customer_ids}).order_by("id").values())
        for model, lookup in [
            (UserTarget, "customer_id__in"),
            (UserMilestone, "user_target__customer_id__in"),
            (UserStreak, "customer_id__in"),
            (GroupEnrolment, "customer_id__in"),
            (TargetPeriod, "customer_id__in"),
        ]
    }


@pytest.mark.slow
def test_concurrent_reads_and_writes_lose_nothing_and_match_a_recompute(
    transactional_db, demo, security_figures, tmp_path
):
    org = Org.objects.get(id=ORG)
    customers = [347286146] + [CustomerFactory(org=org).id for _ in range(4)]
    lifetime_before = dict(Customer.objects.filter(id__in=customers).values_list("id", "lifetime_purchases"))
    assert not Activity.objects.filter(external_id__startswith="soak-").exists()

    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "TARGETS_NOW": DEMO_NOW,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "CONN_MAX_AGE": "0",
    }
    log = open(tmp_path / "gunicorn.log", "w+")  # noqa: SIM115 (closed in the finally block)
    server = subprocess.Popen(
        [str(GUNICORN), "config.wsgi:application", "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "60"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    load = Load(port, customers)
    try:
        wait_until_serving(port, server, time.monotonic() + STARTUP_DEADLINE)
        started = time.monotonic()
        stop_at = started + DURATION
        threads = [threading.Thread(target=load.run, args=(n, stop_at)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DURATION + REQUEST_TIMEOUT + 10)
        elapsed = time.monotonic() - started
        assert not any(thread.is_alive() for thread in threads), "a client thread hung"
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)
        log.seek(0)
        server_log = log.read()
        log.close()

    posted = set(load.statuses)
    security_figures["soak"] = {
        "requests": load.reads + load.posts,
        "reads": load.reads,
        "posts": load.posts,
        "activities": sum(len(s) for s in load.statuses.values()),
        "external_ids": len(posted),
        "duplicates": sum(s.count("DUPLICATE") for s in load.statuses.values()),
        "failures": len(load.failures),
        "seconds": elapsed,
    }
    assert load.failures == [], (load.failures[:5], server_log[-3000:])
    assert load.reads > 0 and load.posts > 0
    assert security_figures["soak"]["duplicates"] > 0  # the repeats and races did happen

    # Every posted external id stored exactly once, and answered APPLIED exactly once.
    stored = Counter(
        Activity.objects.filter(org_id=ORG, external_id__startswith="soak-").values_list(
            "external_id", flat=True
        )
    )
    assert set(stored) == posted
    assert set(stored.values()) == {1}
    assert {i: s.count("APPLIED") for i, s in load.statuses.items()} == dict.fromkeys(posted, 1)

    # No lost update of the customer rows.
    for customer in Customer.objects.filter(id__in=customers):
        spent = Activity.objects.filter(customer=customer, external_id__startswith="soak-").aggregate(
            total=Sum("amount")
        )["total"] or Decimal(0)
        assert customer.lifetime_purchases == lifetime_before[customer.id] + spent

    # Progress equals a recompute from the stored activities.
    before = progress_snapshot(customers)
    assert before["UserTarget"], "the soak's activities made progress"
    with open(os.devnull, "w") as sink:
        call_command("recompute_progress", "--no-progress", stdout=sink)
    assert progress_snapshot(customers) == before
