"""A database whose server is unreachable: the client gets a connection error with SQLSTATE
08006/08001 (at once with pool.fail_fast, else after pool.query_wait_timeout, as documented in
docs/pooling.md), and the proxy keeps serving everyone else."""
import psycopg

from ouro_testlib import RawConn, ServerError, connect_error_sqlstate, refused_port

UNREACHABLE = {"08006", "08001"}


def _check_unreachable(px, attempts):
    for _ in range(attempts):
        assert connect_error_sqlstate(px.host, px.port, "ouro", "ouro_pw", "dead") in UNREACHABLE
    with RawConn(px.host, px.port, timeout=30) as raw:
        try:
            raw.startup("ouro", "ouro_pw", "dead")
            raise AssertionError("connected to a database whose server is down")
        except ServerError as e:
            assert e.sqlstate in UNREACHABLE, e.fields
            assert e.fields.get("S") == "FATAL", e.fields
            assert "connect" in e.fields.get("M", ""), e.fields


def _dead_database(**pool):
    return {"host": "127.0.0.1", "port": refused_port(), "dbname": "ouro", "pool": pool}


def test_unreachable_backend_fail_fast(pg, proxy):
    """pool.fail_fast: clients of an unreachable database get the connection error at once."""
    px = proxy(databases={"dead": _dead_database(fail_fast=True)},
               timeouts={"server_connect_timeout": "5s"})
    with px.connect() as good:  # a session opened before the failures
        _check_unreachable(px, attempts=3)
        with px.connect() as other:
            assert other.execute("SELECT 'others still served'").fetchone() == \
                ("others still served",)
        assert good.execute("SELECT current_database()").fetchone() == ("ouro",)
    px.assert_alive()


def test_unreachable_backend_after_query_wait_timeout(pg, proxy):
    """Default (no fail_fast): clients wait for the retries up to pool.query_wait_timeout, then
    get the last connection error; meanwhile other databases are served."""
    px = proxy(databases={"dead": _dead_database(query_wait_timeout="2s")})
    with px.connect() as good:
        _check_unreachable(px, attempts=1)
        assert good.execute("SELECT 'served meanwhile'").fetchone() == ("served meanwhile",)
    px.assert_alive()


def test_backend_going_away_mid_session(pg, proxy):
    """The server side of a session dies (pg_terminate_backend): the client gets an error, not a
    hang, and new sessions work."""
    px = proxy()
    with px.connect() as victim:
        pid = victim.info.backend_pid
        assert pg.super_query("SELECT pg_terminate_backend(%s)", (pid,)) == [(True,)]
        try:
            victim.execute("SELECT 1")
            raise AssertionError("query on a terminated backend succeeded")
        except psycopg.OperationalError as e:
            # PostgreSQL sends FATAL 57P01 before closing; the proxy relays it or just closes.
            assert e.sqlstate in (None, "57P01"), e.sqlstate
    with px.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    px.assert_alive()
