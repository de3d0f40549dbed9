"""Shared pieces of the pooling tests (test_pooling_*.py): a scratch database per test (so server
connections can be counted in pg_stat_activity without seeing other tests), a private PostgreSQL
cluster that a test may stop and start, proxy configurations for the pool modes, and small
pg_stat_activity / log helpers. The `pg` and `proxy` fixtures come from conftest.py."""
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import uuid

import psycopg
import pytest
import yaml

from ouro_testlib import PgInfo, make_dsn, wait_for

BACKOFF_RE = re.compile(r"server connection to (\S+):(\d+) for pool (\S+) failed: (.*); "
                        r"next attempt in (\d+)ms \(attempt (\d+)\)")


def unique(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


# ---------------------------------------------------------------------------------------------
# Databases and clusters
# ---------------------------------------------------------------------------------------------

@pytest.fixture
def scratch_db(pg):
    """A fresh database owned by `ouro` on the shared cluster; dropped (WITH FORCE) at the end.
    Reached through the proxy's "*" entry, so its pool is (scratch_db, ouro)."""
    name = unique("pool")
    with pg.connect_super() as conn:
        conn.execute(f'CREATE DATABASE "{name}" OWNER {pg.user}')
    yield name
    with pg.connect_super() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def private_cluster():
    """A PostgreSQL cluster of this test's own, which the test may stop and start again."""
    from pgcluster import PgCluster
    base = tempfile.mkdtemp(prefix="ouro-pool-pg-")
    os.chmod(base, 0o755)  # the server runs as the postgres OS user when we are root
    cluster = PgCluster(os.path.join(base, "pg"))
    try:
        cluster.start()
        cluster.pginfo = PgInfo(cluster.info())
        yield cluster
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


def backend_entry(host, port, dbname=None, **pool):
    entry = {"host": host, "port": port}
    if dbname:
        entry["dbname"] = dbname
    if pool:
        entry["pool"] = pool
    return entry


# ---------------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------------

def connect(px, dbname, autocommit=True, **extra):
    """A psycopg connection through the proxy. prepare_threshold=None: psycopg must not create
    named prepared statements, which do not follow a client across servers in transaction or
    statement mode."""
    return psycopg.connect(px.dsn(dbname=dbname, **extra), autocommit=autocommit,
                           prepare_threshold=None)


class Runner(threading.Thread):
    """Runs fn() in a thread; join_result() returns its value or re-raises its exception."""

    def __init__(self, fn, name=None):
        super().__init__(name=name, daemon=True)
        self.fn = fn
        self.value = None
        self.error = None

    def run(self):
        try:
            self.value = self.fn()
        except BaseException as e:  # re-raised by join_result
            self.error = e

    def join_result(self, timeout=60):
        self.join(timeout)
        assert not self.is_alive(), f"thread {self.name} still running after {timeout}s"
        if self.error is not None:
            raise self.error
        return self.value


# ---------------------------------------------------------------------------------------------
# pg_stat_activity
# ---------------------------------------------------------------------------------------------

def server_backends(pg, dbname, conn=None):
    """(pid, state, query) of the client backends connected to dbname, excluding the caller."""
    sql = ("SELECT pid, state, query FROM pg_stat_activity WHERE datname = %s "
           "AND backend_type = 'client backend' AND pid <> pg_backend_pid() ORDER BY pid")
    if conn is not None:
        return conn.execute(sql, (dbname,)).fetchall()
    return pg.super_query(sql, (dbname,))


def server_pids(pg, dbname):
    return {row[0] for row in server_backends(pg, dbname)}


def wait_running(pg, dbname, fragment, count=1, deadline=20):
    """Waits until `count` backends of dbname are active running a query containing fragment;
    returns their pids."""
    def running():
        pids = [pid for pid, state, query in server_backends(pg, dbname)
                if state == "active" and fragment in (query or "")]
        return pids if len(pids) >= count else None
    return wait_for(running, deadline, message=f"{count} backend(s) of {dbname} running "
                                               f"{fragment!r}")


def no_open_transactions(pg, dbname):
    return not [row for row in server_backends(pg, dbname)
                if (row[1] or "").startswith("idle in transaction")]


# ---------------------------------------------------------------------------------------------
# The proxy process
# ---------------------------------------------------------------------------------------------

def backoff_lines(px):
    """[(attempt, delay_ms)] of the proxy's "next attempt in" log lines, in log order."""
    return [(int(m.group(6)), int(m.group(5))) for m in BACKOFF_RE.finditer(px.log_text())]


def wait_log(px, pattern, deadline=20, count=1):
    regex = re.compile(pattern)

    def found():
        return len(regex.findall(px.log_text())) >= count
    wait_for(found, deadline, message=f"{count}x /{pattern}/ in the proxy log")


def rewrite_config(px, config=None, text=None):
    """Replaces the proxy's config file (with `config` as YAML, or raw `text`)."""
    if text is None:
        text = yaml.safe_dump(config, default_flow_style=False, sort_keys=False)
    tmp = px.config_path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, px.config_path)


def sighup(px):
    px.proc.send_signal(signal.SIGHUP)


def reloads(px):
    return px.log_text().count("configuration reloaded")


def silent_listener():
    """A TCP socket that accepts connections (the kernel completes the handshake) but never reads
    or answers. Returns (socket, port); close the socket when done."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(64)
    return s, s.getsockname()[1]


def client_dsn(px, dbname, connect_timeout=30, **extra):
    """DSN for the proxy with a longer libpq connect_timeout than ProxyProcess.dsn's 10s (a
    client may have to wait for a database that is starting)."""
    return make_dsn(host=px.host, port=px.port, user="ouro", password="ouro_pw", dbname=dbname,
                    connect_timeout=connect_timeout, **extra)


def debug_counts(px):
    """(servers logged in, servers closed) according to the proxy's debug log."""
    text = px.log_text()
    return (len(re.findall(r"server \d+: logged in", text)),
            len(re.findall(r"server \d+ \([^)]*\) closing:", text)))


def settle_after_cancel(conn, sql="SELECT 1", tries=3):
    """Session mode only: runs sql (SELECT 1, or ROLLBACK in an aborted transaction) on conn right
    after one of its statements was cancelled, absorbing a stray second cancellation. PostgreSQL
    15 signals a cancelled backend twice (kill(pid) and kill(-pid) in signal_child, from the
    process that took the CancelRequest, which may run late on a busy machine); when the backend
    has already handled the first SIGINT, the second one cancels the next statement it runs ("due
    to user request"), as it would on a direct connection. In transaction mode the proxy does not
    let that happen (a server goes to its next request only once the cancel connection is closed,
    and starts with a probe query), so tests there assert the next statement directly."""
    for _ in range(tries):
        try:
            cur = conn.execute(sql)
            return cur.fetchone() if cur.description is not None else cur.statusmessage
        except psycopg.errors.QueryCanceled as e:
            assert "user request" in str(e), str(e)
    raise AssertionError(f"{sql} was cancelled {tries} times in a row")
