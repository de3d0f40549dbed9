"""Fault injection (ctest label `faults`): PostgreSQL itself fails under load. Each case uses a
private cluster (it restarts or freezes PostgreSQL; other tests share the fixture cluster) and
checks that the proxy does not crash, that no write a client was told succeeded is lost or applied
twice, that clients get clean errors (an ErrorResponse with a SQLSTATE), that the pool serves again
and that the proxy's RSS and descriptors return to their baseline."""
import os
import re
import signal

import pytest

from fault_helpers import (Baseline, Frozen, Writers, assert_serves, check_ledger, clean_failure,
                           cluster_pids, create_ledger_table)
from ouro_testlib import first_query_error_sqlstate, small_asan_quarantine_env
from pooling_helpers import Runner, backend_entry, connect, private_cluster, wait_log  # noqa: F401

WRITERS = 8
CANCELLING = r"cancelling the running query: .*query_timeout"
BACKOFF = {"initial": "100ms", "max": "1s", "multiplier": 2, "jitter": 0.2}


def private_proxy(proxy, cluster, mode, size, **settings):
    pool = dict({"mode": mode, "size": size, "query_wait_timeout": "60s", "backoff": BACKOFF},
                **settings.pop("pool", {}))
    return proxy(_env=small_asan_quarantine_env(), pool=pool, logging={"level": "info"},
                 databases={"ouro": backend_entry(cluster.host, cluster.port), "*": None},
                 **settings)


def warmed_up(px, cluster, table, writers, size):
    """Creates the ledger table, runs the writers once (so pools and buffers are at their working
    size) and takes the proxy's baseline with no client connected."""
    with connect(px, "ouro") as conn:
        create_ledger_table(conn, table)
    warm = Writers(px.dsn(dbname="ouro"), table, count=writers, first_id=0).start()
    warm.wait_progress(20 * writers)
    ledger = warm.stop()
    assert not ledger.errors, ledger.errors
    return ledger, Baseline(px, cluster.port, size)


def assert_clean_errors(ledger, mode, at_most):
    """Transaction mode: each error is an ErrorResponse with a connection-failure SQLSTATE and
    the session goes on. Session mode: each error ends the client's connection (it was using the
    server that went away). psycopg reports no SQLSTATE for a FATAL that comes with the close, and
    a client that was idle when the proxy sent it may find the connection reset by the time it
    writes its next statement (TCP discards that FATAL; PostgreSQL's own sessions behave alike),
    so session mode checks that the connection ended, not the SQLSTATE."""
    assert not ledger.connect_errors, f"clients could not connect: {ledger.connect_errors[:5]}"
    for sqlstate, text, broken in ledger.errors:
        if mode == "transaction":
            assert clean_failure(sqlstate) and not broken, (sqlstate, text, broken)
        else:
            assert broken or clean_failure(sqlstate), (sqlstate, text, broken)
    assert len(ledger.errors) <= at_most, f"{len(ledger.errors)} errors: {ledger.errors}"


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_restart_under_write_load(proxy, private_cluster, mode):
    """8 writers of autocommit INSERTs; pg_ctl restart -m fast. Each writer may be told of the
    one INSERT it had in flight (a clean error); every acknowledged row is there exactly once."""
    cluster = private_cluster
    px = private_proxy(proxy, cluster, mode, WRITERS)
    warm, baseline = warmed_up(px, cluster, "ledger", WRITERS, WRITERS)

    writers = Writers(px.dsn(dbname="ouro"), "ledger", count=WRITERS, first_id=1).start()
    writers.wait_progress(50 * WRITERS)
    cluster.restart()
    after_restart = writers.total()
    writers.wait_progress(after_restart + 50 * WRITERS, deadline=60)  # writing again, all of them
    ledger = writers.stop()

    assert_clean_errors(ledger, mode, at_most=WRITERS)
    ledger.acked += warm.acked
    with connect(px, "ouro") as conn:
        rows = check_ledger(conn, "ledger", ledger)
    assert rows >= len(ledger.acked)
    assert_serves(px, "ouro")
    baseline.assert_back(f"restart in {mode} mode")
    print(f"{mode}: {len(ledger.acked)} acknowledged, {len(ledger.errors)} clean errors: "
          f"{sorted(set(str(e[0]) for e in ledger.errors))}")


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_frozen_postgres_past_query_and_connect_timeouts(proxy, private_cluster, mode):
    """PostgreSQL stopped with SIGSTOP for longer than query_timeout and server_connect_timeout,
    then resumed: running statements are cancelled or finish, a client needing a new server gets a
    clean error instead of hanging, and everything works again after SIGCONT."""
    cluster = private_cluster
    writers_n, size = 4, 5
    px = private_proxy(proxy, cluster, mode, size,
                       pool={"query_timeout": "1s", "query_wait_timeout": "4s"},
                       timeouts={"server_connect_timeout": "1s", "client_login_timeout": "60s"})
    warm, baseline = warmed_up(px, cluster, "ledger", writers_n, size)

    writers = Writers(px.dsn(dbname="ouro"), "ledger", count=writers_n, first_id=1).start()
    writers.wait_progress(20 * writers_n)
    with Frozen(cluster):
        # Every writer's INSERT passes query_timeout: the proxy tries to cancel each (so every
        # server is taken and a new client needs a new one).
        wait_log(px, CANCELLING, deadline=30, count=writers_n)
        # A client that needs a new server (the writers hold all the others): the connection
        # attempts time out and, after query_wait_timeout, the client is told so instead of
        # waiting forever.
        probe = Runner(lambda: first_query_error_sqlstate(px.host, px.port, "ouro", "ouro_pw", "ouro",
                                                          timeout=30), name="probe")
        probe.start()
        probe_sqlstate = probe.join_result(40)
        wait_log(px, r"timeout after 1000ms", deadline=30)
    frozen_total = writers.total()
    writers.wait_progress(frozen_total + 20 * writers_n, deadline=60)
    ledger = writers.stop()

    assert clean_failure(probe_sqlstate), probe_sqlstate
    # A cancel that waited in PostgreSQL's accept queue may hit a later statement, and PostgreSQL
    # may deliver a cancel twice: each cancel the proxy sent costs at most two statements.
    cancels = len(re.findall(CANCELLING, px.log_text()))
    assert_clean_errors(ledger, mode, at_most=2 * cancels)
    assert all(e[0] == "57014" for e in ledger.errors), ledger.errors
    ledger.acked += warm.acked
    with connect(px, "ouro") as conn:
        check_ledger(conn, "ledger", ledger)
    assert_serves(px, "ouro")
    baseline.assert_back(f"freeze in {mode} mode")
    print(f"{mode}: probe told {probe_sqlstate}; writers: {len(ledger.acked)} acknowledged, "
          f"errors {ledger.errors}")


def test_a_late_cancel_never_reaches_the_next_request(proxy, private_cluster):
    """PostgreSQL signals a cancelled backend from a process of its own, twice (the backend, then
    its process group); on a busy machine that process can run late, after the cancelled query
    has ended. Here the whole delivery is late: the postmaster is stopped (its backends run on)
    when query_timeout's CancelRequest is sent, so the query ends on its own, and another client's
    request gets the same server (pool size 1) while the cancel is still on its way. The request
    waits until PostgreSQL has acted on the cancel and closed its connection, and then runs
    uncancelled."""
    cluster = private_cluster
    px = private_proxy(proxy, cluster, "transaction", 1, pool={"query_timeout": "1s"})
    with connect(px, "ouro") as a, connect(px, "ouro") as b:
        assert b.execute("SELECT 1").fetchone() == (1,)  # both logged in; the one server is up
        postmaster = cluster_pids(cluster)[0]
        os.kill(postmaster, signal.SIGSTOP)
        try:
            # The CancelRequest waits in the stopped postmaster's accept queue; the sleep ends.
            assert a.execute("SELECT pg_sleep(2.5), 'a'").fetchone()[1] == "a"
            wait_log(px, CANCELLING)
            # Shorter than query_timeout: only a stray signal could cancel it.
            later = Runner(lambda: b.execute("SELECT pg_sleep(0.2), 'b'").fetchone()[1], name="b")
            later.start()
            wait_log(px, r"is assigned once the cancel of its last query is delivered")
        finally:
            os.kill(postmaster, signal.SIGCONT)
        assert later.join_result(60) == "b"
        assert a.execute("SELECT 'a again'").fetchone() == ("a again",)
    assert_serves(px, "ouro")
