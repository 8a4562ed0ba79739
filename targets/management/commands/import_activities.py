"""python manage.py import_activities FILE [--format jsonl|csv] [--org ID] [--batch N]

Streams JSON Lines or CSV in batches through the same engine as POST /v3.1/activities, so
peak memory stays flat whatever the file size. Idempotent: a re-run reports every line as
DUPLICATE and applies nothing twice. Prints a progress bar (rate, ETA) and a summary with the
line numbers of rejected lines."""

import csv
import json
import time
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from customers.models import Customer, Org
from targets import clock
from targets.engine import REJECTED, activity_ingest

CSV_FIELDS = ("userId", "entity", "eventName", "occurredAt", "amount", "netAmount", "quantity", "externalId")
MAX_REJECT_LINES = 1000


def read_jsonl(handle):
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line), len(line)
        except ValueError:
            yield number, None, len(line)


def read_csv(handle):
    reader = csv.DictReader(handle)
    number = 1
    for row in reader:
        number = reader.line_num
        item = {key: (value if value != "" else None) for key, value in row.items() if key in CSV_FIELDS}
        raw_attributes = row.get("attributes")
        if raw_attributes:
            try:
                item["attributes"] = json.loads(raw_attributes)
            except ValueError:
                item["attributes"] = raw_attributes  # rejected by the item validation
        yield number, item, sum(len(v or "") + 1 for v in row.values())


def _digits(value):
    """A userId as the item validation reads it: an int, or a string of ASCII digits."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (
        isinstance(value, str) and value.strip().isascii() and value.strip().isdigit()
    )


class Command(BaseCommand):
    help = "Import activities from a JSON Lines or CSV file through the progress engine."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--format", choices=["jsonl", "csv"], help="default: from the file extension")
        parser.add_argument("--org", type=int, help="org of every line (default: each customer's org)")
        parser.add_argument(
            "--batch", type=int, default=1000, help="activities per transaction (default 1000)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        fmt = options["format"] or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
        self.org = Org.objects.filter(id=options["org"]).first() if options["org"] else None
        if options["org"] and self.org is None:
            raise CommandError(f"org {options['org']} does not exist")
        self.counts, self.rejected_lines = Counter(), []
        started = time.perf_counter()
        with (
            path.open(newline="", encoding="utf-8") as handle,
            tqdm(
                total=path.stat().st_size,
                unit="B",
                unit_scale=True,
                desc="import",
                disable=options["no_progress"],
                file=self.stderr,
            ) as bar,
        ):
            reader = read_csv(handle) if fmt == "csv" else read_jsonl(handle)
            batch = []
            for number, item, size in reader:
                batch.append((number, item))
                bar.update(size)
                if len(batch) >= options["batch"]:
                    self.flush(batch)
                    bar.set_postfix(self.rates(started), refresh=False)
                    batch = []
            self.flush(batch)
            bar.set_postfix(self.rates(started))
        self.summary(time.perf_counter() - started)

    def rates(self, started):
        elapsed = max(time.perf_counter() - started, 1e-9)
        return {"activities/s": f"{sum(self.counts.values()) / elapsed:,.0f}", **self.counts}

    def flush(self, batch):
        if not batch:
            return
        self.pending = []  # this batch's rejects, reported in line order
        self._flush(batch)
        for number, reason in sorted(self.pending):
            if len(self.rejected_lines) < MAX_REJECT_LINES:
                self.rejected_lines.append((number, reason))

    def _flush(self, batch):
        by_org = {}
        if self.org is not None:
            for number, item in batch:
                by_org.setdefault(self.org if isinstance(item, dict) else None, []).append((number, item))
        else:
            ids = {item.get("userId") for _, item in batch if isinstance(item, dict)}
            ids = {int(i) for i in ids if _digits(i)}
            orgs = dict(Customer.objects.filter(id__in=ids).values_list("id", "org_id"))
            org_objects = Org.objects.in_bulk(set(orgs.values()))
            for number, item in batch:
                if not isinstance(item, dict):
                    by_org.setdefault(None, []).append((number, item))
                    continue
                user = item.get("userId")
                org_id = orgs.get(int(user)) if _digits(user) else None
                if org_id is None:
                    self.reject(number, f"userId: customer {user} not found")
                    continue
                by_org.setdefault(org_objects[org_id], []).append((number, item))
        for number, item in by_org.pop(None, []):
            self.reject(number, "not valid JSON" if item is None else "an activity must be a JSON object")
        now = clock.now()
        for org, lines in by_org.items():
            items = [item for _, item in lines]
            for (number, _), result in zip(
                lines, activity_ingest(org=org, items=items, now=now), strict=True
            ):
                if result.status == REJECTED:
                    self.reject(number, "; ".join(e["message"] for e in result.errors))
                else:
                    self.counts[result.status.lower()] += 1

    def reject(self, number, reason):
        self.counts["rejected"] += 1
        self.pending.append((number, reason))

    def summary(self, elapsed):
        total = sum(self.counts.values())
        self.stdout.write(
            f"{total} lines in {elapsed:.1f} s ({total / max(elapsed, 1e-9):,.0f} activities/s): "
            f"applied {self.counts['applied']}, duplicate {self.counts['duplicate']}, "
            f"rejected {self.counts['rejected']}"
        )
        if self.rejected_lines:
            more = self.counts["rejected"] - len(self.rejected_lines)
            lines = ", ".join(str(number) for number, _ in self.rejected_lines)
            self.stdout.write(f"rejected lines: {lines}" + (f" (and {more} more)" if more > 0 else ""))
            for number, reason in self.rejected_lines[:20]:
                self.stdout.write(f"  line {number}: {reason}")
