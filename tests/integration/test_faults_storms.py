"""Fault injection (ctest label `faults`): operators and clients hammering the proxy under load. A
storm of reloads, a storm of PAUSE/RESUME and a storm of cancel requests (real keys and bogus
ones). Shared cluster, a scratch database per test. Reloads and pauses must cost the writers
nothing: no error at all, every acknowledged row exactly once. Cancelled statements fail with
57014 and nothing else; the proxy ends with no leftover cancel connections."""
import struct
import socket

import pytest

from fault_helpers import (Baseline, Writers, assert_serves, check_ledger, create_ledger_table,
                           resources)
from ouro_testlib import (CANCEL_REQUEST_CODE, ServerError, raw_connect, small_asan_quarantine_env,
                          wait_for)
from pooling_helpers import (Runner, connect, reloads, rewrite_config, scratch_db,  # noqa: F401
                             server_backends, sighup, wait_running)

WRITERS = 8
SIZE = 8
STORM = 40


def storm_proxy(proxy, mode, **overrides):
    return proxy(_env=small_asan_quarantine_env(), pool={"mode": mode, "size": SIZE},
                 admin={"users": ["ouro"]}, **overrides)


def warmed_up(px, pg, db):
    with connect(px, db) as conn:
        create_ledger_table(conn, "ledger")
    warm = Writers(px.dsn(dbname=db), "ledger", count=WRITERS, first_id=0).start()
    warm.wait_progress(20 * WRITERS)
    ledger = warm.stop()
    assert not ledger.errors and not ledger.connect_errors, ledger.errors
    return ledger, Baseline(px, pg.port, SIZE)


def finish(px, db, writers, warm, baseline, what):
    before = writers.total()
    writers.wait_progress(before + 20 * WRITERS)  # still writing after the storm
    ledger = writers.stop()
    assert not ledger.errors, f"{what}: writers got errors: {ledger.errors[:10]}"
    assert not ledger.connect_errors, f"{what}: {ledger.connect_errors[:10]}"
    ledger.acked += warm.acked
    with connect(px, db) as conn:
        assert check_ledger(conn, "ledger", ledger) == len(ledger.acked)
    assert_serves(px, db)
    baseline.assert_back(what)


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_reload_storm_under_load(pg, proxy, scratch_db, mode):
    px = storm_proxy(proxy, mode)
    warm, baseline = warmed_up(px, pg, scratch_db)
    writers = Writers(px.dsn(dbname=scratch_db), "ledger", count=WRITERS, first_id=1).start()
    writers.wait_progress(10 * WRITERS)
    for n in range(STORM):
        config = px.config
        config["pool"]["size"] = SIZE - n % 2  # pool limits change under the writers
        config["pool"]["server_idle_timeout"] = f"{60 + n}s"
        users = config["auth"]["users"]
        users.pop(f"storm_{n - 1}", None)
        users[f"storm_{n}"] = {"password": f"pw_{n}"}
        config["logging"]["level"] = "info" if n % 2 else "warn"
        rewrite_config(px, config)
        before = reloads(px) if n % 2 else None
        sighup(px)
        if before is not None:  # "configuration reloaded" is logged at info level only
            wait_for(lambda: reloads(px) > before, 20, message=f"reload {n}")
        px.assert_alive()
    finish(px, scratch_db, writers, warm, baseline, f"reload storm ({mode})")


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_pause_resume_storm_under_load(pg, proxy, scratch_db, mode):
    px = storm_proxy(proxy, mode)
    warm, baseline = warmed_up(px, pg, scratch_db)
    writers = Writers(px.dsn(dbname=scratch_db), "ledger", count=WRITERS, first_id=1).start()
    writers.wait_progress(10 * WRITERS)
    with raw_connect(px, dbname="ouroboros") as admin:
        for n in range(STORM):
            target = "" if n % 2 else f" {scratch_db}"
            admin.simple_query(f"PAUSE{target}")
            admin.simple_query(f"RESUME{target}")
            if n % 10 == 9:  # now and then the writers must get through between storms
                writers.wait_progress(writers.total() + WRITERS)
    finish(px, scratch_db, writers, warm, baseline, f"PAUSE/RESUME storm ({mode})")


def send_cancel(px, pid, key):
    with socket.create_connection((px.host, px.port), timeout=10) as s:
        s.sendall(struct.pack("!IIII", 16, CANCEL_REQUEST_CODE, pid, key))
        s.settimeout(10)
        assert s.recv(1) == b""  # the proxy answers a CancelRequest by closing the connection


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_cancel_storm(pg, proxy, scratch_db, mode):
    px = storm_proxy(proxy, mode)
    clients = [raw_connect(px, dbname=scratch_db) for _ in range(4)]
    try:
        for c in clients:
            assert c.simple_query("SELECT 1") == [["1"]]
        baseline = Baseline(px, pg.port, SIZE)
        for _ in range(3):
            sleepers = [Runner(lambda c=c: c.simple_query("SELECT pg_sleep(60)"), name="sleeper")
                        for c in clients]
            for s in sleepers:
                s.start()
            wait_running(pg, scratch_db, "pg_sleep", count=len(clients))
            for n in range(STORM):
                for c in clients:
                    send_cancel(px, c.backend_pid, c.secret_key)
                send_cancel(px, 12345 + n, 67890 + n)  # unknown keys are ignored
                send_cancel(px, clients[0].backend_pid, clients[0].secret_key ^ 1)
            for s in sleepers:
                with pytest.raises(ServerError) as info:
                    s.join_result(30)
                assert info.value.sqlstate == "57014", info.value.fields
            # Every forwarded cancel is done: the proxy's only connections to PostgreSQL are its
            # servers (a cancel still on its way could hit the next round's statements).
            wait_for(lambda: resources(px, pg.port)[1] == len(server_backends(pg, scratch_db)), 30,
                     message="the proxy's cancel connections to end")
            for c in clients:
                # Cancels of the storm still on their way (and the second signal PostgreSQL may
                # send a cancelled backend) can hit the next statement: only with 57014.
                for attempt in range(20):
                    try:
                        assert c.simple_query("SELECT 1") == [["1"]]
                        break
                    except ServerError as e:
                        assert e.sqlstate == "57014" and "user request" in e.fields.get("M", ""), e.fields
                else:
                    raise AssertionError("SELECT 1 cancelled 20 times in a row")
        px.assert_alive()
    finally:
        for c in clients:
            c.terminate()
    assert_serves(px, scratch_db)
    baseline.assert_back(f"cancel storm ({mode})")
