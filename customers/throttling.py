"""Failed-authentication throttling for HTTP Basic (issue 15 §3).

Each wrong password costs a full PBKDF2 verification (a large fraction of a second of CPU, by
design), so a flood of guesses starves every other request. Failures are counted per client
address and per username in Django's cache (shared by every worker: the database cache by
default, Redis with CACHE_URL), in fixed windows. Past the limit, a request that would need a
password verification is answered 429 (envelope, Retry-After) before any hashing: a throttled
guess costs one user lookup and one cache read.

Credentials this process verified recently (`authentication.verified_credentials`) are not
throttled: a till already talking to the service keeps working while its address or username
is under attack. The windows are fixed and aligned to the clock (the window's number is part
of the counter's key), so a counter is a plain integer that Redis increments atomically.
Limits (docs/security.md), from the environment:
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


def _window(now: float, length: int):
    """The current fixed window: its number (part of the counters' keys) and when it ends."""
    number = int(now // length)
    return number, (number + 1) * length


def _keys(request, username: str, window: int):
    digest = hashlib.sha256(username.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return (f"authfail:addr:{client_address(request)}:{window}", f"authfail:user:{digest}:{window}")


class TooManyFailures(exceptions.Throttled):
    default_detail = "Too many failed authentication attempts."


def check(request, username: str) -> None:
    """Raise TooManyFailures (429, Retry-After) when the address or the username is over its
    limit in the current window."""
    per_address, per_username, length = _limits()
    now = time.time()
    window, ends = _window(now, length)
    address_key, username_key = _keys(request, username, window)
    counts = cache.get_many([address_key, username_key])
    if counts.get(address_key, 0) >= per_address or counts.get(username_key, 0) >= per_username:
        wait = max(1, math.ceil(ends - now))
        raise TooManyFailures(
            wait=wait,
            detail=f"Too many failed authentication attempts. Expected available in {wait} seconds.",
        )


def record_failure(request, username: str) -> None:
    """Count one failed verification against the address and the username.

    `add` then `incr`: on Redis (CACHE_URL) an atomic increment, so concurrent failures in any
    number of workers all count. Django's database cache implements `incr` as read-then-write,
    so there two failures recorded at the same instant may count once: the limit is reached at
    most a few attempts later (each attempt first spends a password verification, which bounds
    how many can be in flight)."""
    _per_address, _per_username, length = _limits()
    now = time.time()
    window, ends = _window(now, length)
    timeout = math.ceil(ends - now) + 1
    for key in _keys(request, username, window):
        cache.add(key, 0, timeout=timeout)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr: the window just ended
            cache.set(key, 1, timeout=timeout)
