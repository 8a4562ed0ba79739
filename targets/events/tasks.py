"""django-tasks tasks of the events package (run by `manage.py db_worker`)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from targets import clock
from targets.events import dispatch
from targets.events.sequencer import sequence_all
from targets.events.sweep import sweep_streak_drops


@task()
def dispatch_events() -> int:
    """Hand new events to the endpoints that subscribe to them."""
    return dispatch.fan_out(now=timezone.now())


@task()
def deliver_queue(endpoint_id: int, user_id: int | None) -> int:
    """Send one customer's pending deliveries to one endpoint, in order (wall-clock time: retries
    are real time, whatever TARGETS_NOW pins)."""
    return dispatch.deliver_queue(endpoint_id=endpoint_id, user_id=user_id, now_fn=timezone.now)


@task()
def sweep_streaks(since: str | None = None, reschedule: bool = True) -> int:
    """STREAK_DROPPED for the periods closed since the last sweep; then the next sweep is
    scheduled `STREAK_SWEEP_SECONDS` later, and webhook queues whose task was lost are kicked."""
    now = clock.now()
    sequence_all()  # feed positions for what committed, even when no one reads the feed
    done = sweep_streak_drops(now=now, since=datetime.fromisoformat(since) if since else None)
    for endpoint_id, user_id in dispatch.pending_queues():
        dispatch.enqueue_queues(endpoint_id, [user_id])
    if reschedule:
        every = timedelta(seconds=getattr(settings, "STREAK_SWEEP_SECONDS", 300))
        sweep_streaks.using(run_after=timezone.now() + every).enqueue(now.isoformat(), True)
    return done
