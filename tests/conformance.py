"""The suite's own comparison of a response with the documented example (SPEC §8), so the
suite passes on a machine that has only this repository. ../shared/conformance/compare.py is
the independent cross-check."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

EXAMPLE = Path(__file__).parent / "fixtures" / "seed_example_response.json"
NOW = datetime(2024, 8, 30, 9, 21, 43, 741000, tzinfo=UTC)
# Where the example contradicts its own definition of currentPeriod (SPEC §3).
CURRENT_PERIOD_DEVIATIONS = {(53235, "PERIOD_G_53235_3"), (53236, "PERIOD_G_53236_2")}


def load_example():
    return json.loads(EXAMPLE.read_text(), parse_float=Decimal)


def _parse(text):
    return datetime.strptime(text.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")


def differences(expected, actual, path="$"):
    """Every field of `expected` present in `actual` with an equal value; numbers as numbers."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return [] if expected is actual else [f"{path}: expected {expected!r}, got {actual!r}"]
    if isinstance(expected, (int, float, Decimal)):
        ok = isinstance(actual, (int, float, Decimal)) and Decimal(str(expected)) == Decimal(str(actual))
        return [] if ok else [f"{path}: expected {expected!r}, got {actual!r}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object"]
        out = []
        for key, value in expected.items():
            out += (
                [f"{path}.{key}: missing"]
                if key not in actual
                else differences(value, actual[key], f"{path}.{key}")
            )
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            return [f"{path}: expected a list of {len(expected)}"]
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in differences(e, a, f"{path}[{i}]")
        ]
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]


def compare(actual, now=NOW):
    expected = load_example()
    problems = []
    for key in ("errors", "warnings"):
        problems += differences(expected[key], actual.get(key, "<missing>"), f"$.{key}")
    data_e, data_a = expected["data"], actual["data"]
    for key, value in data_e.items():
        if key != "targetGroups":
            problems += differences(value, data_a.get(key, "<missing>"), f"$.data.{key}")
    groups_a = {g["id"]: g for g in data_a["targetGroups"]}
    if sorted(groups_a) != sorted(g["id"] for g in data_e["targetGroups"]):
        problems.append(
            f"groups: expected {sorted(g['id'] for g in data_e['targetGroups'])}, got {sorted(groups_a)}"
        )
    for ge in data_e["targetGroups"]:
        ga = groups_a.get(ge["id"])
        if ga is None:
            continue
        gpath = f"group {ge['id']}"
        for key, value in ge.items():
            if key != "targets":
                problems += differences(value, ga.get(key, "<missing>"), f"{gpath}.{key}")
        targets_a = {t["periodId"]: t for t in ga["targets"]}
        if sorted(targets_a) != sorted(t["periodId"] for t in ge["targets"]):
            problems.append(f"{gpath}: periods differ: {sorted(targets_a)}")
        for te in ge["targets"]:
            ta = targets_a.get(te["periodId"])
            if ta is None:
                continue
            tpath = f"{gpath}.period {te['periodId']}"
            for key, value in te.items():
                if key not in ta:
                    problems.append(f"{tpath}.{key}: missing")
                elif key == "targetId":
                    if (value is None) != (ta[key] is None):
                        problems.append(f"{tpath}.targetId: expected {'null' if value is None else 'an id'}")
                elif key == "enrolledOn" and te["targetId"] is None:
                    if not ta[key].endswith("+0000") or abs((_parse(ta[key]) - now).total_seconds()) > 1:
                        problems.append(f"{tpath}.enrolledOn: expected the clock, got {ta[key]}")
                elif key == "currentPeriod" and (ge["id"], te["periodRefCode"]) in CURRENT_PERIOD_DEVIATIONS:
                    if not isinstance(ta[key], bool):
                        problems.append(f"{tpath}.currentPeriod: not a boolean")
                else:
                    problems += differences(value, ta[key], f"{tpath}.{key}")
    return problems
