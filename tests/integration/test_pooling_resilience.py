"""Connection resilience in transaction mode: PostgreSQL going away and coming back (private
clusters that the tests stop and start), the proxy starting while the database is down, backoff
between connection attempts, fail_fast, login rejections, and a server dying under a client."""
import asyncio

import asyncpg
import psycopg
import pytest

from ouro_testlib import connect_error_sqlstate, wait_for
from pooling_helpers import (Runner, backend_entry, backoff_lines, client_dsn,  # noqa: F401
                             connect, debug_counts, private_cluster, scratch_db, server_pids,
                             wait_log, wait_running)

BACKOFF = {"initial": "100ms", "max": "1s", "multiplier": 2, "jitter": 0.2}


def private_proxy(proxy, cluster, **pool):
    """A transaction-mode proxy whose only database, "ouro", is on the private cluster."""
    settings = dict({"mode": "transaction", "size": 4, "query_wait_timeout": "60s",
                     "backoff": BACKOFF}, **pool)
    return proxy(pool=settings, logging={"level": "debug"},
                 databases={"ouro": backend_entry(cluster.host, cluster.port), "*": None})


def assert_growing_backoff(px, at_least=2):
    lines = backoff_lines(px)
    assert len(lines) >= at_least, f"expected {at_least}+ backoff lines; log:\n{px.log_tail()}"
    attempts = [a for a, _ in lines[:at_least]]
    delays = [d for _, d in lines[:at_least]]
    assert attempts == list(range(1, at_least + 1)), lines
    assert all(a < b for a, b in zip(delays, delays[1:])), f"delays do not grow: {lines}"


# ---------------------------------------------------------------------------------------------
# 3. PostgreSQL restarts under connected clients
# ---------------------------------------------------------------------------------------------

def test_clients_survive_a_database_restart(proxy, private_cluster):
    cluster = private_cluster
    px = private_proxy(proxy, cluster)
    clients = [connect(px, "ouro") for _ in range(3)]
    try:
        clients[0].execute("CREATE TABLE outage (i int)")
        for conn in clients:
            assert conn.execute("SELECT 1").fetchone() == (1,)

        cluster.stop()
        # Wait until the proxy has seen every server close (PostgreSQL ended them all).
        wait_for(lambda: debug_counts(px)[1] >= debug_counts(px)[0], 20,
                 message="the proxy to notice that its servers were closed")
        assert backoff_lines(px) == []

        # A client starts a transaction during the outage: it waits for the database.
        during = Runner(lambda: clients[0].execute(
            "INSERT INTO outage VALUES (1) RETURNING 'written during the outage'").fetchone()[0],
            name="outage client")
        during.start()
        wait_for(lambda: len(backoff_lines(px)) >= 2, 20,
                 message=f"two backoff lines in the proxy log:\n{px.log_tail()}")
        assert during.is_alive(), "the client did not wait for the database"
        assert_growing_backoff(px)
        assert f"server connection to {cluster.host}:{cluster.port} for pool ouro/ouro failed" \
            in px.log_text()

        cluster.start_again()
        assert during.join_result(60) == "written during the outage"
        # The other clients never reconnected: the same connections run new transactions.
        for n, conn in enumerate(clients):
            conn.execute("BEGIN")
            conn.execute("INSERT INTO outage VALUES (%s)", (10 + n,))
            conn.execute("COMMIT")
        assert clients[1].execute("SELECT count(*) FROM outage").fetchone() == (4,)
        assert "database reachable again" in px.log_text()
    finally:
        for conn in clients:
            conn.close()
    px.assert_alive()


# ---------------------------------------------------------------------------------------------
# 4. The proxy starts while PostgreSQL is down
# ---------------------------------------------------------------------------------------------

def test_proxy_starts_while_database_is_down(proxy, private_cluster):
    cluster = private_cluster
    cluster.stop()
    px = private_proxy(proxy, cluster)  # starts and listens although nothing answers

    def late_client():
        with psycopg.connect(client_dsn(px, "ouro", connect_timeout=60), autocommit=True,
                             prepare_threshold=None) as conn:
            return conn.execute("SELECT 'served once the database was up'").fetchone()[0]

    client = Runner(late_client, name="client arriving during the outage")
    client.start()
    # The client is accepted and authenticated: only then does the pool try to connect.
    wait_for(lambda: len(backoff_lines(px)) >= 2, 20,
             message=f"backoff lines in the proxy log:\n{px.log_tail()}")
    assert client.is_alive(), "the client did not wait for the database"
    assert_growing_backoff(px)
    cluster.start_again()
    assert client.join_result(60) == "served once the database was up"
    with connect(px, "ouro") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    px.assert_alive()


# ---------------------------------------------------------------------------------------------
# Unreachable database: fail_fast, query_wait_timeout; login rejections
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fail_fast", [True, False])
def test_unreachable_database_fails_waiting_clients_with_08(proxy, private_cluster, fail_fast):
    cluster = private_cluster
    cluster.stop()
    # fail_fast: the client fails at the first failed attempt, long before query_wait_timeout.
    # Without it: query_wait_timeout ends the wait with the last connection error (not 57014).
    pool = {"fail_fast": True, "query_wait_timeout": "60s"} if fail_fast else \
        {"query_wait_timeout": "1s"}
    px = private_proxy(proxy, cluster, **pool)
    state = connect_error_sqlstate(px.host, px.port, "ouro", "ouro_pw", "ouro", timeout=30)
    assert state is not None and state.startswith("08"), state
    cluster.start_again()

    def served():
        return connect_error_sqlstate(px.host, px.port, "ouro", "ouro_pw", "ouro",
                                      timeout=30) is None
    wait_for(served, 30, interval=0.2, message="the database to be served again")
    px.assert_alive()


def test_backend_login_rejection_fails_waiting_clients_at_once(pg, proxy):
    """PostgreSQL answers the login with 3D000: every waiting client gets it now, not after
    query_wait_timeout (60s here, longer than the clients' own 30s timeout)."""
    px = proxy(pool={"mode": "transaction", "query_wait_timeout": "60s", "backoff": BACKOFF},
               databases={"nodb": backend_entry(pg.host, pg.port, dbname="no_such_database")})

    async def attempt():
        try:
            conn = await asyncpg.connect(host=px.host, port=px.port, user=pg.user,
                                         password=pg.password, database="nodb", timeout=30)
        except asyncpg.PostgresError as e:
            return e.sqlstate
        await conn.close()
        return None

    async def many():
        return await asyncio.gather(*(attempt() for _ in range(5)))

    assert asyncio.run(many()) == ["3D000"] * 5
    with px.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    px.assert_alive()


# ---------------------------------------------------------------------------------------------
# 10. The server dies under a transaction-mode client
# ---------------------------------------------------------------------------------------------

LOST = {"08006", "57P01"}


def test_server_killed_during_query_in_transaction(pg, proxy, scratch_db):
    px = proxy(pool={"mode": "transaction", "size": 2})
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (i int)")
    with connect(px, scratch_db) as conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t VALUES (1)")
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        sleeper = Runner(lambda: conn.execute("SELECT pg_sleep(30)"), name="victim")
        sleeper.start()
        wait_running(pg, scratch_db, "pg_sleep(30)")
        assert pg.super_query("SELECT pg_terminate_backend(%s)", (pid,)) == [(True,)]
        with pytest.raises(psycopg.Error) as exc:
            sleeper.join_result(30)
        assert exc.value.sqlstate in LOST, (exc.value.sqlstate, str(exc.value))
        # The failed block is ended as after any error inside a transaction (ROLLBACK), then the
        # same client connection goes on with a new transaction on another server.
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t VALUES (2)")
        new_pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        conn.execute("COMMIT")
        assert new_pid != pid
        assert conn.execute("SELECT array_agg(i) FROM t").fetchone() == ([2],)
    px.assert_alive()


def test_server_killed_while_client_idle_in_transaction(pg, proxy, scratch_db):
    px = proxy(pool={"mode": "transaction", "size": 2})
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (i int)")
    with connect(px, scratch_db) as conn:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t VALUES (1)")
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert pg.super_query("SELECT pg_terminate_backend(%s)", (pid,)) == [(True,)]
        wait_for(lambda: pid not in server_pids(pg, scratch_db), 20,
                 message=f"server {pid} to exit")
        with pytest.raises(psycopg.Error) as exc:
            conn.execute("INSERT INTO t VALUES (2)")
        assert exc.value.sqlstate in LOST, (exc.value.sqlstate, str(exc.value))
        assert not conn.closed, "the proxy closed the client connection"
        # As after any error inside a transaction block, PostgreSQL's rules hold: the block is
        # failed until the client ends it, so nothing pipelined after the loss can commit.
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("INSERT INTO t VALUES (2)")
        conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        conn.execute("INSERT INTO t VALUES (3)")
        conn.execute("COMMIT")
        assert conn.execute("SELECT array_agg(i) FROM t").fetchone() == ([3],)
    px.assert_alive()
