"""Failed-authentication throttling for HTTP Basic (issue 15 §3).

Each wrong password costs a full PBKDF2 verification (a large fraction of a second of CPU, by
design), so a flood of guesses starves every other request. Failures are counted per client
address and per username in Django's cache (shared by every worker: the database cache by
default, Redis with CACHE_URL), in sliding windows. Past the limit, a request that would need a
password verification is answered 429 (envelope, Retry-After) before any hashing: a throttled
guess costs one user lookup and one cache read.

Credentials this process verified recently (`authentication.verified_credentials`) are not
throttled: a till already talking to the service keeps working while its address or username
is under attack. Counters are kept per fixed window aligned to the clock (the window's number is
part of the key), so each is a plain integer that Redis increments atomically; the limit applies
to a sliding window (this window's count plus the previous one's, weighted by how much of it is
still within the last `AUTH_FAILURE_WINDOW_SECONDS`), so a burst cannot straddle a boundary.
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


def _wait(current: int, previous: int, limit: int, *, now: float, ends: float, length: int) -> float:
    """Seconds until the sliding estimate drops under `limit` (0 when it is under already).

    The estimate is the current window's count plus the previous window's, weighted by the part
    of the previous window still inside a sliding window ending now (rounded up, so that a count
    at the limit stays refused across a window boundary)."""
    remaining = (ends - now) / length  # the previous window's weight
    if current + math.ceil(previous * remaining) < limit:
        return 0
    if current >= limit:
        return ends - now
    # previous * weight must fall to limit - current - 1: the weight falls linearly to 0 at `ends`.
    return ends - now - length * (limit - current - 1) / previous


def check(request, username: str) -> None:
    """Raise TooManyFailures (429, Retry-After) when the address or the username is over its
    limit in the sliding window ending now."""
    per_address, per_username, length = _limits()
    now = time.time()
    window, ends = _window(now, length)
    current = _keys(request, username, window)
    previous = _keys(request, username, window - 1)
    counts = cache.get_many([*current, *previous])
    waits = [
        _wait(counts.get(key, 0), counts.get(before, 0), limit, now=now, ends=ends, length=length)
        for key, before, limit in zip(current, previous, (per_address, per_username), strict=True)
    ]
    if max(waits) > 0:
        wait = max(1, math.ceil(max(waits)))
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
    timeout = math.ceil(ends - now) + length + 1  # read again as the previous window
    for key in _keys(request, username, window):
        cache.add(key, 0, timeout=timeout)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr: the window just ended
            cache.set(key, 1, timeout=timeout)
