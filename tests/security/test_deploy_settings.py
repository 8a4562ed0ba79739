"""Production settings (issue 8 §5): the service refuses to start half-configured, passes
Django's deploy checks, stores no secret in clear, throttles token requests and never logs a
secret.

The start-up checks run `manage.py` in a subprocess with a production environment, because
settings are read once, at import."""

import importlib.util
import json
import logging
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import global_settings
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils.log import configure_logging
from oauth2_provider.models import AccessToken, Application
from rest_framework.test import APIClient

from customers.models import Org
from tests.conftest import basic
from tests.support import EXAMPLE_CUSTOMER, READ, STANDARD_TOKEN, TOKEN_GENERATE, assert_error, body

ROOT = Path(__file__).resolve().parents[2]
DEMO_KEY, DEMO_SECRET = "demo-key", "demo-secret"
DEMO_USERS = ["admin", "tillrustaging2", "democoffee", "unrelated", "staff50363", "staff60001"]
PATH = READ.format(EXAMPLE_CUSTOMER)

# Variables that must not leak from the developer's or CI's environment into a production run.
SETTINGS_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT",
    "BEHIND_PROXY",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "DATABASE_REPLICA_URL",
    "CSRF_TRUSTED_ORIGINS",
    "NUM_PROXIES",
    "TOKEN_THROTTLE_RATE",
    "LOG_LEVEL",
}


def production_env(tmp_path, **overrides):
    """A production environment: DEBUG off, a long random SECRET_KEY, ALLOWED_HOSTS set, and a
    throwaway SQLite file (the checks below never need the test database)."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env.update(
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="api.example.com,testserver",
        DATABASE_URL=f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- refusing to start ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SECRET_KEY", "SECRET_KEY must be set when DEBUG is off."),
        ("ALLOWED_HOSTS", "ALLOWED_HOSTS must be set when DEBUG is off."),
    ],
)
@pytest.mark.parametrize("blank", [None, "", "  "], ids=["unset", "empty", "blank"])
def test_debug_off_refuses_to_start_without(tmp_path, missing, message, blank):
    run = manage(production_env(tmp_path, **{missing: blank}), "check")
    assert run.returncode != 0
    assert f"ImproperlyConfigured: {message}" in run.stderr


def test_debug_off_without_any_configuration_refuses_to_start(tmp_path):
    run = manage(production_env(tmp_path, SECRET_KEY=None, ALLOWED_HOSTS=None), "check")
    assert run.returncode != 0
    assert "ImproperlyConfigured" in run.stderr


def test_without_debug_in_the_environment_debug_is_off_and_refuses_to_start(tmp_path):
    """Issue 15 §5: an unset DEBUG is production, not development."""
    run = manage(production_env(tmp_path, DEBUG=None, SECRET_KEY=None), "check")
    assert run.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set when DEBUG is off." in run.stderr
    run = manage(production_env(tmp_path, DEBUG=None, ALLOWED_HOSTS=None), "check")
    assert "ImproperlyConfigured: ALLOWED_HOSTS must be set when DEBUG is off." in run.stderr
    run = manage(
        production_env(tmp_path, DEBUG=None),
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DEBUG)",
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "False"


def test_the_deploy_checks_pass_with_production_settings(tmp_path):
    run = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "System check identified no issues" in run.stdout


def test_the_deploy_checks_fail_with_debug_on(tmp_path):
    """The check is not vacuous: a development configuration fails it."""
    run = manage(production_env(tmp_path, DEBUG="true"), "check", "--deploy", "--fail-level", "WARNING")
    assert run.returncode != 0
    assert "security.W018" in run.stderr  # DEBUG in deployment


PROBE = """
import json
from django.conf import settings
from django.test import Client
client = Client()
plain = client.get("/v3/no-such-resource")
proxied = client.get("/v3/no-such-resource", HTTP_X_FORWARDED_PROTO="https")
secure = client.get("/v3/no-such-resource", secure=True)
print(json.dumps({
    "plain": [plain.status_code, plain.get("Location")],
    "proxied": [proxied.status_code, proxied.get("Location")],
    "secure": [secure.status_code, secure.get("Strict-Transport-Security")],
    "num_proxies": settings.REST_FRAMEWORK["NUM_PROXIES"],
}))
"""


def probe(env):
    run = manage(env, "shell", "-c", PROBE)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_plain_http_is_redirected_to_https_and_https_carries_hsts(tmp_path):
    answers = probe(production_env(tmp_path))
    assert answers["plain"] == [301, "https://testserver/v3/no-such-resource"]
    assert answers["proxied"][0] == 301  # X-Forwarded-Proto is not trusted without BEHIND_PROXY
    status, hsts = answers["secure"]
    assert status == 404  # served: the API's 404 envelope for an unknown path
    assert hsts == "max-age=31536000; includeSubDomains; preload"


def test_behind_a_proxy_the_forwarded_scheme_is_trusted(tmp_path):
    answers = probe(production_env(tmp_path, BEHIND_PROXY="true"))
    assert answers["plain"][0] == 301
    assert answers["proxied"] == [404, None]
    assert answers["num_proxies"] == 1  # throttles key on the client of X-Forwarded-For


def test_without_a_proxy_x_forwarded_for_is_not_trusted(tmp_path):
    assert probe(production_env(tmp_path))["num_proxies"] == 0
    assert probe(production_env(tmp_path, BEHIND_PROXY="true", NUM_PROXIES="2"))["num_proxies"] == 2


def test_ssl_redirect_can_be_left_to_the_proxy(tmp_path):
    answers = probe(production_env(tmp_path, SECURE_SSL_REDIRECT="false", BEHIND_PROXY="true"))
    assert answers["plain"] == [404, None]


# --- secrets at rest --------------------------------------------------------------------------


@pytest.fixture
def production_hashers(db, pinned_clock, settings):
    """Django's default hashers, which production uses (the suite prefers MD5, tests/settings.py),
    in force before the demo logins are seeded."""
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    if Org.objects.filter(id=50363).exists():
        call_command("seed_demo", reset=True, verbosity=0)


def test_passwords_are_stored_with_djangos_default_hasher(production_hashers, demo):
    User = get_user_model()
    for username in DEMO_USERS:
        stored = User.objects.get(username=username).password
        assert stored.startswith("pbkdf2_sha256$"), username
        assert username not in stored
        assert check_password(username, stored)


def test_oauth_client_secrets_are_hashed_and_still_accepted(production_hashers, demo):
    cache.clear()
    stored = Application.objects.get(client_id=DEMO_KEY).client_secret
    assert stored != DEMO_SECRET and DEMO_SECRET not in stored
    assert stored.startswith("pbkdf2_sha256$")
    response = APIClient().post(TOKEN_GENERATE, {"key": DEMO_KEY, "secret": DEMO_SECRET}, format="json")
    assert response.status_code == 200, response.content
    token = body(response)["data"]["accessToken"]
    assert APIClient().get(PATH, HTTP_X_CAP_API_OAUTH_TOKEN=token).status_code == 200


def test_access_tokens_are_not_stored_in_clear(demo):
    cache.clear()
    response = APIClient().post(TOKEN_GENERATE, {"key": DEMO_KEY, "secret": DEMO_SECRET}, format="json")
    token = body(response)["data"]["accessToken"]
    assert not AccessToken.objects.filter(token=token).exists()
    assert APIClient().get(PATH, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


# --- throttling -------------------------------------------------------------------------------


@pytest.fixture
def two_per_minute(db, settings):
    """A tiny token rate, and an empty throttle cache before and after."""
    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "2/min"}}
    cache.clear()
    with override_settings(REST_FRAMEWORK=rest):
        yield
    cache.clear()


def generate(secret=DEMO_SECRET, **extra):
    return APIClient().post(TOKEN_GENERATE, {"key": DEMO_KEY, "secret": secret}, format="json", **extra)


def standard(secret=DEMO_SECRET, **extra):
    return APIClient().post(
        STANDARD_TOKEN,
        {"grant_type": "client_credentials", "client_id": DEMO_KEY, "client_secret": secret},
        **extra,
    )


def assert_throttled(response):
    payload = assert_error(response, 429, 429)
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60
    return payload


def test_the_token_endpoint_is_throttled_with_the_envelope_and_retry_after(demo, two_per_minute):
    assert generate().status_code == 200
    assert generate(secret="wrong").status_code == 401  # failures count too
    assert_throttled(generate())


def test_the_throttle_is_per_client_address(demo, two_per_minute):
    for _ in range(2):
        assert generate(REMOTE_ADDR="10.0.0.1").status_code == 200
    assert_throttled(generate(REMOTE_ADDR="10.0.0.1"))
    assert generate(REMOTE_ADDR="10.0.0.2").status_code == 200


def test_a_forged_x_forwarded_for_does_not_escape_the_throttle(demo, two_per_minute):
    for n in range(2):
        assert generate(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code == 200
    assert_throttled(generate(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.99"))


def test_the_rate_is_read_from_the_settings(demo, settings):
    cache.clear()
    rest = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "5/min"}}
    with override_settings(REST_FRAMEWORK=rest):
        statuses = [generate().status_code for _ in range(6)]
    cache.clear()
    assert statuses == [200] * 5 + [429]


def test_the_standard_token_endpoint_shares_the_throttle(demo, two_per_minute):
    assert standard().status_code == 200
    assert generate().status_code == 200
    assert_throttled(standard())
    assert_throttled(generate())


def test_the_standard_token_endpoint_is_throttled_on_failures(demo, two_per_minute):
    assert standard(secret="wrong").status_code == 401
    assert standard(secret="wrong").status_code == 401
    assert_throttled(standard())


def test_the_default_rate_comes_from_the_environment():
    from django.conf import settings

    expected = os.environ.get("TOKEN_THROTTLE_RATE", "60/min")
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"] == expected


# --- attack surface ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/o/applications/", "/o/applications/register/", "/o/authorize/", "/o/revoke_token/", "/o/introspect/"],
)
def test_only_the_token_endpoint_of_the_oauth_provider_is_served(demo, path):
    """An API till can log in through the staff login form (the staff pages then refuse it);
    it must not find OAuth application management or unthrottled secret checks behind it."""
    client = Client()
    assert (
        client.post("/staff/login/", {"username": "tillrustaging2", "password": "tillrustaging2"}).status_code
        == 302
    )
    assert client.get(path).status_code == 404
    assert client.post(path, {"client_id": DEMO_KEY, "client_secret": DEMO_SECRET}).status_code == 404


# --- no secret in logs or error bodies --------------------------------------------------------


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def all_logs(monkeypatch):
    """Every record logged under the most verbose configuration an operator can choose: the
    settings' LOGGING as computed with LOG_LEVEL=DEBUG, applied as Django applies it."""
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("DEBUG", "1")  # only LOGGING is read; DEBUG off would require SECRET_KEY
    spec = importlib.util.spec_from_file_location("settings_with_debug_logs", ROOT / "config" / "settings.py")
    verbose = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(verbose)
    configure_logging(django_settings.LOGGING_CONFIG, verbose.LOGGING)
    collect = Collect()
    logging.getLogger().addHandler(collect)
    try:
        yield collect
    finally:
        logging.getLogger().removeHandler(collect)
        configure_logging(django_settings.LOGGING_CONFIG, django_settings.LOGGING)


def logged_text(collected):
    """Every record's message, arguments and exception text."""
    parts = []
    for record in collected.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(parts)


def test_no_secret_is_ever_logged_or_echoed(demo, all_logs):
    cache.clear()
    wrong_password = "Wr0ng-pa55word-" + secrets.token_hex(8)
    wrong_secret = "n0t-the-secret-" + secrets.token_hex(8)
    bodies = []

    failed_basic = APIClient().get(PATH, HTTP_AUTHORIZATION=basic("tillrustaging2", wrong_password))
    assert_error(failed_basic, 401, 401)
    bodies.append(failed_basic.content.decode())

    good_basic = APIClient().get(PATH, HTTP_AUTHORIZATION=basic("tillrustaging2"))
    assert good_basic.status_code == 200

    issued = generate()
    assert issued.status_code == 200
    token = body(issued)["data"]["accessToken"]

    failed = generate(secret=wrong_secret)
    assert_error(failed, 401, 401)
    bodies.append(failed.content.decode())

    failed_standard = standard(secret=wrong_secret)
    assert failed_standard.status_code == 401
    bodies.append(failed_standard.content.decode())

    used = APIClient().get(PATH, HTTP_X_CAP_API_OAUTH_TOKEN=token)
    assert used.status_code == 200
    revoked_like = APIClient().get(PATH, HTTP_AUTHORIZATION=f"Bearer {token}x")
    assert_error(revoked_like, 401, 401)
    bodies.append(revoked_like.content.decode())
    cache.clear()

    logging.getLogger("api").debug("capture check")
    assert all_logs.records[-1].getMessage() == "capture check"
    logged = logged_text(all_logs)
    basic_headers = [basic("tillrustaging2", wrong_password)[6:], basic("tillrustaging2")[6:]]
    for secret in [wrong_password, DEMO_SECRET, wrong_secret, token, *basic_headers]:
        assert secret not in logged, secret
        for text in bodies:
            assert secret not in text, (secret, text)
