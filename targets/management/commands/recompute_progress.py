"""python manage.py recompute_progress [--group ID] [--customer ID]

Rebuilds progress from stored activities with the engine's own refresh, in chunks of
customers, with a progress bar. The result is what the incremental path produces."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q
from tqdm import tqdm

from customers.models import Customer
from targets import clock
from targets.models import Enrolment, TargetGroup
from targets.progress.refresh import progress_refresh

CHUNK = 500


class Command(BaseCommand):
    help = "Rebuild customer progress from stored activities (all, one group, or one customer)."

    def add_arguments(self, parser):
        parser.add_argument("--group", type=int, help="only this target group")
        parser.add_argument("--customer", type=int, help="only this customer")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, group=None, customer=None, no_progress=False, **options):
        customers = Customer.objects.all()
        if customer is not None:
            customers = customers.filter(id=customer)
            if not customers.exists():
                raise CommandError(f"customer {customer} does not exist")
        if group is not None:
            target = TargetGroup.objects.filter(id=group).first()
            if target is None:
                raise CommandError(f"target group {group} does not exist")
            associated = Q(enrolments__group_id=group)
            if target.enrolment == Enrolment.ALL_CUSTOMERS:
                associated |= Q(org_id=target.org_id)
            customers = customers.filter(associated).distinct()
        ids = list(customers.order_by("id").values_list("id", flat=True))
        now = clock.now()
        with tqdm(
            total=len(ids), unit="customer", desc="recompute", disable=no_progress, file=self.stderr
        ) as bar:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                with transaction.atomic():
                    list(
                        Customer.objects.select_for_update()
                        .filter(id__in=chunk)
                        .order_by("id")
                        .values_list("id")
                    )
                    progress_refresh(customer_ids=chunk, now=now, group_ids=[group] if group else None)
                bar.update(len(chunk))
        self.stdout.write(f"recomputed progress of {len(ids)} customers")
