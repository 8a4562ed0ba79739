"""Property-based fuzzing of the activity parser and the configuration API with the hostile
classes of issue 15 (§7): extreme instants with offsets, sums near the precision limit, long
digit strings, deep nesting, long and odd-unicode strings.

Every generated request goes through the whole WSGI stack in process (test client, test
database). Every answer: no 5xx, JSON, and the error envelope for every error; inside a 200
activity answer every item is APPLIED, DUPLICATE or REJECTED with 300004 errors. Derandomized
(fixed seed), bounded (see the example counts below), counted in the security figures. The
parser itself is fuzzed directly too (cheap), with the same strategies."""

import json
import os
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from targets import limits
from targets.activities import ItemError, parse_item
from tests.conftest import basic
from tests.support import ACTIVITIES, EXAMPLE_CUSTOMER, is_envelope_error

# Examples per test: the parser directly (cheap), then whole requests. 5,000 cases per database,
# 10,000 in CI (SQLite and PostgreSQL). FUZZ_SCALE multiplies them for a longer local run.
SCALE = float(os.environ.get("FUZZ_SCALE") or 1)
PARSER_EXAMPLES, ACTIVITY_EXAMPLES, CONFIG_EXAMPLES = (int(n * SCALE) for n in (3000, 1000, 1000))


def fuzz(examples):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


GROUPS = "/v3/targetGroups"

# --- strategies -------------------------------------------------------------------------------

odd_text = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=0, max_size=300),
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "a\x00b",
            "\ud800",  # a lone surrogate: valid as a JSON escape, not as UTF-8
            "\u202e\u0301\ufeff",
            "٣٤٥",
            "１２３",
            "😀" * 50,
            "x" * 5000,
            "<script>alert(1)</script>",
            "' OR 1=1 --",
        ]
    ),
)
long_digits = st.integers(min_value=1, max_value=6000).map(lambda n: "9" * n)
big_numbers = st.one_of(
    st.integers(),
    st.integers(min_value=10**14, max_value=10**16),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.sampled_from(
        [
            "999999999999999",
            "999999999999999.999",
            "1000000000000000",
            "999999999999999.9995",
            "1e15",
            "1e308",
            "-0",
            "-1",
            "NaN",
            "Infinity",
            "0x10",
            "1_000",
            " 12 ",
        ]
    ),
    long_digits,
    st.floats(allow_nan=False, allow_infinity=False),
)
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda m: ("+" if m >= 0 else "-") + f"{abs(m) // 60:02d}:{abs(m) % 60:02d}"
)
extreme_years = st.one_of(
    st.sampled_from([1, 2, 1899, 1900, 1901, 2024, 2998, 2999, 3000, 9998, 9999]),
    st.integers(min_value=1, max_value=9999),
)
instants = st.one_of(
    st.builds(
        lambda y, mo, d, h, mi, s, frac, off: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}{off}",
        extreme_years,
        st.integers(1, 12),
        st.integers(1, 31),
        st.integers(0, 23),
        st.integers(0, 59),
        st.integers(0, 59),
        st.sampled_from(["", ".5", ".999999", ".9999999"]),
        st.one_of(st.just("Z"), st.just(""), offsets),
    ),
    st.builds(
        lambda y, mo, d: f"{y:04d}-{mo:02d}-{d:02d}", extreme_years, st.integers(1, 12), st.integers(1, 31)
    ),
    odd_text,
)
json_leaves = st.one_of(st.none(), st.booleans(), big_numbers, odd_text)


def nested(depth):
    """A JSON value nested `depth` levels: lists and objects alternately."""
    value = 1
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


json_values = st.one_of(
    st.recursive(
        json_leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4),
        max_leaves=12,
    ),
    st.integers(min_value=30, max_value=200).map(nested),
    st.sampled_from([{"blob": "x" * (limits.MAX_ATTRIBUTES_BYTES + 10)}, {"k" * 3000: 1}]),
)


def maybe(strategy, valid):
    return st.one_of(st.just(valid), strategy)


activities = st.fixed_dictionaries(
    {
        "userId": maybe(
            st.one_of(big_numbers, odd_text, st.just(900000001), st.just(EXAMPLE_CUSTOMER)), EXAMPLE_CUSTOMER
        ),
        "entity": maybe(
            st.one_of(odd_text, st.sampled_from(["transaction", "EVENT", "LINEITEM"])), "TRANSACTION"
        ),
        "eventName": maybe(odd_text, "TransactionAdd"),
        "occurredAt": maybe(instants, "2024-08-30T09:00:00Z"),
        "externalId": st.one_of(st.uuids().map(lambda u: f"fz-{u}"), odd_text, big_numbers),
    },
    optional={
        "amount": big_numbers,
        "netAmount": big_numbers,
        "quantity": big_numbers,
        "attributes": st.one_of(st.dictionaries(odd_text, json_values, max_size=5), json_values),
    },
)


def body_text(value):
    return json.dumps(value, ensure_ascii=True, allow_nan=True)


def raw_bytes(text):
    """A body as bytes; a lone surrogate becomes invalid UTF-8, as a hostile client sends it."""
    return text.encode("utf-8", "surrogatepass")


activity_bodies = st.one_of(
    st.lists(activities, min_size=1, max_size=8).map(body_text),
    activities.map(body_text),
    st.integers(min_value=60, max_value=20000).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=60, max_value=20000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    long_digits.map(lambda d: f'[{{"userId": {d}, "externalId": "x"}}]'),
    odd_text.map(lambda t: t),
    json_values.map(body_text),
)

targets = st.fixed_dictionaries(
    {
        "name": maybe(odd_text, "Spend"),
        "targetEntity": maybe(odd_text, "TRANSACTION"),
        "eventName": maybe(odd_text, "TransactionAdd"),
        "targetType": st.sampled_from(["GROSS_SALES", "SUM", "COUNT", "QUANTITY", "bogus"]),
        "value": maybe(big_numbers, 1000),
    },
    optional={
        "attribute": odd_text,
        "milestones": st.lists(
            st.fixed_dictionaries({"triggerName": odd_text, "triggerValue": big_numbers}), max_size=25
        ),
        "extra": json_values,
    },
)
periods = st.fixed_dictionaries({"refCode": odd_text, "startDate": instants, "endDate": instants})
group_bodies = st.fixed_dictionaries(
    {
        "name": st.one_of(st.uuids().map(lambda u: f"fz-{u}"), odd_text),
        "targetEvaluationType": st.sampled_from(
            ["FIXED_CALENDAR_WINDOW", "CYCLIC_WINDOW", "PERIOD_AGNOSTIC_WINDOW", "x"]
        ),
        "trackingType": st.sampled_from(
            ["DEFAULT", "UNIFIED", "STREAKS", "CAPPING", "NON_CONTINUOUS_STREAK"]
        ),
        "startDate": maybe(instants, "2024-08-28T00:00:00Z"),
        "endDate": maybe(instants, "2024-09-01T23:59:59Z"),
        "targets": st.lists(targets, max_size=3),
    },
    optional={
        "frequencyType": st.sampled_from(
            ["DAILY", "WEEKLY", "MONTHLY", "QUARTERLY", "HALF_YEARLY", "YEARLY", "CUSTOM"]
        ),
        "frequency": big_numbers,
        "totalPeriods": big_numbers,
        "periods": st.lists(periods, max_size=4),
        "streaks": st.lists(
            st.fixed_dictionaries({"name": odd_text, "targetCountOfSequence": big_numbers}), max_size=12
        ),
        "description": odd_text,
        "active": json_leaves,
        "preferredTillId": big_numbers,
    },
)
config_bodies = st.one_of(
    group_bodies.map(body_text),
    st.integers(min_value=60, max_value=20000).map(lambda n: '{"name":' + "[" * n + "]" * n + "}"),
    json_values.map(body_text),
)

# --- checks ------------------------------------------------------------------------------------


def check_answer(response):
    assert response.status_code < 500, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    payload = json.loads(response.content)
    if response.status_code >= 400:
        assert is_envelope_error(payload), payload
    return payload


@pytest.fixture
def till(demo, security_figures):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic("tillrustaging2"))
    return client


def count(figures, name):
    fuzz = figures.setdefault("fuzz_hostile", {})
    fuzz[name] = fuzz.get(name, 0) + 1


def test_the_activity_parser_never_raises_anything_but_an_item_error(security_figures):
    @fuzz(PARSER_EXAMPLES)
    @given(item=st.one_of(activities, json_values))
    def run(item):
        count(security_figures, "parse_item")
        try:
            parsed = parse_item(item)
        except ItemError as exc:
            assert exc.reasons and all(isinstance(r, str) for r in exc.reasons)
            return
        assert parsed.occurred_at is not None and limits.in_range(parsed.occurred_at)
        for value in (parsed.amount, parsed.quantity, parsed.net_amount or Decimal(0)):
            assert Decimal(0) <= value <= limits.MAX_AMOUNT

    run()


def test_posting_hostile_activity_never_fails_the_server(till, security_figures):
    @fuzz(ACTIVITY_EXAMPLES)
    @given(raw=activity_bodies)
    def run(raw):
        count(security_figures, "POST /v3.1/activities")
        response = till.post(ACTIVITIES, data=raw_bytes(raw), content_type="application/json")
        payload = check_answer(response)
        if response.status_code == 200:
            for result in payload["data"]:
                assert result["status"] in {"APPLIED", "DUPLICATE", "REJECTED"}
                if result["status"] == "REJECTED":
                    assert {e["code"] for e in result["errors"]} == {300004}
                assert result["externalId"] is None or isinstance(result["externalId"], str)

    run()


def test_hostile_configuration_never_fails_the_server(till, security_figures):
    @fuzz(CONFIG_EXAMPLES)
    @given(raw=config_bodies, method=st.sampled_from(["post", "post", "put"]))
    def run(raw, method):
        count(security_figures, "POST|PUT /v3/targetGroups")
        path = GROUPS if method == "post" else f"{GROUPS}/{till.group_id}"
        response = getattr(till, method)(path, data=raw_bytes(raw), content_type="application/json")
        check_answer(response)

    from targets.models import TargetGroup

    till.group_id = (
        TargetGroup.objects.filter(org_id=50363).order_by("id").values_list("id", flat=True).first()
    )
    run()
