"""A login never waits for a server another client holds; PostgreSQL's own FATAL and notices reach
the client as they happen.

- Connection churn (pgbench -C) on a transaction pool smaller than the clients, and a session pool
  smaller than pgbench's client count, both finish without an error.
- A client whose login completed without a server can cancel its first request while it waits.
- pg_terminate_backend: the client sees PostgreSQL's 57P01 and message, in session and in
  transaction mode.
- A notice raised by a running statement arrives before the statement ends, also while the
  statement's output is held for a possible retry, and a retried statement's notice arrives once.
"""
import os
import re
import subprocess

import psycopg
import pytest

from ouro_testlib import ConnectionClosed, RawConn, parse_fields, query_message, wait_for
from pooling_helpers import (Runner, connect, scratch_db, settle_after_cancel, wait_log,  # noqa: F401
                             wait_running)


def _pgbench(pg, px, dbname, script_path, *args):
    env = dict(os.environ, PGPASSWORD="ouro_pw", PGCONNECT_TIMEOUT="30")
    cmd = [pg.bin("pgbench"), "-n", "-f", script_path, *args, "-h", px.host, "-p", str(px.port),
           "-U", "ouro", dbname]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=400)


def _assert_all_done(proc, px, total):
    report = f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}\nproxy log:\n{px.log_tail()}"
    assert proc.returncode == 0, report
    assert f"number of transactions actually processed: {total}/{total}" in proc.stdout, report
    failed = re.search(r"number of failed transactions: (\d+)", proc.stdout)
    assert failed and failed.group(1) == "0", report


@pytest.fixture
def transaction_script(tmp_path):
    path = tmp_path / "txn.sql"
    path.write_text("BEGIN;\nSELECT pg_backend_pid();\nCOMMIT;\n")
    return str(path)


def test_connection_churn_on_a_small_transaction_pool(pg, proxy, scratch_db, transaction_script):
    # A new connection per transaction (PHP, serverless, job runners): 50 clients, 10 servers.
    px = proxy(pool={"mode": "transaction", "size": 10})
    proc = _pgbench(pg, px, scratch_db, transaction_script, "-C", "-c", "50", "-j", "2", "-t", "20")
    _assert_all_done(proc, px, 50 * 20)
    px.assert_alive()


def test_session_pool_smaller_than_the_clients(pg, proxy, scratch_db, transaction_script):
    # pgbench opens every connection before it runs anything: logins beyond the pool's size must
    # complete and wait for a server at their first query.
    px = proxy(pool={"mode": "session", "size": 5})
    proc = _pgbench(pg, px, scratch_db, transaction_script, "-c", "10", "-j", "2", "-t", "200")
    _assert_all_done(proc, px, 10 * 200)
    px.assert_alive()


def test_logins_beyond_a_full_session_pool_complete_at_once(pg, proxy, scratch_db):
    px = proxy(pool={"mode": "session", "size": 1}, logging={"level": "debug"})
    holder = connect(px, scratch_db)
    holder_pid = holder.execute("SELECT pg_backend_pid()").fetchone()[0]
    # The holder is bound at login and sees its real backend pid.
    assert holder.info.backend_pid == holder_pid
    # The pool is exhausted, yet the second login completes, with PostgreSQL's parameters.
    waiter = connect(px, scratch_db, application_name="second")
    assert waiter.info.parameter_status("server_version")
    assert waiter.info.parameter_status("application_name") == "second"
    assert waiter.info.parameter_status("client_encoding") == "UTF8"
    result = Runner(lambda: waiter.execute("SELECT pg_backend_pid(), current_setting('application_name')")
                    .fetchone(), name="waiter")
    result.start()
    wait_log(px, r"waiting for a server of pool", count=2)
    holder.close()
    pid, app = result.join_result(60)
    assert pid == holder_pid  # the same server, cleaned and handed on
    assert app == "second"
    waiter.close()
    px.assert_alive()


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_cancel_a_request_that_waits_for_a_server(pg, proxy, scratch_db, mode):
    px = proxy(pool={"mode": mode, "size": 1}, logging={"level": "debug"})
    holder = connect(px, scratch_db)
    if mode == "transaction":
        holder.execute("BEGIN")  # holds the only server until COMMIT
    holder.execute("SELECT 1")
    waiter = connect(px, scratch_db)  # logged in without a server
    waits_before = len(re.findall(r"waiting for a server of pool", px.log_text()))
    run = Runner(lambda: waiter.execute("SELECT 'ran'").fetchone(), name="waiter")
    run.start()
    wait_log(px, r"waiting for a server of pool", count=waits_before + 1)
    waiter.cancel()
    with pytest.raises(psycopg.errors.QueryCanceled) as exc:
        run.join_result(60)
    assert "canceling statement due to user request" in str(exc.value)
    wait_log(px, r"request cancelled while waiting for a server")
    # The session goes on: the next request gets the server once the holder lets go.
    again = Runner(lambda: waiter.execute("SELECT 'ran again'").fetchone(), name="again")
    again.start()
    wait_log(px, r"waiting for a server of pool", count=waits_before + 2)
    if mode == "transaction":
        holder.execute("COMMIT")
    else:
        holder.close()
    assert again.join_result(60) == ("ran again",)
    waiter.close()
    if not holder.closed:
        holder.close()
    px.assert_alive()


def test_key_issued_without_a_server_cancels_once_the_client_has_one(pg, proxy, scratch_db):
    px = proxy(pool={"mode": "session", "size": 1}, logging={"level": "debug"})
    holder = connect(px, scratch_db)
    waiter = connect(px, scratch_db)  # logged in without a server: a proxy-made key
    holder.close()
    sleeper = Runner(lambda: waiter.execute("SELECT pg_sleep(600)"), name="sleeper")
    sleeper.start()
    wait_running(pg, scratch_db, "pg_sleep(600)")
    waiter.cancel()
    with pytest.raises(psycopg.errors.QueryCanceled):
        sleeper.join_result(60)
    assert settle_after_cancel(waiter) == (1,)
    waiter.close()
    px.assert_alive()


def test_terminated_backend_session_mode_gets_postgresql_fatal(pg, proxy, scratch_db):
    # Retries are on by default, so the statement's output is held while it runs.
    px = proxy(pool={"mode": "session", "size": 2})
    with RawConn(px.host, px.port, timeout=30) as raw:
        raw.startup("ouro", "ouro_pw", scratch_db)
        raw.send(query_message("SELECT pg_terminate_backend(pg_backend_pid())"))
        received = []
        with pytest.raises(ConnectionClosed):  # the proxy closes after the server's FATAL
            while True:
                received.append(raw.read_message())
    # PostgreSQL's own last word is the last thing the client reads, and the only error.
    errors = [parse_fields(payload) for mtype, payload in received if mtype == b"E"]
    assert len(errors) == 1 and received[-1][0] == b"E", received
    error = errors[0]
    assert (error.get("S"), error.get("V"), error.get("C")) == ("FATAL", "FATAL", "57P01"), error
    assert error.get("M") == "terminating connection due to administrator command", error
    # psql shows what it shows on a direct connection.
    env = dict(os.environ, PGPASSWORD="ouro_pw")
    proc = subprocess.run([pg.bin("psql"), "-X", "-h", px.host, "-p", str(px.port), "-U", "ouro", scratch_db,
                           "-c", "SELECT pg_terminate_backend(pg_backend_pid())"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc
    assert "FATAL:  terminating connection due to administrator command" in proc.stderr, proc.stderr
    assert "server connection lost" not in proc.stderr, proc.stderr
    px.assert_alive()


def test_terminated_backend_transaction_mode_gets_postgresql_error(pg, proxy, scratch_db):
    px = proxy(pool={"mode": "transaction", "size": 2})
    conn = connect(px, scratch_db)
    with pytest.raises(psycopg.errors.AdminShutdown) as exc:
        conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    assert exc.value.sqlstate == "57P01"
    assert exc.value.diag.message_primary == "terminating connection due to administrator command"
    # A pooled session outlives its server: PostgreSQL's error arrives as an ERROR (a driver would
    # close the connection on a FATAL) and the client goes on, on another server.
    assert exc.value.diag.severity_nonlocalized == "ERROR"
    assert conn.execute("SELECT 1").fetchone() == (1,)
    conn.close()
    px.assert_alive()


@pytest.fixture
def notice_functions(pg, scratch_db):
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("""
            CREATE FUNCTION notice_then_wait() RETURNS text LANGUAGE plpgsql AS $$
            BEGIN
              RAISE NOTICE 'started the long part';
              PERFORM pg_advisory_lock(4242);
              PERFORM pg_advisory_unlock(4242);
              RETURN 'finished';
            END $$""")
        conn.execute("CREATE SEQUENCE attempts")
        conn.execute("""
            CREATE FUNCTION notice_then_fail_once() RETURNS text LANGUAGE plpgsql AS $$
            BEGIN
              RAISE NOTICE 'attempting';
              IF nextval('attempts') = 1 THEN
                RAISE EXCEPTION 'simulated serialization failure' USING ERRCODE = '40001';
              END IF;
              RETURN 'succeeded';
            END $$""")
    return scratch_db


def test_notice_arrives_while_the_statement_runs(pg, proxy, notice_functions):
    px = proxy(pool={"mode": "transaction", "size": 2}, retry={"enabled": True})
    notices = []
    conn = connect(px, notice_functions)
    conn.add_notice_handler(lambda diag: notices.append(diag.message_primary))
    with psycopg.connect(pg.dsn(dbname=notice_functions), autocommit=True) as blocker:
        blocker.execute("SELECT pg_advisory_lock(4242)")
        run = Runner(lambda: conn.execute("SELECT notice_then_wait()").fetchone(), name="notice")
        run.start()
        # The statement cannot end while the lock is held: the notice must come before its end.
        wait_for(lambda: notices, 30, message="the notice while the statement still runs")
        assert run.is_alive()
        blocker.execute("SELECT pg_advisory_unlock(4242)")
        assert run.join_result(60) == ("finished",)
    assert notices == ["started the long part"]
    conn.close()
    px.assert_alive()


def test_retried_statement_notice_arrives_once(pg, proxy, notice_functions):
    px = proxy(pool={"mode": "transaction", "size": 2},
               retry={"enabled": True, "max_attempts": 3})
    notices = []
    conn = connect(px, notice_functions)
    conn.add_notice_handler(lambda diag: notices.append(diag.message_primary))
    assert conn.execute("SELECT notice_then_fail_once()").fetchone() == ("succeeded",)
    # It ran twice on the server (the first run failed with 40001 and was retried).
    with psycopg.connect(pg.dsn(dbname=notice_functions), autocommit=True) as direct:
        assert direct.execute("SELECT last_value FROM attempts").fetchone() == (2,)
    assert notices == ["attempting"]
    conn.close()
    px.assert_alive()
