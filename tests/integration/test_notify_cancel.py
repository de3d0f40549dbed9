"""Asynchronous traffic through the proxy: LISTEN/NOTIFY between two clients, and a cancel
request (sent to the proxy, as libpq does) interrupting a running query."""
import threading

import psycopg
import pytest

from ouro_testlib import wait_for


def test_listen_notify_between_two_clients(proxy):
    px = proxy()
    received = []
    with px.connect() as listener, px.connect() as notifier:
        listener.add_notify_handler(received.append)
        listener.execute("LISTEN ouro_chan")
        notifier.execute("NOTIFY ouro_chan, 'first payload'")
        notifier.execute("SELECT pg_notify('ouro_chan', 'second ✓')")

        def both_arrived():
            listener.execute("SELECT 1")  # lets libpq read what is waiting on the socket
            return len(received) >= 2

        wait_for(both_arrived, 20, message="two notifications on the listener")
        assert [n.channel for n in received] == ["ouro_chan", "ouro_chan"]
        assert [n.payload for n in received] == ["first payload", "second ✓"]
        # The notification names the real backend of the sender.
        assert {n.pid for n in received} == {notifier.info.backend_pid}

        # A notification sent inside a transaction arrives only after COMMIT.
        listener.execute("UNLISTEN ouro_chan")
        listener.execute("LISTEN other_chan")
        with notifier.transaction():
            notifier.execute("NOTIFY other_chan, 'committed'")
        wait_for(lambda: listener.execute("SELECT 1") and len(received) >= 3, 20,
                 message="the committed notification")
        assert received[2].channel == "other_chan" and received[2].payload == "committed"


def _wait_until_running(pg, backend_pid, fragment):
    def running():
        rows = pg.super_query(
            "SELECT state, query FROM pg_stat_activity WHERE pid = %s", (backend_pid,))
        return rows and rows[0][0] == "active" and fragment in rows[0][1]
    wait_for(running, 20, message=f"backend {backend_pid} running {fragment!r}")


def test_cancel_long_query_through_proxy(pg, proxy):
    px = proxy()
    with px.connect(application_name="ouro_cancel") as conn:
        pid = conn.info.backend_pid
        assert conn.execute("SELECT pg_backend_pid()").fetchone()[0] == pid
        errors = []

        def canceller():
            try:
                _wait_until_running(pg, pid, "pg_sleep(120)")
                conn.cancel()
            except BaseException as e:  # reported by the main thread
                errors.append(e)

        t = threading.Thread(target=canceller)
        t.start()
        with pytest.raises(psycopg.errors.QueryCanceled) as exc:
            conn.execute("SELECT pg_sleep(120)")
        t.join(30)
        assert not errors, errors
        assert exc.value.sqlstate == "57014"
        assert "canceling statement due to user request" in str(exc.value)
        # The same session is still usable and is still the same backend.
        assert conn.execute("SELECT 41 + 1, pg_backend_pid()").fetchone() == (42, pid)


def test_cancel_inside_transaction_then_rollback(pg, proxy):
    px = proxy()
    with px.connect(autocommit=False) as conn:
        pid = conn.info.backend_pid
        conn.execute("CREATE TEMP TABLE keep (i int)")
        conn.execute("INSERT INTO keep VALUES (1)")
        t = threading.Thread(target=lambda: (_wait_until_running(pg, pid, "pg_sleep(90)"),
                                             conn.cancel()))
        t.start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(90)")
        t.join(30)
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("SELECT 1")
        conn.rollback()
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS keep (i int)")
        assert conn.execute("SELECT count(*) FROM keep").fetchone() == (0,)
        conn.rollback()


def test_cancel_with_bogus_key_is_ignored(pg, proxy):
    """A CancelRequest naming the real backend pid but a wrong secret key must not cancel it. The
    query waits for an advisory lock the test holds; the lock is released only once the proxy has
    logged that it ignored the request, so a cancel forwarded anyway would hit the waiting query."""
    import socket
    import struct
    from ouro_testlib import CANCEL_REQUEST_CODE
    px = proxy(logging={"level": "debug"})
    lock_key = 7_340_021
    holder = pg.connect_super()
    holder.execute("SELECT pg_advisory_lock(%s)", (lock_key,))
    try:
        with px.connect() as conn:
            pid = conn.info.backend_pid
            result = []
            t = threading.Thread(target=lambda: result.append(conn.execute(
                "SELECT pg_advisory_lock(%s), 'not cancelled'", (lock_key,)).fetchone()[1]))
            t.start()
            _wait_until_running(pg, pid, "pg_advisory_lock")
            with socket.create_connection((px.host, px.port), timeout=10) as s:
                s.sendall(struct.pack("!IIII", 16, CANCEL_REQUEST_CODE, pid, 0xDEADBEEF))
                assert s.recv(1024) == b""  # the proxy closes without an answer
            wait_for(lambda: "cancel request with unknown key ignored" in px.log_text(), 20,
                     message="the proxy to log the ignored cancel request")
            holder.execute("SELECT pg_advisory_unlock(%s)", (lock_key,))
            t.join(30)
            assert not t.is_alive()
            assert result == ["not cancelled"]
            assert "forwarding cancel request" not in px.log_text()
    finally:
        holder.close()
    px.assert_alive()


def test_cancel_while_result_is_backpressured(proxy):
    """A client stops reading a huge result (the proxy stops reading the server), then cancels
    it through the proxy: the cancel must get through, and after draining what was already in
    flight the client sees 57014 and a usable session."""
    import socket
    import struct
    from ouro_testlib import CANCEL_REQUEST_CODE, query_message, raw_connect
    px = proxy(limits={"buffer_high_water": "1MB"})
    raw = raw_connect(px)
    raw.sock.settimeout(60)
    # About 10 GB if it ran to the end.
    raw.send(query_message("SELECT repeat('c', 1000) FROM generate_series(1, 10000000)"))
    mtype, _ = raw.read_message()
    assert mtype == b"T"
    with socket.create_connection((px.host, px.port), timeout=10) as s:
        s.sendall(struct.pack("!IIII", 16, CANCEL_REQUEST_CODE, raw.backend_pid, raw.secret_key))
        assert s.recv(16) == b""
    rows, error = 0, None
    while True:
        mtype, payload = raw.read_message()
        if mtype == b"D":
            rows += 1
        elif mtype == b"E":
            from ouro_testlib import parse_fields
            error = parse_fields(payload)
        elif mtype == b"Z":
            break
    assert error is not None and error.get("C") == "57014", error
    assert rows < 10_000_000
    assert raw.simple_query("SELECT 'usable'") == [["usable"]]
    raw.terminate()
