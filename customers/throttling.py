"""Failed-authentication throttling for HTTP Basic (issue 15 §3).

Each wrong password costs a full PBKDF2 verification (a large fraction of a second of CPU, by
design), so a flood of guesses starves every other request. Failures are counted per client
address and per username in Django's cache (shared by every worker: the database cache by
default, Redis with CACHE_URL), in fixed windows. Past the limit, a request that would need a
password verification is answered 429 (envelope, Retry-After) before any hashing: a throttled
guess costs one user lookup and one cache read.

Credentials this process verified recently (`authentication.verified_credentials`) are not
throttled: a till already talking to the service keeps working while its address or username
is under attack. Limits (docs/security.md), from the environment:
AUTH_FAILURES_PER_ADDRESS (default 20), AUTH_FAILURES_PER_USERNAME (10),
AUTH_FAILURE_WINDOW_SECONDS (300).
"""

import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle


def _limits():
    return (
        int(getattr(settings, "AUTH_FAILURES_PER_ADDRESS", 20)),
        int(getattr(settings, "AUTH_FAILURES_PER_USERNAME", 10)),
        int(getattr(settings, "AUTH_FAILURE_WINDOW_SECONDS", 300)),
    )


def client_address(request) -> str:
    """The client address as DRF's throttles see it (REMOTE_ADDR, or X-Forwarded-For behind
    NUM_PROXIES proxies)."""
    return BaseThrottle().get_ident(request) or "unknown"


def _keys(request, username: str):
    digest = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return (f"authfail:addr:{client_address(request)}", f"authfail:user:{digest}")


class TooManyFailures(exceptions.Throttled):
    default_detail = "Too many failed authentication attempts."


def check(request, username: str) -> None:
    """Raise TooManyFailures (429, Retry-After) when the address or the username is over its
    limit in the current window."""
    per_address, per_username, _window = _limits()
    address_key, username_key = _keys(request, username)
    counts = cache.get_many([address_key, username_key])
    now = time.time()
    waits = [
        expires - now
        for key, limit in ((address_key, per_address), (username_key, per_username))
        if (entry := counts.get(key)) and entry[0] >= limit and (expires := entry[1]) > now
    ]
    if waits:
        wait = math.ceil(max(waits))
        raise TooManyFailures(
            wait=wait,
            detail=f"Too many failed authentication attempts. Expected available in {wait} seconds.",
        )


def record_failure(request, username: str) -> None:
    """Count one failed verification against the address and the username."""
    _per_address, _per_username, window = _limits()
    now = time.time()
    keys = _keys(request, username)
    counts = cache.get_many(keys)
    updates = {}
    for key in keys:
        entry = counts.get(key)
        if entry and entry[1] > now:
            updates[key] = (entry[0] + 1, entry[1])
        else:
            updates[key] = (1, now + window)
    # Counts are read and written without a lock: concurrent failures may count once instead
    # of twice, which only delays the limit by those few attempts.
    timeout = max(1, math.ceil(max(expires for _count, expires in updates.values()) - now))
    cache.set_many(updates, timeout=timeout)
