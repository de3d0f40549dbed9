"""The proxy's lifecycle under pooling: SIGHUP reloads (a bigger pool takes effect; a broken file
is reported and ignored) and SIGTERM draining running transactions before exiting 0."""
import signal

import psycopg
import pytest

from ouro_testlib import deep_merge, wait_for
from pooling_helpers import (Runner, connect, no_open_transactions, reloads,  # noqa: F401
                             rewrite_config, scratch_db, server_backends, sighup, wait_log)


def in_transaction(pg, dbname):
    return [r for r in server_backends(pg, dbname) if (r[1] or "").startswith("idle in transaction")]


def open_transaction(conn):
    conn.execute("BEGIN")
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def test_sighup_bigger_pool_takes_effect(pg, proxy, scratch_db):
    px = proxy(pool={"mode": "transaction", "size": 2, "query_wait_timeout": "60s"})
    clients = [connect(px, scratch_db) for _ in range(4)]  # all logged in before the pool fills
    try:
        pids = {open_transaction(clients[0]), open_transaction(clients[1])}
        assert len(pids) == 2
        # A third transaction has to wait: the pool of 2 is full.
        third = Runner(lambda: open_transaction(clients[2]), name="third transaction")
        third.start()
        assert len(in_transaction(pg, scratch_db)) == 2

        before = reloads(px)
        rewrite_config(px, deep_merge(px.config, {"pool": {"size": 4}}))
        sighup(px)
        wait_for(lambda: reloads(px) > before, 20, message="'configuration reloaded' in the log")

        pids.add(third.join_result(30))  # the waiting client got a third server
        pids.add(open_transaction(clients[3]))
        assert len(pids) == 4, pids
        assert {r[0] for r in in_transaction(pg, scratch_db)} == pids
        for conn in clients:
            conn.execute("COMMIT")
    finally:
        for conn in clients:
            conn.close()
    px.assert_alive()


def test_sighup_with_broken_file_keeps_running_config(pg, proxy, scratch_db):
    px = proxy(pool={"mode": "transaction", "size": 2, "query_wait_timeout": "60s"})
    with connect(px, scratch_db) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        good = px.config_text()
        rewrite_config(px, text=good + "\npool: [this is not: valid\n")
        sighup(px)
        wait_log(px, r"reload: .*has errors; keeping the running configuration")
        px.assert_alive()
        # Still serving, in transaction mode with the old pool of 2.
        assert conn.execute("SELECT 2").fetchone() == (2,)
        others = [connect(px, scratch_db) for _ in range(2)]
        try:
            held = {open_transaction(c) for c in others}
            assert len(held) == 2
            waiter = Runner(lambda: conn.execute("SELECT 'waited'").fetchone()[0], name="waiter")
            waiter.start()
            others[0].execute("COMMIT")
            assert waiter.join_result(30) == "waited"
            others[1].execute("COMMIT")
            # The pool did not grow past the old size of 2.
            assert len(server_backends(pg, scratch_db)) <= 2
        finally:
            for c in others:
                c.close()
        assert reloads(px) == 0
        # A fixed file is picked up by the next SIGHUP.
        rewrite_config(px, text=good)
        sighup(px)
        wait_log(px, "configuration reloaded")
        assert conn.execute("SELECT 3").fetchone() == (3,)
    px.assert_alive()


def test_sigterm_waits_for_running_transaction(pg, proxy, scratch_db):
    px = proxy(pool={"mode": "transaction", "size": 2}, timeouts={"shutdown_timeout": "60s"})
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE drained (i int)")
    conn = connect(px, scratch_db)
    idle = connect(px, scratch_db)
    try:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO drained VALUES (1)")
        px.proc.send_signal(signal.SIGTERM)
        wait_log(px, r"shutting down \(SIGTERM\)")
        # New connections are refused while the transaction runs.
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(px.dsn(dbname=scratch_db))
        px.assert_alive()
        # The running transaction goes on and commits.
        conn.execute("INSERT INTO drained VALUES (2)")
        conn.execute("COMMIT")
        assert px.proc.wait(timeout=30) == 0, px.log_tail()
        px.stopped = True  # exited on its own: nothing for the fixture to stop
        assert not px.sanitizer_reports(), px.sanitizer_reports()
    finally:
        conn.close()
        idle.close()
    assert pg.super_query("SELECT array_agg(i ORDER BY i) FROM drained", dbname=scratch_db) == \
        [([1, 2],)]
    assert no_open_transactions(pg, scratch_db)


def test_sigterm_shutdown_timeout_ends_idle_transaction(pg, proxy, scratch_db):
    px = proxy(pool={"mode": "transaction", "size": 2}, timeouts={"shutdown_timeout": "500ms"})
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE abandoned (i int)")
    conn = connect(px, scratch_db)
    try:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO abandoned VALUES (1)")
        px.proc.send_signal(signal.SIGTERM)
        assert px.proc.wait(timeout=30) == 0, px.log_tail()
        px.stopped = True
        with pytest.raises(psycopg.OperationalError):
            conn.execute("COMMIT")
    finally:
        conn.close()
    wait_for(lambda: no_open_transactions(pg, scratch_db), 20,
             message="the abandoned transaction to be rolled back")
    assert pg.super_query("SELECT count(*) FROM abandoned", dbname=scratch_db) == [(0,)]
