"""The staff search's bounded cost (issue 15 §2): userId prefixes as primary-key ranges, a
count that stops at 1,000 ("More than 1,000 customers"), words capped in number and length. The
figures over 200,000 customers on PostgreSQL are in docs/security.md (`manage.py
bench_staff_search`)."""

import pytest

from targets.staff import queries
from targets.staff.queries import COUNT_CAP, id_prefix_ranges
from tests.factories import CustomerFactory, ProfileFactory


def test_id_prefix_ranges():
    assert id_prefix_ranges("9")[:3] == [(9, 9), (90, 99), (900, 999)]
    assert id_prefix_ranges("347286146")[0] == (347286146, 347286146)
    assert id_prefix_ranges("347286146")[1] == (3472861460, 3472861469)
    assert id_prefix_ranges("9" * 19) == []  # above 2^63 - 1
    assert id_prefix_ranges("0123") == []  # ids have no leading zero
    assert id_prefix_ranges("12a") == []
    assert id_prefix_ranges("٣") == []
    assert all(high <= 2**63 - 1 for _low, high in id_prefix_ranges("92"))


@pytest.mark.parametrize("q", ["%", "_", "\\", "100%", "a_b"])
def test_like_wildcards_are_matched_literally(org_staff, q):
    org, client = org_staff()
    ProfileFactory(customer=CustomerFactory(org=org), first_name="Plain")
    response = client.get("/staff/customers/", {"q": q})
    assert response.status_code == 200
    assert response.context["rows"] == []


def test_more_than_a_thousand_matches_are_counted_as_such(org_staff, django_assert_max_num_queries):
    org, client = org_staff()
    customers = CustomerFactory.create_batch(COUNT_CAP + 5, org=org)
    ProfileFactory.create_batch(3, customer=customers[0], first_name="Few")
    response = client.get("/staff/customers/", {"q": ""})
    assert response.context["page"].paginator.capped
    assert "More than 1,000 customers in your orgs" in response.content.decode()
    assert response.context["page"].paginator.num_pages == 41  # 1,001 rows at 25 a page
    assert len(response.context["rows"]) == 25


def test_words_are_capped_in_number_and_length():
    words = queries.search_words(" ".join(["a"] * 20) + " " + "b" * 500 + "\x00")
    assert len(words) == 8
    assert queries.search_words("x" * 500) == ["x" * 100]
    assert queries.search_words("ab\x00c") == ["abc"]
