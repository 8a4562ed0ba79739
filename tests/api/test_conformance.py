"""The documented example, reproduced from the seeded demo (SPEC §8)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conformance import compare

URL = "/api_gateway/intouch-api-v3/v3.1/users/347286146/targetGroups?includeInactive=true"
SHARED_COMPARE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "compare.py"


@pytest.fixture
def documented_response(till_client):
    response = till_client.get(URL, HTTP_DATA_SCOPE="SELF", HTTP_DATA_SCOPE_ORG="50363")
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def test_response_matches_the_documented_example(documented_response):
    assert compare(documented_response) == []


def test_our_comparison_notices_a_difference(documented_response):
    documented_response["data"]["targetGroups"][0]["targets"][0]["targetValue"] = 999
    assert compare(documented_response)


def test_every_target_carries_the_spec_fields(documented_response):
    for group in documented_response["data"]["targetGroups"]:
        assert list(group)[:5] == ["id", "attribution", "name", "orgId", "preferredTillId"]
        for target in group["targets"]:
            assert target["orgId"] == 50363
            assert "streakAchievedDateTime" in target


@pytest.mark.skipif(not SHARED_COMPARE.exists(), reason="../shared/conformance is not next to this checkout")
def test_independent_compare_script_agrees(documented_response, tmp_path):
    path = tmp_path / "response.json"
    path.write_text(json.dumps(documented_response))
    result = subprocess.run([sys.executable, str(SHARED_COMPARE), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    assert "conformance: OK" in result.stdout
