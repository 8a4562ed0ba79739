"""CACHES from CACHE_URL (issue 15 §4): the database cache by default, its table created by
`migrate`; Redis through CACHE_URL, where the Basic-auth failure counters then live."""

import shutil
import socket
import subprocess
import time

import pytest
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from rest_framework.test import APIClient

from config.settings import cache_from_url
from tests.conftest import basic


def test_the_default_is_the_database_cache_whose_table_migrate_created(db, settings):
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert "loyalty_cache" in connection.introspection.table_names()
    caches["default"].set("probe", 42)
    assert caches["default"].get("probe") == 42


def test_cache_url_choices():
    assert cache_from_url(None)["LOCATION"] == "loyalty_cache"
    assert cache_from_url("db")["BACKEND"].endswith("DatabaseCache")
    assert cache_from_url("redis://127.0.0.1:6379/1") == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/1",
    }
    with pytest.raises(ImproperlyConfigured):
        cache_from_url("memcached://x")


@pytest.fixture
def redis_url():
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("no redis-server on this machine")
    pytest.importorskip("redis")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_with_redis_the_failure_counters_live_in_redis(demo, settings, redis_url):
    import redis

    settings.CACHES = {"default": cache_from_url(redis_url)}
    settings.AUTH_FAILURES_PER_USERNAME = 2
    caches["default"].clear()
    client = APIClient()
    for _ in range(2):
        client.get("/v3.1/users/347286146/targetGroups", HTTP_AUTHORIZATION=basic("tillrustaging2", "wrong"))
    response = client.get(
        "/v3.1/users/347286146/targetGroups", HTTP_AUTHORIZATION=basic("tillrustaging2", "wrong")
    )
    assert response.status_code == 429
    keys = redis.Redis.from_url(redis_url).keys("*authfail*")
    assert len(keys) == 2  # the address and the username


def test_with_redis_concurrent_failures_all_count(db, settings, redis_url):
    """The counters are integers incremented by Redis itself: 40 failures recorded at once from
    8 threads count 40 (a read-then-write counter loses some of them)."""
    import threading

    from django.test import RequestFactory

    from customers import throttling

    settings.CACHES = {"default": cache_from_url(redis_url)}
    settings.AUTH_FAILURES_PER_USERNAME = 40
    settings.AUTH_FAILURES_PER_ADDRESS = 1000
    caches["default"].clear()
    request = RequestFactory().get("/", REMOTE_ADDR="10.9.9.9")
    start = threading.Barrier(8)

    def fail_five():
        start.wait()
        for _ in range(5):
            throttling.record_failure(request, "racer")

    threads = [threading.Thread(target=fail_five) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with pytest.raises(throttling.TooManyFailures):
        throttling.check(request, "racer")
    settings.AUTH_FAILURES_PER_USERNAME = 41
    throttling.check(request, "racer")  # exactly 40: one more is allowed
