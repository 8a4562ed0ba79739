"""python manage.py import_activities FILE [--format jsonl|csv] [--org ID] [--batch N] [--workers N]

Streams JSON Lines or CSV in batches through the same engine as POST /v3.1/activities, so
peak memory stays flat whatever the file size. Idempotent: a re-run reports every line as
DUPLICATE and applies nothing twice. Prints a progress bar (rate, ETA) and a summary with the
line numbers of rejected lines. `--workers N` (PostgreSQL) applies the batches in N processes,
the lines partitioned by userId."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from tqdm import tqdm

from customers.models import Org
from targets.importing import (
    ImportFailed,
    ParallelImport,
    Tally,
    apply_batch,
    partition,
    read_csv,
    read_jsonl,
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
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="processes applying batches, lines partitioned by userId (PostgreSQL; default 1)",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file")
        if options["batch"] < 1 or options["workers"] < 1:
            raise CommandError("--batch and --workers must be at least 1")
        fmt = options["format"] or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
        org = Org.objects.filter(id=options["org"]).first() if options["org"] else None
        if options["org"] and org is None:
            raise CommandError(f"org {options['org']} does not exist")
        workers = options["workers"]
        if workers > 1 and connection.vendor != "postgresql":
            # SQLite lets one transaction write at a time: workers would only queue.
            self.stderr.write(f"--workers needs PostgreSQL; {connection.vendor} imports with one worker")
            workers = 1
        self.tally = Tally()
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
            self.bar, self.started = bar, started
            if workers == 1:
                self.stream(reader, options["batch"], 1, self.apply(org))
            else:
                self.parallel(reader, options["batch"], org, workers)
            bar.set_postfix(self.rates(started))
        self.summary(time.perf_counter() - started, workers)

    def stream(self, reader, size, workers, send):
        """Cut the lines into batches of `size` per worker and hand each to `send(worker, batch)`."""
        batches = [[] for _ in range(workers)]
        for number, item, length in reader:
            worker = partition(item, workers)
            batches[worker].append((number, item))
            self.bar.update(length)
            if len(batches[worker]) >= size:
                send(worker, batches[worker])
                batches[worker] = []
        for worker, batch in enumerate(batches):
            if batch:
                send(worker, batch)

    def apply(self, org):
        """In this process: apply a batch, then show the rates."""

        def send(_worker, batch):
            self.tally.add(*apply_batch(batch, org=org))
            self.progress()

        return send

    def progress(self):
        self.bar.set_postfix(self.rates(self.started), refresh=False)

    def parallel(self, reader, size, org, workers):
        pool = ParallelImport(workers=workers, org=org, tally=self.tally, on_progress=self.progress)
        try:
            self.stream(reader, size, workers, pool.send)
            pool.finish()
        except ImportFailed as exc:
            pool.abort()
            raise CommandError(
                f"import stopped: {exc}\nBatches applied before the failure stay applied; "
                "a re-run applies the rest (lines already applied are reported DUPLICATE)."
            ) from exc
        except BaseException:
            pool.abort()
            raise

    def rates(self, started):
        elapsed = max(time.perf_counter() - started, 1e-9)
        counts = self.tally.counts
        return {"activities/s": f"{sum(counts.values()) / elapsed:,.0f}", **counts}

    def summary(self, elapsed, workers):
        counts = self.tally.counts
        total = sum(counts.values())
        self.stdout.write(
            f"{total} lines in {elapsed:.1f} s ({total / max(elapsed, 1e-9):,.0f} activities/s): "
            f"applied {counts['applied']}, duplicate {counts['duplicate']}, "
            f"rejected {counts['rejected']}"
        )
        if workers > 1:
            self.stdout.write(f"{workers} workers, lines partitioned by userId")
        rejected = self.tally.rejected_lines()
        if rejected:
            more = counts["rejected"] - len(rejected)
            lines = ", ".join(str(number) for number, _ in rejected)
            self.stdout.write(f"rejected lines: {lines}" + (f" (and {more} more)" if more > 0 else ""))
            for number, reason in rejected[:20]:
                self.stdout.write(f"  line {number}: {reason}")
