"""Fault injection (ctest label `faults`): clients that go away at the worst moment (mid-auth,
mid-COPY, mid-pipeline, with a large result half-read) and clients that never send a start-up
packet. Shared cluster, a scratch database per test. Each case: no crash, the server a vanished
client used is cleaned or closed (no backend left running or inside a transaction, no half-done
COPY committed), the pool serves again, RSS and descriptors back to the baseline."""
import socket
import struct
import time

import pytest

from fault_helpers import Baseline, assert_serves, extended_insert
from ouro_testlib import (RawConn, message, query_message, raw_connect, small_asan_quarantine_env,
                          startup_packet, wait_for)
from pooling_helpers import connect, scratch_db, server_backends, wait_running  # noqa: F401

SIZE = 4
ROUNDS = 10


def fault_proxy(proxy, mode, **overrides):
    return proxy(_env=small_asan_quarantine_env(), pool={"mode": mode, "size": SIZE}, **overrides)


def vanish(raw):
    """Closes the client's socket at once with a reset (SO_LINGER 0), as a killed process would."""
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.close()


def backends_quiet(pg, db):
    """No backend of db running a statement or inside a transaction."""
    return all(state == "idle" for _, state, _ in server_backends(pg, db))


def run_case(pg, px, db, action, what):
    """Runs action once as a warm-up, takes the baseline, runs it ROUNDS more times, and checks
    that PostgreSQL's side is quiet, the pool serves and the proxy is back to its baseline."""
    action()
    wait_for(lambda: backends_quiet(pg, db), 30, message=f"{db}'s backends to be quiet")
    baseline = Baseline(px, pg.port, SIZE)
    for _ in range(ROUNDS):
        action()
        px.assert_alive()
    wait_for(lambda: backends_quiet(pg, db), 30,
             message=f"{db}'s backends to be quiet: {server_backends(pg, db)}")
    assert_serves(px, db)
    baseline.assert_back(what)


@pytest.mark.parametrize("auth", ["scram-sha-256", "md5"])
def test_client_vanishes_mid_auth(pg, proxy, scratch_db, auth):
    px = fault_proxy(proxy, "session", auth={"type": auth})

    def action():
        raw = RawConn(px.host, px.port)
        raw.send(startup_packet({"user": "ouro", "database": scratch_db}))
        mtype, _ = raw.read_message()
        assert mtype == b"R"
        vanish(raw)
    run_case(pg, px, scratch_db, action, f"vanished mid-auth ({auth})")


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_client_vanishes_mid_copy(pg, proxy, scratch_db, mode):
    px = fault_proxy(proxy, mode)
    with connect(px, scratch_db) as conn:
        conn.execute("CREATE TABLE copied (i bigint, t text)")

    def action():
        raw = raw_connect(px, dbname=scratch_db)
        raw.send(query_message("COPY copied FROM STDIN"))
        mtype, _ = raw.read_message()
        assert mtype == b"G", mtype  # CopyInResponse
        raw.send(b"".join(message(b"d", f"{i}\tsome text\n".encode()) for i in range(2000)))
        wait_running(pg, scratch_db, "COPY copied FROM STDIN")
        vanish(raw)
    run_case(pg, px, scratch_db, action, f"vanished mid-COPY ({mode})")
    # A COPY that never got its CopyDone must not commit anything.
    assert pg.super_query("SELECT count(*) FROM copied", dbname=scratch_db) == [(0,)]


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_client_vanishes_mid_pipeline(pg, proxy, scratch_db, mode):
    px = fault_proxy(proxy, mode)
    with connect(px, scratch_db) as conn:
        conn.execute("CREATE TABLE ledger (id bigint, writer int)")
    counter = [0]

    def action():
        raw = raw_connect(px, dbname=scratch_db)
        first = counter[0]
        counter[0] += 500
        raw.send(b"".join(extended_insert("ledger", i) for i in range(first, first + 500)))
        vanish(raw)
    run_case(pg, px, scratch_db, action, f"vanished mid-pipeline ({mode})")
    # Whatever ran, ran once.
    assert pg.super_query("SELECT count(*) FROM (SELECT id FROM ledger GROUP BY id "
                          "HAVING count(*) > 1) d", dbname=scratch_db) == [(0,)]


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_client_vanishes_with_a_large_result_half_read(pg, proxy, scratch_db, mode):
    px = fault_proxy(proxy, mode)
    sql = "SELECT generate_series(1, 20000000), repeat('z', 1000)"  # streamed, not materialised

    def action():
        raw = raw_connect(px, dbname=scratch_db)
        raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        raw.send(query_message(sql))
        got = 0
        while got < 2 * 1024 * 1024:  # a couple of MB of the ~20 GB result
            mtype, payload = raw.read_message()
            assert mtype in (b"T", b"D"), mtype
            got += len(payload)
        vanish(raw)
    run_case(pg, px, scratch_db, action, f"vanished with a result half-read ({mode})")


def test_clients_that_never_send_a_startup_packet(pg, proxy, scratch_db):
    px = fault_proxy(proxy, "session", timeouts={"client_login_timeout": "2s"})
    count = 40

    def action():
        socks = [socket.create_connection((px.host, px.port), timeout=10) for _ in range(count)]
        try:
            # Meanwhile a real client is served.
            with connect(px, scratch_db) as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
            # Each silent connection is closed by the proxy after client_login_timeout.
            end = time.monotonic() + 30
            for s in socks:
                s.settimeout(max(0.1, end - time.monotonic()))
                data = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                # An ErrorResponse (57P03, client_login_timeout), then the close.
                assert data[:1] == b"E" and b"57P03" in data and b"client_login_timeout" in data, data
        finally:
            for s in socks:
                s.close()
    run_case(pg, px, scratch_db, action, "clients without a start-up packet")
