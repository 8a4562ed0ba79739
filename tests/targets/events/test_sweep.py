"""`manage.py sweep_streaks`: once (cron) and --schedule (the periodic task, enqueued once)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_tasks_db.models import DBTaskResult

from targets.events.models import Event
from targets.events.sweep import streak_drop_candidates
from tests.factories import CustomerFactory, group_with_periods
from tests.targets.test_engine import at, ingest, item

pytestmark = pytest.mark.django_db


def test_the_command_announces_a_drop_once_and_schedules_one_periodic_task(settings):
    group = group_with_periods(periods=5, tracking_type="STREAKS", streaks=[3])
    customer = CustomerFactory(org=group.org)
    ingest(customer, item(customer, at(1), 1000), now=at(1, 13))
    assert streak_drop_candidates(now=at(3, 1)) == {group.id: [customer.id]}
    settings.TARGETS_NOW = at(3, 1).isoformat()
    out = StringIO()
    call_command("sweep_streaks", stdout=out)
    call_command("sweep_streaks", stdout=out)
    assert [e.type for e in Event.objects.filter(user_id=customer.id, type="STREAK_DROPPED")] == [
        "STREAK_DROPPED"
    ]
    assert "swept 1 customer streak(s)" in out.getvalue()

    call_command("sweep_streaks", "--schedule", stdout=out)
    call_command("sweep_streaks", "--schedule", stdout=out)
    assert (
        DBTaskResult.objects.filter(task_path="targets.events.tasks.sweep_streaks", status="READY").count()
        == 1
    )
    with pytest.raises(CommandError):
        call_command("sweep_streaks", "--since", "yesterday")
