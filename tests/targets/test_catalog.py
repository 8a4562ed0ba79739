"""The engine's cached configuration (targets.progress.catalog): reused while the org's configuration
version holds, never stale — whatever writes the configuration, a rolled-back change, another
process (issue 12, point 3)."""

import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from targets.models import TargetRule, UserTarget
from targets.progress import catalog
from targets.progress.ingest import activity_ingest
from tests.factories import T0, CustomerFactory, OrgFactory, group_with_periods
from tests.targets.test_tasks_worker import database_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def program(db):
    catalog.clear()
    org = OrgFactory()
    group = group_with_periods(org=org, periods=3, rule_kwargs={"target_value": Decimal(100)})
    return org, group, group.rules.get()


def target_of(org, rule):
    return catalog.group_configs(org_ids={org.id})[rule.group_id].rules[0].target_value


def test_an_unchanged_configuration_is_read_once(program):
    org, _, rule = program
    assert target_of(org, rule) == 100

    with CaptureQueriesContext(connection) as queries:
        assert target_of(org, rule) == 100

    assert len(queries) == 1  # the version


def test_a_write_by_any_door_is_seen_at_once(program):
    org, group, rule = program
    target_of(org, rule)

    TargetRule.objects.filter(id=rule.id).update(target_value=Decimal(50))  # no save(), no signal
    assert target_of(org, rule) == 50

    group.periods.filter(customer__isnull=True).order_by("sequence").last().delete()
    assert len(catalog.group_configs(org_ids={org.id})[group.id].periods) == 2


def test_a_rolled_back_change_is_not_kept(program):
    org, _, rule = program
    target_of(org, rule)

    with transaction.atomic():
        TargetRule.objects.filter(id=rule.id).update(target_value=Decimal(50))
        assert target_of(org, rule) == 50
        transaction.set_rollback(True)

    assert target_of(org, rule) == 100


def test_another_orgs_change_keeps_the_copy(program):
    org, _, rule = program
    target_of(org, rule)
    group_with_periods(org=OrgFactory(), periods=1)

    with CaptureQueriesContext(connection) as queries:
        target_of(org, rule)

    assert len(queries) == 1


def coffee(customer, n):
    return {
        "userId": customer.id,
        "entity": "TRANSACTION",
        "eventName": "TransactionAdd",
        "occurredAt": (T0 + timedelta(hours=1, minutes=n)).isoformat(),
        "amount": "60",
        "externalId": f"catalog-{n}",
    }


@pytest.mark.skipif(connection.vendor != "postgresql", reason="another process needs a shared database")
@pytest.mark.django_db(transaction=True)
def test_a_change_committed_by_another_process_applies_to_the_next_activity():
    catalog.clear()
    org = OrgFactory()
    group = group_with_periods(org=org, periods=3, rule_kwargs={"target_value": Decimal(100)})
    rule = group.rules.get()
    customer = CustomerFactory(org=org)
    activity_ingest(org=org, items=[coffee(customer, 1)], now=T0 + timedelta(days=1))  # warms the cache

    change = (
        "from targets.models import TargetRule; "
        f"TargetRule.objects.filter(id={rule.id}).update(target_value=50)"
    )
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", change],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr

    activity_ingest(org=org, items=[coffee(customer, 2)], now=T0 + timedelta(days=1))

    user_target = UserTarget.objects.get(customer=customer, rule=rule)
    assert user_target.achieved_value == 120
    assert user_target.achieved_at == T0 + timedelta(hours=1, minutes=2)  # reached 50 at the second, not 100
