"""Figures of the security tests (cases fuzzed, soak requests and failures): collected while the
tests run, printed at the end of the session and written to test-artifacts/security-figures.json.

Under pytest-xdist each worker collects its own; the workers hand them to the controller, which
adds them up and prints them (the hooks are in tests/conftest.py, which the controller loads)."""

import json
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FIGURES: dict = {}


def merge(into, other):
    """Adds a worker's figures: counts add up, a test's own record (soak, flood) is taken whole."""
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            merge(into[key], value)
        elif isinstance(value, int) and isinstance(into.get(key), int):
            into[key] += value
        else:
            into[key] = value


def hand_over(config):
    """On an xdist worker: the figures go to the controller with the worker's output."""
    if hasattr(config, "workeroutput"):
        config.workeroutput["security_figures"] = json.dumps(FIGURES)


def take_over(node):
    """On the controller: a finished worker's figures join the session's."""
    merge(FIGURES, json.loads(getattr(node, "workeroutput", {}).get("security_figures", "{}")))


def report(terminalreporter):
    if not FIGURES:
        return
    terminalreporter.section("security figures")
    fuzz = FIGURES.get("fuzz")
    if fuzz:
        total = sum(fuzz.values())
        terminalreporter.write_line(f"schema fuzzing: {total} cases over {len(fuzz)} operation/mode runs")
        for name, count in sorted(fuzz.items()):
            terminalreporter.write_line(f"  {name}: {count}")
    soak = FIGURES.get("soak")
    if soak:
        terminalreporter.write_line(
            "soak: {requests} requests ({reads} reads, {posts} activity posts, {activities} activities) "
            "in {seconds:.1f} s, {failures} failures".format(**soak)
        )
    hostile = FIGURES.get("fuzz_hostile")
    if hostile:
        terminalreporter.write_line(
            f"hostile-input fuzzing: {sum(hostile.values())} cases, 0 server errors "
            + ", ".join(f"{name}: {n}" for name, n in sorted(hostile.items()))
        )
    flood = FIGURES.get("flood")
    if flood:
        terminalreporter.write_line(
            "wrong-password flood: {attempts} attempts ({attempts_429} answered 429); valid reads: "
            "median {baseline_median_ms} ms before, {during_median_ms} ms during (p95 {during_p95_ms} ms), "
            "{valid_reads} reads".format(**flood)
        )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "security-figures.json").write_text(json.dumps(FIGURES, indent=2, sort_keys=True) + "\n")
