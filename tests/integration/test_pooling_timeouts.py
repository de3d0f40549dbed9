"""Every pool and connection timeout, provoked once, with the error the client sees. A timeout that
must fire is configured small and the test asserts only on its outcome (the error), waiting with
a generous deadline; where a client must get something done before a timeout (log in, send its
next statement), the timeout is a few seconds, and a timeout that must not fire is shown not to by
an event, never by a short window."""
import re

import psycopg
import pytest

from ouro_testlib import RawConn, ServerError, connect_error_sqlstate, query_message, wait_for
from pooling_helpers import (Runner, backend_entry, connect, no_open_transactions,  # noqa: F401
                             scratch_db, server_pids, silent_listener)


def tx_proxy(proxy, **pool):
    return proxy(pool=dict({"mode": "transaction", "size": 4}, **pool))


def read_final_error(raw, deadline=20):
    """Reads until the proxy closes the connection; returns the last ErrorResponse's fields."""
    error, eof = raw.read_until_eof_or_error(deadline)
    assert eof, f"the proxy did not close the connection within {deadline}s (error so far: {error})"
    assert error is not None, "the connection was closed without an ErrorResponse"
    return error


def test_query_wait_timeout_when_pool_is_saturated(pg, proxy, scratch_db):
    px = tx_proxy(proxy, size=1, query_wait_timeout="500ms")
    holder = connect(px, scratch_db)
    # Logged in before the only server is taken. A raw client: libpq reports an error that is
    # followed at once by the connection's end without its SQLSTATE.
    waiter = RawConn(px.host, px.port).startup(pg.user, pg.password, scratch_db)
    psycopg_waiter = connect(px, scratch_db)
    try:
        holder.execute("BEGIN")
        holder_pid = holder.execute("SELECT pg_backend_pid()").fetchone()[0]
        waiter.send(query_message("SELECT 'never runs'"))
        error = read_final_error(waiter)
        assert error.get("S") == "FATAL" and error.get("C") == "57014", error
        assert "query_wait_timeout" in error.get("M", ""), error
        with pytest.raises(psycopg.OperationalError, match="query_wait_timeout"):
            psycopg_waiter.execute("SELECT 'never runs either'")
        # The holder was not disturbed and the pool still has one server.
        assert holder.execute("SELECT pg_backend_pid()").fetchone() == (holder_pid,)
        holder.execute("COMMIT")
        assert server_pids(pg, scratch_db) == {holder_pid}
    finally:
        holder.close()
        waiter.close()
        psycopg_waiter.close()
    with connect(px, scratch_db) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    px.assert_alive()


def test_client_login_timeout(proxy):
    px = proxy(timeouts={"client_login_timeout": "3s"})
    # Logs in (well within 3s) before the silent client connects, and is still connected after
    # the silent client's timeout fired: the timer stops at login.
    with px.connect() as conn:
        with RawConn(px.host, px.port) as raw:  # connects and sends nothing
            error = read_final_error(raw)
        assert error.get("S") == "FATAL" and error.get("C") == "57P03", error
        assert "client_login_timeout" in error.get("M", ""), error
        assert conn.execute("SELECT 1").fetchone() == (1,)
    px.assert_alive()


@pytest.mark.parametrize("mode", ["transaction", "session"])
def test_client_idle_timeout(pg, proxy, scratch_db, mode):
    # 2s: time enough to send the query right after login; then the client stays idle.
    px = proxy(pool={"mode": mode, "size": 2, "client_idle_timeout": "2s"})
    with RawConn(px.host, px.port) as raw:
        raw.startup(pg.user, pg.password, scratch_db)
        assert raw.simple_query("SELECT 1") == [["1"]]
        error = read_final_error(raw)
    assert error.get("S") == "FATAL" and error.get("C") == "57P05", error
    assert "client_idle_timeout" in error.get("M", ""), error
    px.assert_alive()


def test_idle_transaction_timeout_rolls_back(pg, proxy, scratch_db):
    # 2s: time enough between BEGIN and UPDATE; then the client stays idle in its transaction.
    px = tx_proxy(proxy, idle_transaction_timeout="2s")
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE locked (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO locked VALUES (1, 'original')")
    with RawConn(px.host, px.port) as raw:
        raw.startup(pg.user, pg.password, scratch_db)
        raw.simple_query("BEGIN")
        raw.simple_query("UPDATE locked SET v = 'uncommitted' WHERE id = 1")
        error = read_final_error(raw)
    assert error.get("S") == "FATAL" and error.get("C") == "25P03", error
    assert "idle_transaction_timeout" in error.get("M", ""), error
    wait_for(lambda: no_open_transactions(pg, scratch_db), 20,
             message="the server's transaction to be rolled back")
    # The row lock is free and the update was rolled back.
    with connect(px, scratch_db, autocommit=False) as conn:
        conn.execute("SET LOCAL lock_timeout = '10s'")
        assert conn.execute("SELECT v FROM locked WHERE id = 1 FOR UPDATE").fetchone() == \
            ("original",)
        conn.commit()
    # A client that is busy (not idle) inside its transaction for longer than the timeout is not
    # cut off: BEGIN and the statement in one request, so it is never idle before the sleep.
    with connect(px, scratch_db) as conn:
        cur = conn.execute("BEGIN; SELECT pg_sleep(3), 'busy'")
        assert cur.nextset() and cur.fetchone()[1] == "busy"
        conn.execute("COMMIT")
    px.assert_alive()


def test_query_timeout_cancels_query_and_session_continues(pg, proxy, scratch_db):
    px = tx_proxy(proxy, query_timeout="500ms")
    with connect(px, scratch_db) as conn:
        with pytest.raises(psycopg.errors.QueryCanceled) as exc:
            conn.execute("SELECT pg_sleep(30)")
        assert exc.value.sqlstate == "57014"
        assert "query_timeout" in str(exc.value), str(exc.value)
        assert conn.execute("SELECT 1").fetchone() == (1,)
        # Inside a transaction too: the transaction is aborted, the session is not.
        conn.execute("BEGIN")
        with pytest.raises(psycopg.errors.QueryCanceled) as exc:
            conn.execute("SELECT pg_sleep(30)")
        assert "query_timeout" in str(exc.value), str(exc.value)
        assert conn.execute("ROLLBACK").statusmessage == "ROLLBACK"
        assert conn.execute("SELECT 2").fetchone() == (2,)
    px.assert_alive()


def test_server_idle_timeout_closes_idle_servers(pg, proxy, scratch_db):
    px = tx_proxy(proxy, server_idle_timeout="500ms", server_lifetime="0")
    with connect(px, scratch_db) as conn:
        first = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        wait_for(lambda: first not in server_pids(pg, scratch_db), 20,
                 message=f"idle server {first} to be closed")
        second = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert second != first
        # (The second server may be closed as idle already: only the first must be gone.)
        assert first not in server_pids(pg, scratch_db)
    px.assert_alive()


def test_server_lifetime_retires_servers(pg, proxy, scratch_db):
    px = tx_proxy(proxy, size=1, server_lifetime="1s", server_idle_timeout="0")
    with connect(px, scratch_db) as conn:
        first = conn.execute("SELECT pg_backend_pid()").fetchone()[0]

        def new_server():
            # Busy clients keep transacting: the old server is retired anyway.
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            return pid if pid != first else None
        second = wait_for(new_server, 20, interval=0.05, message="a server past its lifetime "
                                                                 "to be replaced")
        wait_for(lambda: first not in server_pids(pg, scratch_db), 20,
                 message=f"server {first} to be closed")
        assert second != first
        assert conn.execute("SELECT pg_backend_pid()").fetchone()[0] != first
    px.assert_alive()


def test_server_connect_timeout(pg, proxy):
    listener, port = silent_listener()
    try:
        px = proxy(pool={"mode": "transaction", "query_wait_timeout": "1500ms"},
                   timeouts={"server_connect_timeout": "500ms"},
                   databases={"blackhole": backend_entry("127.0.0.1", port, dbname="ouro")})
        assert connect_error_sqlstate(px.host, px.port, pg.user, pg.password, "blackhole") == \
            "08001"
        with RawConn(px.host, px.port) as raw:
            with pytest.raises(ServerError) as exc:
                raw.startup(pg.user, pg.password, "blackhole")
        assert exc.value.fields.get("S") == "FATAL" and exc.value.sqlstate == "08001", \
            exc.value.fields
        assert "timeout" in exc.value.fields.get("M", ""), exc.value.fields
        assert re.search(rf"server connection to 127\.0\.0\.1:{port} for pool blackhole/ouro "
                         r"failed: 08001 [^\n]*timeout", px.log_text()), px.log_tail()
        with px.connect() as conn:  # other databases are served meanwhile
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        listener.close()
    px.assert_alive()
