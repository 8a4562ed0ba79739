"""A long import keeps its pace and its memory (issue 12): `import_activities`' own batch loop
(one worker) over N lines for C customers of the demo org 60001, in event order, printing the
rate and the resident memory of each tenth.

    DATABASE_URL=postgres://… TARGETS_NOW=2024-08-30T09:21:43.741Z \\
        python manage.py shell -c "import scripts.long_import as m; m.main(300_000, 300)"

Needs the demo (`seed_demo`). Its activities get external ids `long-…`: run it on a scratch
database. The figures are quoted in docs/scaling.md."""

import json
import os
import tempfile
import time
from datetime import datetime, timedelta

from targets.importing import apply_batch, read_jsonl

FIRST_CUSTOMER = 900000001
# After the demo's own activity (up to its clock, 2024-08-30 09:21Z), inside its programs' windows
# (to 2024-09-19): the lines arrive in event order, as a live feed or a chronological export does.
START = datetime.fromisoformat("2024-08-30T10:00:00+00:00")
SPAN = timedelta(days=20)


def rss_mb():
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def write_file(path, lines, customers):
    step = SPAN / lines
    with open(path, "w") as out:
        for n in range(lines):
            out.write(
                json.dumps(
                    {
                        "userId": FIRST_CUSTOMER + n % customers,
                        "entity": "TRANSACTION",
                        "eventName": "TransactionAdd",
                        "occurredAt": (START + step * n).isoformat(),
                        "amount": str(5 + n % 40),
                        "quantity": 1 + n % 3,
                        "attributes": {"cake": n % 2},
                        "externalId": f"long-{n}",
                    }
                )
                + "\n"
            )


def main(lines=300_000, customers=300, batch=1000):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "long.jsonl")
        write_file(path, lines, customers)
        tenth, rows, marks = lines // 10, [], []
        started = last = time.perf_counter()
        done = 0
        with open(path) as handle:
            pending = []
            for number, item, _size in read_jsonl(handle):
                pending.append((number, item))
                if len(pending) == batch:
                    counts, _ = apply_batch(pending)
                    assert counts["applied"] == len(pending), counts
                    done += len(pending)
                    pending = []
                    if done % tenth == 0:
                        now = time.perf_counter()
                        rows.append((done, tenth / (now - last), rss_mb()))
                        last = now
            if pending:
                apply_batch(pending)
        total = time.perf_counter() - started
    for done, rate, rss in rows:
        marks.append(f"{done:>8,} lines  {rate:8.0f} activities/s  {rss:6.0f} MB")
    print("\n".join(marks))
    ratio = rows[-1][1] / rows[0][1]
    print(f"total {lines:,} lines in {total:.0f} s: last tenth / first tenth = {ratio:.2f}")
    print(f"peak resident {max(r[2] for r in rows):.0f} MB")
