"""python manage.py sweep_streaks [--since ISO] [--schedule]

Finds continuous streaks broken by a period that closed unachieved (STREAK_DROPPED, see
docs/events.md): once now (for cron), or with --schedule by enqueuing the periodic task that
`db_worker` runs and that reschedules itself every STREAK_SWEEP_SECONDS."""

from django.core.management.base import BaseCommand, CommandError
from django_tasks_db.models import DBTaskResult

from targets import clock
from targets.clock import parse_instant
from targets.events.sweep import sweep_streak_drops


class Command(BaseCommand):
    help = "Emit STREAK_DROPPED for streaks broken by a closed period (once, or --schedule the task)."

    def add_arguments(self, parser):
        parser.add_argument("--since", help="only periods that ended from this instant (ISO-8601)")
        parser.add_argument("--schedule", action="store_true", help="enqueue the periodic sweep task")

    def handle(self, *args, since=None, schedule=False, **options):
        try:
            start = parse_instant(since) if since else None
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if schedule:
            from targets.events.tasks import sweep_streaks

            waiting = DBTaskResult.objects.filter(
                task_path="targets.events.tasks.sweep_streaks", status="READY"
            ).exists()
            if waiting:
                self.stdout.write("a sweep is already scheduled")
                return
            sweep_streaks.enqueue(start.isoformat() if start else None, True)
            self.stdout.write("sweep scheduled")
            return
        done = sweep_streak_drops(now=clock.now(), since=start)
        self.stdout.write(f"swept {done} customer streak(s)")
