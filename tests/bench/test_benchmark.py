"""Smoke test of `manage.py benchmark`: it runs on a tiny dataset and reports every figure, in
the table and in the --json file. No figure is compared with a threshold here: timings depend
on the machine; the benchmark's own table says which targets hold."""

import json
from io import StringIO

from django.core.management import call_command
from django.db import connection

from bench.management.commands.benchmark import ORDER

SCALE = {"read.scale_small_p50_ms", "read.scale_large_p50_ms", "read.scale_ratio", "read.scale_floor_ratio"}


def test_benchmark_prints_and_writes_every_figure(db, tmp_path):
    out = StringIO()
    path = tmp_path / "figures.json"
    # One import worker: the workers would not see the test's uncommitted dataset.
    call_command("benchmark", "--quick", "--tiny", "--workers=1", "--json", str(path), stdout=out)
    text, report = out.getvalue(), json.loads(path.read_text())

    table = {line.split()[0]: line for line in text.splitlines() if line.split() and line.split()[0] in ORDER}
    assert set(table) == set(ORDER)
    assert list(report["figures"]) == ORDER
    postgres = connection.vendor == "postgresql"
    for name, value in report["figures"].items():
        if name in SCALE and not postgres:
            assert value is None
            assert "skipped" in table[name]
        else:
            assert isinstance(value, (int, float)) and value > 0, name
    assert report["vendor"] == connection.vendor
    if postgres:
        assert report["scale_rows"]["large"] > report["scale_rows"]["small"]
    assert set(report["holds"]) <= set(ORDER)

    # The ratios compare like with like: the floor renders the endpoint's bytes exactly and the
    # naive implementation the same document.
    assert report["notes"]["read.floor_ratio"] == "floor body = ours, byte for byte"
    assert report["notes"]["read.naive_ratio"].startswith("same document")


def test_only_measures_the_parts_named(db, tmp_path):
    path = tmp_path / "figures.json"
    call_command(
        "benchmark", "--tiny", "--workers=1", "--only", "single", "--json", str(path), stdout=StringIO()
    )
    figures = json.loads(path.read_text())["figures"]
    measured = {name for name, value in figures.items() if value is not None}
    assert measured == {
        "ingest.single_queries",
        "ingest.single_p50_ms",
        "ingest.history_p50_ms",
        "ingest.history_ratio",
    }


def test_only_events_measures_the_imports_with_events_on_and_off(db, tmp_path):
    path = tmp_path / "figures.json"
    call_command(
        "benchmark", "--tiny", "--workers=1", "--only", "events", "--json", str(path), stdout=StringIO()
    )
    report = json.loads(path.read_text())
    measured = {name for name, value in report["figures"].items() if value is not None}
    assert measured == {
        "ingest.per_s",
        "ingest.serial_per_s",
        "ingest.events_off_per_s",
        "ingest.events_off_serial_per_s",
        "ingest.events_cost_ratio",
    }
    assert "ratio per cycle: " in report["notes"]["ingest.events_cost_ratio"]
