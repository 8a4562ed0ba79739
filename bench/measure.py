"""Measurement helpers: requests through Django's WSGI handler, timing and statistics."""

import gc
import io
import statistics
import sys
import time
from contextlib import contextmanager

from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext


class WSGIClient:
    """Calls the WSGI application in-process with a hand-built environ: the whole request
    stack (middleware, URL resolution, DRF authentication and permissions, view, renderer)
    without a socket or the test client's extras (cookies, template capture)."""

    def __init__(self, host="testserver"):
        self.app = WSGIHandler()
        self.host = host

    def request(self, method, path, *, query="", body=b"", headers=None):
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "SCRIPT_NAME": "",
            "QUERY_STRING": query,
            "SERVER_NAME": self.host,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": self.host,
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/json" if body else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        for name, value in (headers or {}).items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        status = []
        result = self.app(environ, lambda s, h, exc_info=None: status.append(s))
        try:
            content = b"".join(result)
        finally:
            result.close()  # fires request_finished, as a WSGI server does
        return int(status[0].split(" ", 1)[0]), content


@contextmanager
def kept_connection():
    """Keep the database connection open across requests, as Django's test client does and
    as CONN_MAX_AGE > 0 does in production, so that every request (and the floor) runs on the
    same connection and connecting is not part of what is measured."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def count_queries(fn):
    """(number of SQL queries fn runs on the default connection, fn's result)."""
    with CaptureQueriesContext(connection) as captured:
        result = fn()
    return len(captured), result


def explain(fn):
    """PostgreSQL: [(sql, plan text)] for each query fn runs, with EXPLAIN ANALYZE."""
    with CaptureQueriesContext(connection) as captured:
        fn()
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING ON, SUMMARY OFF) " + query["sql"])
            plans.append((query["sql"], "\n".join(row[0] for row in cursor.fetchall())))
    return plans


def timed_ms(fn):
    started = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - started) / 1e6


def run_side_by_side(candidates, *, rounds, warmup, every=None):
    """Time each candidate `rounds` times, interleaved round by round so that they share the
    machine's state (CPU frequency, caches, other load) — after `warmup` untimed rounds.
    `every` maps a candidate name to N: time it on one round in N only (for slow ones).
    Returns {name: [milliseconds, …]}."""
    every = every or {}
    for _ in range(warmup):
        for fn in candidates.values():
            fn()
    samples = {name: [] for name in candidates}
    gc.collect()
    for n in range(rounds):
        for name, fn in candidates.items():
            if n % every.get(name, 1) == 0:
                samples[name].append(timed_ms(fn))
    return samples


def median(values):
    return statistics.median(values)


def percentile(values, p):
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]
