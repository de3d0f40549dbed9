"""Session mode with a pool of one server: a server handed to the next client must look like a
fresh connection, whatever the previous client left behind (session state, an abandoned COPY, a
half-sent extended-protocol batch, an aborted transaction)."""
import struct

import psycopg
import pytest

from ouro_testlib import message, query_message, raw_connect, wait_for


@pytest.fixture
def px(proxy):
    return proxy(pool={"mode": "session", "size": 1}, admin={"users": ["ouro"]})


def _wait_server_idle(px):
    """The previous client's server is cleaned (ROLLBACK, DISCARD ALL) after it leaves; a login
    before that completes without a server (it never waits for one), so wait for it to be idle."""
    def idle():
        with psycopg.connect(px.dsn(dbname="ouroboros"), autocommit=True) as admin:
            cur = admin.execute("SHOW POOLS")
            names = [c.name for c in cur.description]
            rows = [dict(zip(names, row)) for row in cur.fetchall()]
            return any(r["database"] != "ouroboros" and int(r["sv_idle"]) == 1 for r in rows)
    wait_for(idle, 30, message="the pool's server idle again")


def _fresh_session_checks(conn, app):
    cur = conn.execute
    assert cur("SELECT current_setting('application_name')").fetchone() == (app,)
    assert cur("SELECT current_setting('work_mem')").fetchone() == ("4MB",)
    assert cur("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)
    assert cur("SELECT count(*) FROM pg_listening_channels()").fetchone() == (0,)
    assert cur("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
               "AND pid = pg_backend_pid()").fetchone() == (0,)
    assert cur("SELECT count(*) FROM pg_class WHERE relpersistence = 't' "
               "AND pg_table_is_visible(oid)").fetchone() == (0,)
    assert cur("SELECT pg_current_xact_id_if_assigned() IS NULL, now() = statement_timestamp()"
               ).fetchone()[0] is True


def test_state_does_not_leak_to_the_next_client(pg, px):
    with px.connect(application_name="first") as a:
        pid_a = a.info.backend_pid
        a.execute("SET work_mem = '64MB'")
        a.execute("CREATE TEMP TABLE leftover (i int)")
        a.execute("PREPARE leftover_stmt AS SELECT 1")
        a.execute("LISTEN leftover_chan")
        a.execute("SELECT pg_advisory_lock(777)")
    _wait_server_idle(px)
    with px.connect(application_name="second") as b:
        # A pool of one: the second session must run on the same, cleaned, backend.
        assert b.info.backend_pid == pid_a, "the proxy did not reuse the server"
        assert b.execute("SELECT pg_backend_pid()").fetchone() == (pid_a,)
        _fresh_session_checks(b, "second")


def test_abandoned_copy_in(pg, px):
    with px.connect() as setup:
        setup.execute("CREATE TABLE IF NOT EXISTS reuse_copy (v text)")
    raw = raw_connect(px)
    raw.send(query_message("COPY reuse_copy FROM STDIN"))
    assert raw.read_message()[0] == b"G"
    raw.send(message(b"d", b"half a row"))
    raw.close()  # gone in the middle of the COPY
    with px.connect(application_name="after_copy") as conn:
        _fresh_session_checks(conn, "after_copy")
        assert conn.execute("SELECT count(*) FROM reuse_copy").fetchone() == (0,)
        conn.execute("DROP TABLE reuse_copy")


def test_abandoned_extended_protocol_batch(px):
    raw = raw_connect(px)
    # Parse/Bind/Execute of a named statement without Sync, then vanish.
    raw.send(message(b"P", b"stmt1\0SELECT pg_sleep(0)\0" + struct.pack("!H", 0)))
    raw.send(message(b"B", b"\0stmt1\0" + struct.pack("!HHH", 0, 0, 0)))
    raw.send(message(b"E", b"\0" + struct.pack("!I", 0)))
    raw.close()
    with px.connect(application_name="after_batch") as conn:
        _fresh_session_checks(conn, "after_batch")


def test_aborted_transaction_left_behind(px):
    raw = raw_connect(px)
    raw.send(query_message("BEGIN; SELECT 1/0;"))
    while raw.read_message()[0] != b"Z":
        pass
    raw.close()  # leaves its transaction in the aborted state
    with px.connect(application_name="after_abort") as conn:
        _fresh_session_checks(conn, "after_abort")
        assert conn.execute("SELECT 'works'").fetchone() == ("works",)


def test_pipeline_with_error_in_the_middle(px):
    with px.connect() as conn:
        with pytest.raises(psycopg.errors.DivisionByZero):
            with conn.pipeline():
                c1 = conn.execute("SELECT 1")
                conn.execute("SELECT 1/0")
                conn.execute("SELECT 3")
        assert c1.fetchone() == (1,)
        assert conn.execute("SELECT 'after pipeline'").fetchone() == ("after pipeline",)
