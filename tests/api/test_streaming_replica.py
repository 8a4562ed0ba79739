"""A real streaming replica (PostgreSQL): `pg_basebackup -R` of the test's own database server
into a throwaway directory, started as a hot standby on a free port and configured as the
`replica` alias, as DATABASE_REPLICA_URL does. The read endpoint serves its data from it (a
server in recovery), while authentication and every write stay on the primary.

Needs the server tools (initdb's neighbours: pg_basebackup, pg_ctl) and a server that accepts
replication connections from this host (a Debian/`initdb -A trust` cluster does, as CI's does).
When run as root, the standby runs as the `postgres` user, like CI's cluster."""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test.utils import CaptureQueriesContext

from config.routers import REPLICA
from tests.factories import CustomerFactory, UserTargetFactory, group_with_periods
from tests.support import PASSWORD, READ, api_user, body

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# Settings a hot standby needs at least as high as its primary's.
STANDBY_MINIMUMS = (
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_prepared_transactions",
    "max_locks_per_transaction",
)


def pg_bin():
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(os.path.join(folder, "pg_basebackup"), os.X_OK):
            return folder
    found = shutil.which("pg_basebackup")
    return os.path.dirname(found) if found else None


def as_server_user(args):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def primary_value(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


@pytest.fixture
def standby(transactional_db, settings):
    """A hot standby of the test database's server, as the `replica` alias; stopped after."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    folder = pg_bin()
    if folder is None:
        pytest.skip("pg_basebackup is not installed")
    primary = connection.settings_dict
    work = tempfile.mkdtemp(prefix="standby-")
    data = os.path.join(work, "data")
    if os.geteuid() == 0:
        uid = pwd.getpwnam("postgres").pw_uid
        os.chown(work, uid, -1)
    os.chmod(work, 0o755)
    port = free_port()
    overrides = " ".join(f"-c {name}={primary_value(f'SHOW {name}')}" for name in STANDBY_MINIMUMS)
    run = {"check": True, "capture_output": True, "text": True, "timeout": 300}
    try:
        subprocess.run(
            as_server_user(
                [
                    f"{folder}/pg_basebackup",
                    "-h",
                    primary["HOST"] or "127.0.0.1",
                    "-p",
                    str(primary["PORT"] or 5432),
                    "-U",
                    primary["USER"] or "postgres",
                    "-D",
                    data,
                    "-R",  # standby.signal and primary_conninfo: a streaming replica
                    "-X",
                    "stream",
                    "-c",
                    "fast",
                ]
            ),
            **run,
        )
        subprocess.run(
            as_server_user(
                [
                    f"{folder}/pg_ctl",
                    "-D",
                    data,
                    "-l",
                    os.path.join(work, "log"),
                    "-w",
                    "-o",
                    f"-p {port} -h 127.0.0.1 -k {work} -c hot_standby=on -c fsync=off {overrides}",
                    "start",
                ]
            ),
            **run,
        )
    except subprocess.CalledProcessError as error:
        shutil.rmtree(work, ignore_errors=True)
        pytest.fail(f"could not start a standby: {error.stderr or error.stdout}")

    settings.DATABASE_ROUTERS = ["config.routers.ReadReplicaRouter"]
    connections.settings[REPLICA] = {**primary, "HOST": "127.0.0.1", "PORT": str(port)}
    try:
        replica = connections[REPLICA]
        # Connected here: Django's test case refuses to open connections of aliases it did not
        # set up itself (it would also flush them, which a read-only standby cannot do).
        replica.connect()
        yield replica
    finally:
        if hasattr(connections._connections, REPLICA):
            connections[REPLICA].close()
            del connections[REPLICA]
        del connections.settings[REPLICA]
        subprocess.run(
            as_server_user([f"{folder}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(work, ignore_errors=True)


def caught_up(replica, *, timeout=60):
    """Wait until the standby has replayed everything the primary has written so far."""
    target = primary_value("SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with replica.cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return
        time.sleep(0.1)
    raise AssertionError(f"the standby did not replay up to {target} in {timeout} s")


def test_the_read_endpoint_reads_from_a_streaming_replica(standby, client_for, settings):
    with standby.cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        assert cursor.fetchone()[0] is True  # a real standby, not the primary again

    group = group_with_periods(periods=3, triggers=["500"])
    customer = CustomerFactory(org=group.org)
    first = group.periods.order_by("sequence").first()
    UserTargetFactory(rule=group.rules.get(), period=first, customer=customer, achieved_value=600)
    user = api_user(group.org)
    settings.TARGETS_NOW = "2024-08-02T00:00:00Z"
    caught_up(standby)

    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_primary,
        CaptureQueriesContext(standby) as on_replica,
    ):
        response = client_for(user.username, PASSWORD).get(READ.format(customer.id) + "?includeInactive=true")

    assert response.status_code == 200, response.content
    targets = body(response)["data"]["targetGroups"][0]["targets"]
    assert len(targets) == 3 and targets[0]["milestones"][0]["isAchieved"] is True
    replica_sql = " ".join(q["sql"] for q in on_replica.captured_queries)
    primary_sql = " ".join(q["sql"] for q in on_primary.captured_queries)
    assert "targets_usertarget" in replica_sql and "targets_targetperiod" in replica_sql
    assert "targets_usertarget" not in primary_sql and "auth_user" in primary_sql

    # A write made after the standby caught up is not there until it is replayed: the answer
    # above came from the standby's copy, and a write never goes to it.
    with standby.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM targets_usertarget WHERE customer_id = %s", [customer.id])
        assert cursor.fetchone()[0] == 1
    with pytest.raises(Exception, match="read-only transaction"), standby.cursor() as cursor:
        cursor.execute("DELETE FROM targets_usertarget WHERE customer_id = %s", [customer.id])
