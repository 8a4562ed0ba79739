"""Background tasks (django-tasks). `manage.py db_worker` runs them; `make run` starts one."""

from django_tasks import task

from targets import clock
from targets.refresh import run_pending_refresh


@task()
def run_refresh(refresh_id: int) -> None:
    """Refresh a group's progress after a large configuration change (targets.refresh)."""
    run_pending_refresh(refresh_id=refresh_id, now_fn=clock.now)
