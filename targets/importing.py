"""Reading an activity file and applying it in batches, in one process or several.

`import_activities` streams lines (`read_jsonl`, `read_csv`) into batches and hands each batch to
`apply_batch`, which sends it through the engine's `activity_ingest` — the code path of
`POST /v3.1/activities`. With several workers (`ParallelImport`, PostgreSQL only) the lines are
partitioned by userId, so one customer's lines stay in one process and in file order, and the
engine's row locks never make two workers wait for each other.
"""

import csv
import heapq
import json
import multiprocessing
import queue
import traceback
from collections import Counter
from dataclasses import dataclass, field

from django.db import connections

from customers.models import Customer, Org
from targets import clock
from targets.progress.ingest import REJECTED, activity_ingest

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


@dataclass
class Tally:
    """What an import did so far: counts per status and the first rejected lines by number."""

    counts: Counter = field(default_factory=Counter)
    rejected: list = field(default_factory=list)  # a max-heap of (-line number, reason)

    def add(self, counts, rejects):
        self.counts.update(counts)
        for number, reason in rejects:
            heapq.heappush(self.rejected, (-number, reason))
            if len(self.rejected) > MAX_REJECT_LINES:
                heapq.heappop(self.rejected)  # keep the lowest line numbers

    def rejected_lines(self):
        return sorted((-number, reason) for number, reason in self.rejected)


def apply_batch(batch, *, org=None):
    """Apply [(line number, item or None)] through the engine; returns (counts, rejects).

    Without `org` each line goes to its customer's org; an unknown customer is rejected."""
    counts, rejects = Counter(), []

    def reject(number, reason):
        counts["rejected"] += 1
        rejects.append((number, reason))

    by_org = {}
    if org is not None:
        for number, item in batch:
            by_org.setdefault(org if isinstance(item, dict) else None, []).append((number, item))
    else:
        ids = {item.get("userId") for _, item in batch if isinstance(item, dict)}
        orgs = dict(
            Customer.objects.filter(id__in={int(i) for i in ids if _digits(i)}).values_list("id", "org_id")
        )
        org_objects = Org.objects.in_bulk(set(orgs.values()))
        for number, item in batch:
            if not isinstance(item, dict):
                by_org.setdefault(None, []).append((number, item))
                continue
            user = item.get("userId")
            found = orgs.get(int(user)) if _digits(user) else None
            if found is None:
                reject(number, f"userId: customer {user} not found")
                continue
            by_org.setdefault(org_objects[found], []).append((number, item))
    for number, item in by_org.pop(None, []):
        reject(number, "not valid JSON" if item is None else "an activity must be a JSON object")
    now = clock.now()
    for org, lines in by_org.items():
        results = activity_ingest(org=org, items=[item for _, item in lines], now=now)
        for (number, _), result in zip(lines, results, strict=True):
            if result.status == REJECTED:
                reject(number, "; ".join(e["message"] for e in result.errors))
            else:
                counts[result.status.lower()] += 1
    return counts, rejects


def partition(item, workers):
    """The worker of a line: by userId, so that a customer's lines keep their order."""
    user = item.get("userId") if isinstance(item, dict) else None
    return int(user) % workers if _digits(user) else 0


class ImportFailed(RuntimeError):
    pass


def _work(inbox, outbox, org):
    """A worker process: apply batches until told to stop; report each batch or the failure."""
    try:
        while (batch := inbox.get()) is not None:
            outbox.put(("batch", *apply_batch(batch, org=org)))
        outbox.put(("done",))
    except BaseException:  # reported to the parent, which stops the import
        outbox.put(("failed", traceback.format_exc()))
    finally:
        connections.close_all()


class ParallelImport:
    """`workers` processes, each with its own database connection and a small inbox, so memory
    stays flat: the reader waits when a worker is two batches behind."""

    def __init__(self, *, workers, org, tally, on_progress=lambda: None):
        self.workers, self.tally, self.on_progress = workers, tally, on_progress
        context = multiprocessing.get_context("fork")
        connections.close_all()  # a forked child must not share the parent's connection
        self.outbox = context.Queue()
        self.inboxes = [context.Queue(maxsize=2) for _ in range(workers)]
        self.processes = [
            context.Process(target=_work, args=(inbox, self.outbox, org), daemon=True)
            for inbox in self.inboxes
        ]
        for process in self.processes:
            process.start()
        self.running = workers

    def send(self, worker, batch):
        while True:
            try:
                self.inboxes[worker].put(batch, timeout=0.2)
                break
            except queue.Full:
                self._collect(block=False)
        self._collect(block=False)

    def finish(self):
        for inbox in self.inboxes:
            inbox.put(None)
        while self.running:
            self._collect(block=True)
        for process in self.processes:
            process.join()

    def abort(self):
        for process in self.processes:
            if process.is_alive():
                process.terminate()
            process.join()

    def _collect(self, *, block):
        while True:
            try:
                message = self.outbox.get(timeout=1.0) if block else self.outbox.get_nowait()
            except queue.Empty:
                if any(p.exitcode not in (0, None) for p in self.processes):
                    raise ImportFailed("a worker stopped unexpectedly") from None
                if not block:
                    return
                continue
            if message[0] == "batch":
                self.tally.add(message[1], message[2])
                self.on_progress()
            elif message[0] == "done":
                self.running -= 1
            else:
                raise ImportFailed(message[1])
            if block:
                return
