"""Measure the staff customer search over a large org (issue 15 §2): `manage.py bench_staff_search`.

Creates (once; `--drop` removes it) org 880001 with N customers (default 200,000), each with a
profile and a mobile and an email channel, then runs every query shape of the search page — the
search query, its bounded count and the result rows — through the same functions as the view,
several times each, and prints the median time in ms. For PostgreSQL (production); works on
SQLite too. Figures: docs/security.md.
"""

import statistics
import time
from datetime import UTC, datetime

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from customers.models import CommChannel, Customer, CustomerProfile, Org
from targets.staff import queries

NOW = datetime(2024, 8, 30, tzinfo=UTC)
ORG = 880001
FIRST_ID = 8_800_000_000
SHAPES = [
    "",
    "9",
    "8",
    "a b c d e f 1 2",
    "88000",
    "8800012345",
    "Asha",
    "zzzz-nobody",
    "@example.com",
    "9199",
    "ab",
    "Customer 123",
]
NAMES = ["Asha", "Ravi", "Maria", "Chen", "Olu", "Sven", "Ana", "Kofi", "Yuki", "Lena"]


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=200_000)
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--drop", action="store_true", help="remove the benchmark org and stop")

    def handle(self, *args, customers, repeat, drop, **options):
        if drop:
            self.drop()
            return
        self.ensure(customers)
        org_ids = {ORG: "Search bench"}
        self.stdout.write(
            f"{connection.vendor}: {Customer.objects.filter(org_id=ORG).count():,} customers in the org"
        )
        for q in SHAPES:
            times, count = [], None
            for _ in range(repeat):
                started = time.perf_counter()
                paginator = queries.BoundedPaginator(queries.search_customers(org_ids=org_ids, q=q), 25)
                page = paginator.get_page(1)
                rows = queries.customer_rows(customers=page.object_list, org_ids=org_ids)
                count = f"{paginator.count - 1:,}+" if paginator.capped else f"{paginator.count:,}"
                times.append((time.perf_counter() - started) * 1000)
                assert len(rows) <= 25
            self.stdout.write(
                f"  q={q!r:24} {statistics.median(times):8.1f} ms  (max {max(times):.1f})  matches: {count}"
            )

    def ensure(self, total):
        org, _ = Org.objects.get_or_create(
            id=ORG, defaults={"name": "Search bench", "timezone": "Asia/Kolkata"}
        )
        have = Customer.objects.filter(org=org).count()
        if have >= total:
            return
        self.stdout.write(f"creating {total - have:,} customers …")
        batch = 10_000
        for start in range(have, total, batch):
            ids = range(FIRST_ID + start, FIRST_ID + min(start + batch, total))
            with transaction.atomic():
                Customer.objects.bulk_create(
                    [Customer(id=cid, org=org, created_on=NOW, last_updated_on=NOW) for cid in ids],
                    batch_size=2000,
                )
                profiles = CustomerProfile.objects.bulk_create(
                    [
                        CustomerProfile(
                            org=org, customer_id=cid, first_name=NAMES[cid % 10], last_name=f"Customer {cid}"
                        )
                        for cid in ids
                    ],
                    batch_size=2000,
                )
                CommChannel.objects.bulk_create(
                    [
                        channel
                        for p in profiles
                        for channel in (
                            CommChannel(
                                org=org, profile=p, type="mobile", value=f"91{p.customer_id % 10**10:010d}"
                            ),
                            CommChannel(
                                org=org, profile=p, type="email", value=f"c{p.customer_id}@example.com"
                            ),
                        )
                    ],
                    batch_size=4000,
                )
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("ANALYZE customers_customer, customers_customerprofile, customers_commchannel")
            else:
                cursor.execute("ANALYZE")

    def drop(self):
        with transaction.atomic():
            CommChannel.objects.filter(org_id=ORG).delete()
            CustomerProfile.objects.filter(org_id=ORG).delete()
            Customer.objects.filter(org_id=ORG).delete()
            Org.objects.filter(id=ORG).delete()
