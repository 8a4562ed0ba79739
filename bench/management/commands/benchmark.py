"""python manage.py benchmark [--quick] [--json FILE] [--only read|periods|scale|ingest|events|single …]

Measures, side by side in one run on the configured database (issue 7, docs/scaling.md):

  read.queries.heavy/light  SQL queries of GET /v3.1/users/{id}/targetGroups?includeInactive=true,
                            authentication included, for a customer with 50 groups × 12 periods
                            and for one with a single group
  read.p50_ms / p95_ms      that request for the heavy customer, bearer token, through Django's
                            whole request stack (WSGI handler in-process)
  read.floor_ratio          ÷ the physical floor: the same rows by raw SQL, one query per table,
                            encoded with orjson into the same bytes (bench.floor)
  read.light_floor_ratio    the light customer's request ÷ its floor, measured like the heavy one
  read.naive_ratio          a nested-ModelSerializer implementation (bench.naive) ÷ ours
  read.period_ratio         the default (current-period) read of a customer in 10 FIXED DAILY
                            groups of 1,000 periods ÷ one in 10 MONTHLY groups of 12 periods: both
                            answers list 10 targets, so the cost should not follow the periods
  read.basic_ratio          the same request with HTTP Basic ÷ with the bearer token
  read.scale_ratio          PostgreSQL: with 1,000,000 UserTarget rows of other customers ÷ with
                            10,000 (--quick: 200,000)
  ingest.per_s              activities/s through `import_activities --workers N` (50,000 over
                            5,000 customers and 20 rules; --quick: 5,000 over 500; N = --workers,
                            default 4 on PostgreSQL, 1 elsewhere)
  ingest.serial_per_s       the same file through one worker
  ingest.api_per_s          the same activities through POST /v3.1/activities in batches of 500
  ingest.single_queries     SQL queries of one activity through the engine (activity_ingest)
  ingest.single_p50_ms      its time for a customer with 3 past activities …
  ingest.history_ratio      … and for one with 20,000 (--quick: 5,000) ÷ that: the cost of one
                            activity must not follow the customer's history
  ingest.events_off_per_s / ingest.events_off_serial_per_s
                            ingest.per_s / serial_per_s again with achievement events off
                            (EVENTS_ENABLED=false; docs/events.md)
  ingest.events_cost_ratio  events on ÷ events off (seconds), the mean of the two pairs, each the
                            median of its runs (issue 16: ≤ 1.10); `--only events` measures
                            these imports alone (--quick: two cycles of on, off, off, on)
  render.bytes              size of the heavy response

The dataset is built once (fixed seed, orgs 800000+) and reused; see bench.dataset.
The clock is pinned, DEBUG is off and the connection is kept across requests while measuring.
No threshold fails the run: the table says which targets hold.
"""

import base64
import json
import os
import statistics
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO
from pathlib import Path

import orjson
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from bench import dataset as ds
from bench.floor import floor_body
from bench.measure import (
    WSGIClient,
    count_queries,
    explain,
    kept_connection,
    median,
    percentile,
    run_side_by_side,
)
from targets.events.models import Event
from targets.models import Activity
from targets.progress.ingest import activity_ingest

NOW_ISO = ds.NOW.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Profile:
    name: str
    sizes: ds.Sizes
    rounds: int  # timed rounds of the read comparison (after `warmup` untimed ones)
    warmup: int
    naive_every: int  # the naive version, slow, is timed on one round in N
    scale_rounds: int
    small: int  # UserTarget rows of other customers before the growth …
    large: int  # … and after it (PostgreSQL)
    activities: int  # ingested, over `customers` customers
    customers: int
    history: int = 20_000  # past activities of the heavy customer of ingest.history_ratio
    singles: int = 40  # timed single activities per customer
    # Cycles of the events on/off imports (each: on, off, off, on, with N workers and with one).
    event_cycles: int = 1


# What --only selects (in the order they run).
PARTS = ("read", "periods", "scale", "ingest", "events", "single")
PROFILES = {
    "full": Profile(
        "full",
        sizes=ds.FULL,
        rounds=200,
        warmup=10,
        naive_every=4,
        scale_rounds=100,
        small=10_000,
        large=1_000_000,
        activities=50_000,
        customers=5_000,
    ),
    "quick": Profile(
        "quick",
        sizes=ds.FULL,
        rounds=40,
        warmup=3,
        naive_every=4,
        scale_rounds=30,
        small=10_000,
        large=200_000,
        activities=5_000,
        customers=500,
        history=5_000,
        singles=20,
        event_cycles=2,
    ),
    # For the smoke test only: a tiny dataset and a few rounds; the figures mean nothing.
    "tiny": Profile(
        "tiny",
        sizes=ds.TINY,
        rounds=3,
        warmup=1,
        naive_every=1,
        scale_rounds=2,
        small=500,
        large=20_000,  # above whatever else the test database holds (the demo: ~6,000)
        activities=200,
        customers=50,
        history=300,
        singles=3,
    ),
}
API_BATCH = 500
IMPORT_BATCH = 1000  # import_activities' default
IMPORT_WORKERS = 4  # PostgreSQL: about two per core of the machine measured in docs/scaling.md

# (figure, target text, predicate on the figures) — targets are set for PostgreSQL.
TARGETS = [
    ("read.queries.heavy", "≤ 9", lambda f: f["read.queries.heavy"] <= 9),
    ("read.queries.light", "= heavy", lambda f: f["read.queries.light"] == f["read.queries.heavy"]),
    ("read.floor_ratio", "≤ 1.3", lambda f: f["read.floor_ratio"] <= 1.3),
    ("read.light_floor_ratio", "≤ 2.5", lambda f: f["read.light_floor_ratio"] <= 2.5),
    ("read.naive_ratio", "≥ 10", lambda f: f["read.naive_ratio"] >= 10),
    ("read.period_ratio", "≤ 1.5", lambda f: f["read.period_ratio"] <= 1.5),
    ("read.basic_ratio", "≤ 1.2", lambda f: f["read.basic_ratio"] <= 1.2),
    ("read.scale_ratio", "≤ 1.3", lambda f: f["read.scale_ratio"] <= 1.3),
    ("ingest.per_s", "≥ 5,000", lambda f: f["ingest.per_s"] >= 5000),
    ("ingest.single_queries", "≤ 8", lambda f: f["ingest.single_queries"] <= 8),
    ("ingest.history_ratio", "≤ 1.5", lambda f: f["ingest.history_ratio"] <= 1.5),
    ("ingest.events_cost_ratio", "≤ 1.10", lambda f: f["ingest.events_cost_ratio"] <= 1.10),
]

ORDER = [
    "read.queries.heavy",
    "read.queries.light",
    "read.p50_ms",
    "read.p95_ms",
    "read.light_p50_ms",
    "read.floor_p50_ms",
    "read.floor_ratio",
    "read.light_floor_p50_ms",
    "read.light_floor_ratio",
    "read.naive_p50_ms",
    "read.naive_ratio",
    "read.basic_p50_ms",
    "read.basic_ratio",
    "read.period_daily_p50_ms",
    "read.period_monthly_p50_ms",
    "read.period_ratio",
    "read.scale_small_p50_ms",
    "read.scale_large_p50_ms",
    "read.scale_ratio",
    "read.scale_floor_ratio",
    "ingest.per_s",
    "ingest.serial_per_s",
    "ingest.api_per_s",
    "ingest.single_queries",
    "ingest.single_p50_ms",
    "ingest.history_p50_ms",
    "ingest.history_ratio",
    "ingest.events_off_per_s",
    "ingest.events_off_serial_per_s",
    "ingest.events_cost_ratio",
    "render.bytes",
]


class Command(BaseCommand):
    help = "Measure the read endpoint and activity ingestion on a synthetic dataset (issue 7)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--quick", action="store_true", help="fewer rounds and activities (CI, make bench)"
        )
        parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
        parser.add_argument(
            "--explain",
            action="store_true",
            help="PostgreSQL: print EXPLAIN ANALYZE of the heavy request's queries at the large size",
        )
        parser.add_argument(
            "--tiny", action="store_true", help="a tiny dataset and a few rounds, for the smoke test only"
        )
        parser.add_argument(
            "--workers",
            type=int,
            help=f"import workers for ingest.per_s (default {IMPORT_WORKERS} on PostgreSQL, else 1)",
        )
        parser.add_argument(
            "--only",
            choices=PARTS,
            action="append",
            help="measure only this part (repeatable); the table leaves the others empty",
        )

    def handle(self, *args, **options):
        profile = PROFILES["tiny" if options["tiny"] else "quick" if options["quick"] else "full"]
        self.figures, self.notes, self.scale_rows = {}, {}, None
        started = time.perf_counter()
        hosts = [*settings.ALLOWED_HOSTS, "testserver"]
        with (
            override_settings(
                TARGETS_NOW=NOW_ISO, DEBUG=False, ROOT_URLCONF="bench.urls", ALLOWED_HOSTS=hosts
            ),
            kept_connection(),
        ):
            built = time.perf_counter()
            data = ds.ensure_dataset(profile.sizes, log=self.log)
            if data.built:
                self.log(f"  built in {time.perf_counter() - built:.1f} s (later runs reuse it)")
            periods_org = ds.ensure_period_programs(log=self.log)
            read_login = ds.issue_credentials(data.read_org)
            ingest_login = ds.issue_credentials(data.ingest_org)
            periods_login = ds.issue_credentials(periods_org)
            self.client = WSGIClient()
            parts = set(options["only"] or PARTS)
            try:
                if "read" in parts:
                    self.read(data, read_login, profile)
                if "periods" in parts:
                    self.periods(periods_login, profile)
                if "scale" in parts:
                    self.scale(data, read_login, profile, explain_plans=options["explain"])
                if "ingest" in parts:
                    self.ingest(data, ingest_login, profile, options["workers"])
                elif "events" in parts:  # the imports with events on and off, without the API's
                    self.ingest(data, ingest_login, profile, options["workers"], api=False)
                if "single" in parts:
                    self.ingest_single(data, profile)
            finally:
                ds.revoke_credentials(read_login)
                ds.revoke_credentials(ingest_login)
                ds.revoke_credentials(periods_login)
        elapsed = time.perf_counter() - started
        report = self.report(profile, elapsed)
        if options["json"]:
            Path(options["json"]).write_text(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode() + "\n")
            self.log(f"figures written to {options['json']}")

    def log(self, message):
        self.stdout.write(message)
        self.stdout.flush()

    # --- read ------------------------------------------------------------------------------

    def get(self, path, headers, query="includeInactive=true"):
        status, body = self.client.request("GET", path, query=query, headers=headers)
        if status != 200:
            raise CommandError(f"GET {path}?{query} answered {status}: {body[:300]!r}")
        return body

    def read(self, data, login, profile):
        self.log("read: the heavy and the light customer, ours vs the floor, the naive version and Basic ...")
        bearer = {"Authorization": f"Bearer {login.token}"}
        basic = {
            "Authorization": "Basic "
            + base64.b64encode(f"{login.username}:{login.password}".encode()).decode()
        }
        heavy = f"/v3.1/users/{data.heavy_id}/targetGroups"
        light = f"/v3.1/users/{data.light_id}/targetGroups"
        naive = f"/benchmark/naive/users/{data.heavy_id}/targetGroups"
        org_ids = {data.read_org.id}

        # Warm up (and verify the Basic password once: the credential cache keeps it).
        body = self.get(heavy, bearer)
        self.get(light, bearer)
        self.get(heavy, basic)
        self.figures["read.queries.heavy"], body = count_queries(lambda: self.get(heavy, bearer))
        self.figures["read.queries.light"], _ = count_queries(lambda: self.get(light, bearer))
        self.figures["render.bytes"] = len(body)
        self.notes["read.queries.heavy"] = f"{_targets_in(body)} targets in {_groups_in(body)} groups"
        self.notes["read.queries.light"] = f"{_targets_in(self.get(light, bearer))} targets in 1 group"

        floor = floor_body(customer_id=data.heavy_id, org_ids=org_ids, now=ds.NOW)
        self.notes["read.floor_ratio"] = (
            "floor body = ours, byte for byte" if floor == body else _diff(floor, body)
        )
        naive_queries, naive_body = count_queries(lambda: self.get(naive, bearer, query=""))
        same = orjson.loads(naive_body) == orjson.loads(body)
        self.notes["read.naive_ratio"] = (
            f"same document, {naive_queries} queries" if same else _diff(naive_body, body)
        )

        samples = run_side_by_side(
            {
                "ours": lambda: self.get(heavy, bearer),
                "floor": lambda: floor_body(customer_id=data.heavy_id, org_ids=org_ids, now=ds.NOW),
                "basic": lambda: self.get(heavy, basic),
                "light": lambda: self.get(light, bearer),
                "light_floor": lambda: floor_body(customer_id=data.light_id, org_ids=org_ids, now=ds.NOW),
                "naive": lambda: self.get(naive, bearer, query=""),
            },
            rounds=profile.rounds,
            warmup=profile.warmup,
            every={"naive": profile.naive_every},
        )
        ours = median(samples["ours"])
        f = self.figures
        f["read.p50_ms"] = ours
        f["read.p95_ms"] = percentile(samples["ours"], 95)
        f["read.light_p50_ms"] = median(samples["light"])
        f["read.floor_p50_ms"] = median(samples["floor"])
        f["read.floor_ratio"] = ours / f["read.floor_p50_ms"]
        f["read.light_floor_p50_ms"] = median(samples["light_floor"])
        f["read.light_floor_ratio"] = f["read.light_p50_ms"] / f["read.light_floor_p50_ms"]
        f["read.naive_p50_ms"] = median(samples["naive"])
        f["read.naive_ratio"] = f["read.naive_p50_ms"] / ours
        f["read.basic_p50_ms"] = median(samples["basic"])
        f["read.basic_ratio"] = f["read.basic_p50_ms"] / ours
        self.notes["read.p50_ms"] = f"{len(samples['ours'])} requests, bearer token, includeInactive=true"
        light_floor = floor_body(customer_id=data.light_id, org_ids=org_ids, now=ds.NOW)
        self.notes["read.light_floor_ratio"] = (
            "floor body = ours, byte for byte"
            if light_floor == self.get(light, bearer)
            else _diff(light_floor, self.get(light, bearer))
        )

    def periods(self, login, profile):
        self.log("read: the default read, 10 daily groups × 1,000 periods vs 10 monthly groups × 12 ...")
        bearer = {"Authorization": f"Bearer {login.token}"}
        daily = f"/v3.1/users/{ds.DAILY_ID}/targetGroups"
        monthly = f"/v3.1/users/{ds.MONTHLY_ID}/targetGroups"
        counts = [_targets_in(self.get(path, bearer, query="")) for path in (daily, monthly)]
        samples = run_side_by_side(
            {
                "daily": lambda: self.get(daily, bearer, query=""),
                "monthly": lambda: self.get(monthly, bearer, query=""),
            },
            rounds=profile.rounds,
            warmup=profile.warmup,
        )
        f = self.figures
        f["read.period_daily_p50_ms"] = median(samples["daily"])
        f["read.period_monthly_p50_ms"] = median(samples["monthly"])
        f["read.period_ratio"] = f["read.period_daily_p50_ms"] / f["read.period_monthly_p50_ms"]
        self.notes["read.period_ratio"] = (
            f"default read: {counts[0]} targets in {ds.PERIOD_GROUPS} groups of {ds.DAILY_PERIODS:,}"
            f" daily periods vs {counts[1]} in {ds.PERIOD_GROUPS} of 12 monthly"
        )

    # --- scale -----------------------------------------------------------------------------

    def scale(self, data, login, profile, *, explain_plans=False):
        for name in (
            "read.scale_small_p50_ms",
            "read.scale_large_p50_ms",
            "read.scale_ratio",
            "read.scale_floor_ratio",
        ):
            self.figures[name] = None
        if connection.vendor != "postgresql":
            self.notes["read.scale_ratio"] = "skipped: PostgreSQL only (bulk growth uses generate_series)"
            return
        bearer = {"Authorization": f"Bearer {login.token}"}
        heavy = f"/v3.1/users/{data.heavy_id}/targetGroups"
        org_ids = {data.read_org.id}
        candidates = {
            "ours": lambda: self.get(heavy, bearer),
            "floor": lambda: floor_body(customer_id=data.heavy_id, org_ids=org_ids, now=ds.NOW),
        }
        ds.shrink_other_user_targets()  # what an interrupted run may have left
        try:
            small = ds.grow_other_user_targets(profile.small)
            self.log(f"scale: {small:,} UserTarget rows of other customers ...")
            before = run_side_by_side(candidates, rounds=profile.scale_rounds, warmup=profile.warmup)
            started = time.perf_counter()
            large = ds.grow_other_user_targets(profile.large)
            added = time.perf_counter() - started
            self.log(f"scale: {large:,} UserTarget rows of other customers (added in {added:.1f} s) ...")
            after = run_side_by_side(candidates, rounds=profile.scale_rounds, warmup=profile.warmup)
            if explain_plans:
                for n, (sql, plan) in enumerate(explain(candidates["ours"]), start=1):
                    self.log(f"\n-- query {n}\n{sql}\n{plan}")
        finally:
            ds.shrink_other_user_targets()
        # The small size is measured again after the large one, and the two runs are pooled:
        # the machine's load drifts over the minutes the growth takes, and bracketing the large
        # run keeps that drift out of the ratio.
        ds.grow_other_user_targets(profile.small)
        self.log(f"scale: {small:,} UserTarget rows of other customers, again ...")
        again = run_side_by_side(candidates, rounds=profile.scale_rounds, warmup=profile.warmup)
        ds.shrink_other_user_targets()
        f = self.figures
        f["read.scale_small_p50_ms"] = median(before["ours"] + again["ours"])
        f["read.scale_large_p50_ms"] = median(after["ours"])
        f["read.scale_ratio"] = f["read.scale_large_p50_ms"] / f["read.scale_small_p50_ms"]
        f["read.scale_floor_ratio"] = median(after["floor"]) / median(before["floor"] + again["floor"])
        full = "" if profile.large >= 1_000_000 else f" (--{profile.name}: the full run uses 1,000,000)"
        self.notes["read.scale_ratio"] = f"{small:,} → {large:,} UserTarget rows of other customers{full}"
        self.scale_rows = {"small": small, "large": large}
        self.notes["read.scale_floor_ratio"] = "the floor's own growth: what the SQL alone loses"

    # --- ingest ----------------------------------------------------------------------------

    def ingest(self, data, login, profile, workers, api=True):
        customers = ds.ingest_customer_ids(min(profile.customers, data.sizes.ingest_customers))
        count = profile.activities
        org = data.ingest_org
        described = f"{count:,} activities, {len(customers):,} customers, 20 rules"
        if workers is None:
            workers = IMPORT_WORKERS if connection.vendor == "postgresql" else 1
        self.imports_on_and_off(org, customers, count, workers, described, cycles=profile.event_cycles)
        if not api:
            return

        self.log(f"ingest: {described} through POST /v3.1/activities ...")
        ds.reset_ingest(org)
        items = ds.ingest_items(customers, count, prefix="api")
        bearer = {"Authorization": f"Bearer {login.token}"}
        started = time.perf_counter()
        for start in range(0, count, API_BATCH):
            status, body = self.client.request(
                "POST",
                "/v3.1/activities",
                body=orjson.dumps(items[start : start + API_BATCH]),
                headers=bearer,
            )
            if status != 200 or b'"REJECTED"' in body or b'"DUPLICATE"' in body:
                raise CommandError(f"POST /v3.1/activities answered {status}: {body[:300]!r}")
        elapsed = time.perf_counter() - started
        self.figures["ingest.api_per_s"] = count / elapsed
        self.notes["ingest.api_per_s"] = f"the same, batches of {API_BATCH} ({elapsed:.1f} s)"
        ds.reset_ingest(org)

    def ingest_single(self, data, profile):
        """One activity through the engine (`activity_ingest`, as POST /v3.1/activities calls
        it): its SQL queries and time for a customer with a few past activities, and the time
        for one with `profile.history` — the cost must follow what changed, not the history."""
        org = data.ingest_org
        light, heavy = ds.ingest_customer_ids(2)
        self.log(f"ingest: single activities, a customer with {profile.history:,} past activities ...")
        ds.reset_ingest(org)
        past = ds.ingest_items([heavy], profile.history, prefix="history") + ds.ingest_items(
            [light], 3, prefix="few"
        )
        for start in range(0, len(past), IMPORT_BATCH):
            activity_ingest(org=org, items=past[start : start + IMPORT_BATCH], now=ds.NOW)
        timings = {light: [], heavy: []}
        queries = None
        for n in range(profile.singles + 2):
            for customer_id in (light, heavy):
                item = {
                    "userId": customer_id,
                    "entity": "TRANSACTION",
                    "eventName": "TransactionAdd",
                    "occurredAt": (ds.NOW + timedelta(seconds=n)).isoformat(),
                    "amount": "12.50",
                    "externalId": f"single-{customer_id}-{n}",
                }
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    activity_ingest(org=org, items=[item], now=ds.NOW)
                    elapsed = time.perf_counter() - started
                if n >= 2:  # the first two warm the process's caches
                    timings[customer_id].append(elapsed)
                    if customer_id == light:
                        queries = len(captured)
        light_ms = statistics.median(timings[light]) * 1000
        heavy_ms = statistics.median(timings[heavy]) * 1000
        self.figures["ingest.single_queries"] = queries
        self.figures["ingest.single_p50_ms"] = light_ms
        self.figures["ingest.history_p50_ms"] = heavy_ms
        self.figures["ingest.history_ratio"] = heavy_ms / light_ms
        self.notes["ingest.single_queries"] = "one activity, BEGIN and COMMIT included"
        self.notes["ingest.history_ratio"] = (
            f"a customer with {profile.history:,} past activities ÷ one with 3, medians of {profile.singles}"
        )
        ds.reset_ingest(org)

    def imports_on_and_off(self, org, customers, count, workers, described, *, cycles=1):
        """The ingest workload through import_activities with `workers` workers and with one,
        achievement events on and off, in the order on, off, off, on (ABBA), `cycles` times: a
        load that drifts while the benchmark runs weighs on both sides alike. Each figure is
        the median of its runs (2 per cycle); the note gives each cycle's ratio."""
        seconds = {(on, w): [] for on in (True, False) for w in (workers, 1)}
        events = None
        for _ in range(cycles):
            for on, order in (
                (True, (workers, 1)),
                (False, (workers, 1)),
                (False, (1, workers)),
                (True, (1, workers)),
            ):
                with events_enabled(on):
                    for w in order:
                        seconds[on, w].append(self.import_file(org, customers, count, w, described))
                        if on and events is None:
                            events = Event.objects.filter(org=org).count()
        middle = {key: statistics.median(runs) for key, runs in seconds.items()}
        runs = f"median of {len(seconds[True, workers])}"
        f = self.figures
        f["ingest.per_s"] = count / middle[True, workers]
        self.notes["ingest.per_s"] = (
            f"{described}, batches of {IMPORT_BATCH}, {workers} worker{'s' * (workers > 1)} "
            f"({middle[True, workers]:.1f} s, {runs})"
        )
        f["ingest.serial_per_s"] = count / middle[True, 1]
        self.notes["ingest.serial_per_s"] = f"the same, 1 worker ({middle[True, 1]:.1f} s, {runs})"
        f["ingest.events_off_per_s"] = count / middle[False, workers]
        self.notes["ingest.events_off_per_s"] = (
            f"ingest.per_s with events off ({middle[False, workers]:.1f} s)"
        )
        f["ingest.events_off_serial_per_s"] = count / middle[False, 1]
        self.notes["ingest.events_off_serial_per_s"] = (
            f"ingest.serial_per_s with events off ({middle[False, 1]:.1f} s)"
        )
        f["ingest.events_cost_ratio"] = (
            middle[True, workers] / middle[False, workers] + middle[True, 1] / middle[False, 1]
        ) / 2

        def cycle_ratio(n):  # the cycle's on ÷ off, both worker counts, over the cycle's runs
            k = len(seconds[True, 1]) // cycles  # 2, or 4 when `workers` is 1
            return statistics.mean(
                sum(seconds[True, w][k * n : k * n + k]) / sum(seconds[False, w][k * n : k * n + k])
                for w in (workers, 1)
            )

        cycles_text = ", ".join(f"{cycle_ratio(n):.2f}" for n in range(cycles))
        self.notes["ingest.events_cost_ratio"] = (
            f"events on wrote {events:,} events for {count:,} activities; {cycles} cycle(s) of on, off,"
            f" off, on (ratio per cycle: {cycles_text})"
        )

    def import_file(self, org, customers, count, workers, described):
        """Seconds `import_activities` takes for the ingest workload, from an empty org."""
        ds.reset_ingest(org)
        items = ds.ingest_items(customers, count, prefix="import")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "activities.jsonl"
            path.write_bytes(b"".join(orjson.dumps(item) + b"\n" for item in items))
            out = StringIO()
            started = time.perf_counter()
            call_command(
                "import_activities",
                str(path),
                "--no-progress",
                f"--workers={workers}",
                stdout=out,
                stderr=StringIO(),
            )
            elapsed = time.perf_counter() - started
        applied = Activity.objects.filter(org=org).count()
        if applied != count:
            raise CommandError(f"import_activities applied {applied} of {count}: {out.getvalue()[:500]}")
        events = "on" if getattr(settings, "EVENTS_ENABLED", True) else "off"
        self.log(
            f"ingest: {described} through import_activities, {workers} worker(s), events {events}:"
            f" {elapsed:.1f} s"
        )
        return elapsed

    # --- report ----------------------------------------------------------------------------

    def report(self, profile, elapsed):
        vendor = connection.vendor
        version = connection.cursor().connection.info.server_version if vendor == "postgresql" else None
        database = (
            f"PostgreSQL {version // 10000}.{version % 10000}" if version else f"SQLite {_sqlite_version()}"
        )
        holds = {}
        for name, _text, ok in TARGETS:
            holds[name] = None if self.figures.get(name) is None else bool(ok(self.figures))
        targets = {name: text for name, text, _ok in TARGETS}
        width = max(len(name) for name in ORDER)
        self.log("")
        self.log(
            f"benchmark ({profile.name}) on {database}; clock pinned at {NOW_ISO}; {profile.sizes.marker}"
        )
        self.log(f"{'figure':<{width}}  {'value':>12}  {'target':<8}  {'holds':<5}  note")
        for name in ORDER:
            value = self.figures.get(name)
            held = holds.get(name)
            self.log(
                f"{name:<{width}}  {_fmt(name, value):>12}  {targets.get(name, ''):<8}  "
                f"{'' if name not in holds else 'n/a' if held is None else 'yes' if held else 'NO':<5}  "
                f"{self.notes.get(name, '')}".rstrip()
            )
        if vendor != "postgresql":
            self.log("(the targets are set for PostgreSQL; on SQLite the table is for information)")
        self.log(f"run time {elapsed:.0f} s")
        return {
            "database": database,
            "vendor": vendor,
            "profile": profile.name,
            "dataset": profile.sizes.marker,
            "clock": NOW_ISO,
            "figures": {name: self.figures.get(name) for name in ORDER},
            "targets": targets,
            "holds": holds,
            "notes": self.notes,
            "scale_rows": self.scale_rows,
            "seconds": round(elapsed, 1),
        }


def _fmt(name, value):
    if value is None:
        return "skipped"
    if name.endswith("_ratio"):
        return f"{value:.2f}"
    if name.endswith("_ms"):
        return f"{value:.2f}"
    return f"{value:,.0f}"


def _sqlite_version():
    import sqlite3

    return sqlite3.sqlite_version


def _targets_in(body):
    return sum(len(g["targets"]) for g in orjson.loads(body)["data"]["targetGroups"])


def _groups_in(body):
    return len(orjson.loads(body)["data"]["targetGroups"])


def _diff(body, reference):
    """Where a document first differs from the endpoint's, for the note."""

    def walk(a, b, path):
        if type(a) is not type(b):
            return f"{path}: {json.dumps(a)[:60]} vs {json.dumps(b)[:60]}"
        if isinstance(a, dict):
            if list(a) != list(b):
                return f"{path}: keys {list(a)} vs {list(b)}"
            for key in a:
                found = walk(a[key], b[key], f"{path}.{key}")
                if found:
                    return found
        elif isinstance(a, list):
            if len(a) != len(b):
                return f"{path}: {len(a)} items vs {len(b)}"
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                found = walk(x, y, f"{path}[{i}]")
                if found:
                    return found
        elif a != b:
            return f"{path}: {json.dumps(a)[:60]} vs {json.dumps(b)[:60]}"
        return None

    if body is None:
        return "DIFFERENT: no document"
    found = walk(orjson.loads(body), orjson.loads(reference), "$")
    return f"DIFFERENT from ours at {found}" if found else "same document, other bytes (key order or spacing)"


@contextmanager
def events_enabled(on: bool):
    """Achievement events on or off, for this process (settings) and the import's worker
    processes (they read the environment)."""
    previous = os.environ.get("EVENTS_ENABLED")
    os.environ["EVENTS_ENABLED"] = "true" if on else "false"
    try:
        with override_settings(EVENTS_ENABLED=on):
            yield
    finally:
        if previous is None:
            os.environ.pop("EVENTS_ENABLED")
        else:
            os.environ["EVENTS_ENABLED"] = previous
