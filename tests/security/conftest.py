"""Figures of the security tests (cases fuzzed, soak requests and failures): collected while the
tests run, printed at the end of the session and written to test-artifacts/security-figures.json."""

import json
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FIGURES: dict = {}


@pytest.fixture
def security_figures():
    return FIGURES


def pytest_terminal_summary(terminalreporter):
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
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "security-figures.json").write_text(json.dumps(FIGURES, indent=2, sort_keys=True) + "\n")
