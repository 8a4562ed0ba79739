"""python manage.py seed_demo [--reset]: the demo orgs, customers, programs, progress and logins."""

from django.core.management.base import BaseCommand
from django.db import transaction

from customers.models import Actor, Customer, Org
from targets import clock
from targets.demo import seed
from targets.demo.logins import create_logins
from targets.models import TargetGroup


class Command(BaseCommand):
    help = "Create the demo data of SPEC §7 (idempotent; --reset rebuilds it from scratch)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="delete the demo orgs' data and build it again"
        )

    def handle(self, *args, reset=False, **options):
        with transaction.atomic():
            if Org.objects.filter(id=seed.EXAMPLE_ORG).exists():
                if not reset:
                    self.stdout.write("Demo data already present; nothing changed (use --reset to rebuild).")
                    return
                self.delete_demo()
            self.build()
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    def delete_demo(self):
        orgs = seed.DEMO_ORGS
        TargetGroup.objects.filter(org_id__in=orgs).delete()
        Customer.objects.filter(org_id__in=orgs).delete()
        Actor.objects.filter(org_id__in=orgs).delete()
        for org_id in orgs:
            Org.objects.filter(id=org_id).delete()

    def build(self):
        now = clock.now()
        data = seed.load_example()
        example = seed.seed_example_org(data)
        seed.replay_example_history(example, data)
        coffee, customers = seed.seed_demo_coffee(example, now)
        seed.seed_unrelated(now)
        create_logins(
            tills={"tillrustaging2": 50150886, "democoffee": 60000002, "unrelated": 70000002},
            staff={"staff50363": seed.STAFF_ACTOR, "staff60001": 60000001},
            admin_actor_id=4,
        )
        seed.replay_demo_coffee(coffee, customers, now)
        seed.reset_sequences()
