"""A background refresh run by a real `manage.py db_worker` process (issue 12, point 2).

PostgreSQL only: the worker is another process and must see the committed test database (the
SQLite test database lives in this process's memory). The in-process worker path is tested on
both databases in test_refresh.py."""

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from django.db import connection

from targets.configuration import group_create, group_update
from targets.models import ProgressRefresh, RefreshStatus, UserTarget
from targets.progress.ingest import activity_ingest
from tests.factories import CustomerFactory, OrgFactory

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.fromisoformat("2024-08-30T09:00:00+00:00")

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")


def database_url():
    s = connection.settings_dict
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{s['USER']}{password}@{s['HOST'] or 'localhost'}:{s['PORT'] or 5432}/{s['NAME']}"


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_worker_process_runs_the_refresh_and_the_state_says_done(settings):
    org = OrgFactory()
    customers = CustomerFactory.create_batch(3, org=org)
    data = {
        "name": "Visits",
        "target_evaluation_type": "FIXED_CALENDAR_WINDOW",
        "tracking_type": "DEFAULT",
        "frequency_type": "DAILY",
        "frequency": 1,
        "total_periods": 3,
        "start": datetime.fromisoformat("2024-08-29T00:00:00+00:00"),
        "end": datetime.fromisoformat("2024-08-31T23:59:59+00:00"),
        "rules": [
            {
                "name": "Coffees",
                "target_entity": "EVENT",
                "event_name": "Coffee",
                "target_type": "COUNT",
                "target_value": 3,
                "triggers": [],
            }
        ],
    }
    group = group_create(org=org, actor=None, data=data, now=NOW).group
    activity_ingest(
        org=org,
        items=[
            {
                "userId": c.id,
                "entity": "EVENT",
                "eventName": "Coffee",
                "occurredAt": "2024-08-30T08:00:00Z",
                "externalId": f"w-{c.id}",
            }
            for c in customers
        ],
        now=NOW,
    )
    settings.REFRESH_INLINE_LIMIT = 1
    rule = data["rules"][0] | {"id": group.rules.get().id, "target_value": 1}
    group_update(group=group, actor=None, data={"rules": [rule]}, now=NOW, partial=True)
    refresh = ProgressRefresh.objects.get(group=group, background=True)
    assert refresh.status == RefreshStatus.PENDING
    assert not UserTarget.objects.filter(rule__group=group, achieved_at__isnull=False).exists()

    env = {**os.environ, "DATABASE_URL": database_url(), "TARGETS_NOW": NOW.isoformat()}
    worker = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-reload", "--no-startup-delay"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert worker.returncode == 0, worker.stderr
    refresh.refresh_from_db()
    assert (refresh.status, refresh.customers_done, refresh.customers_total) == (RefreshStatus.DONE, 3, 3)
    assert UserTarget.objects.filter(rule__group=group, achieved_at__isnull=False).count() == 3
