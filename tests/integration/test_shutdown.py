"""SIGTERM (docs/pooling.md "Lifecycle"): the proxy stops accepting connections, closes idle
clients with FATAL 57P01, lets running transactions finish for up to timeouts.shutdown_timeout,
then closes everything and exits 0."""
import uuid

import pytest

from ouro_testlib import ConnectionClosed, RawConn, ServerError, raw_connect, wait_for


def _sigterm(px):
    import signal
    px.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: "shutting down" in px.log_text(), 15, message="the proxy to log shutting down")


def _wait_exit(px, deadline=30):
    wait_for(lambda: px.proc.poll() is not None, deadline, message="the proxy to exit")
    px.stopped = True  # checked here, not again at teardown
    assert px.proc.returncode == 0, f"exit code {px.proc.returncode}; log:\n{px.log_tail()}"
    assert not px.sanitizer_reports(), "\n".join(px.sanitizer_reports())


def _refuses_new_clients(px):
    try:
        with RawConn(px.host, px.port, timeout=5) as raw:
            raw.startup("ouro", "ouro_pw", "ouro")
    except (OSError, ServerError, ConnectionClosed):  # refused, reset, FATAL or closed mid-login
        return True
    return False


@pytest.fixture
def table(pg):
    name = f"shutdown_{uuid.uuid4().hex[:8]}"
    pg.super_query(f"CREATE TABLE {name} (v text)", dbname="ouro")
    pg.super_query(f"GRANT ALL ON {name} TO ouro", dbname="ouro")
    yield name
    pg.super_query(f"DROP TABLE {name}", dbname="ouro")


def test_idle_client_gets_57P01_and_proxy_exits_0(proxy):
    px = proxy()
    raw = raw_connect(px)
    assert raw.simple_query("SELECT 1") == [["1"]]
    _sigterm(px)
    error, eof = raw.read_until_eof_or_error(15)
    assert eof, "idle client was not disconnected"
    assert error is not None and error.get("C") == "57P01", error
    raw.close()
    _wait_exit(px)


def test_running_transaction_may_finish(pg, proxy, table):
    px = proxy(timeouts={"shutdown_timeout": "30s"})
    raw = raw_connect(px)
    raw.simple_query(f"BEGIN; INSERT INTO {table} VALUES ('before SIGTERM')")
    _sigterm(px)
    wait_for(lambda: _refuses_new_clients(px), 15, message="new clients to be refused")
    # The transaction goes on and commits through the shutting-down proxy.
    raw.simple_query(f"INSERT INTO {table} VALUES ('after SIGTERM')")
    raw.simple_query("COMMIT")
    error, eof = raw.read_until_eof_or_error(15)
    assert eof, "client not disconnected after its transaction ended"
    raw.close()
    _wait_exit(px)
    rows = pg.super_query(f"SELECT v FROM {table} ORDER BY v", dbname="ouro")
    assert rows == [("after SIGTERM",), ("before SIGTERM",)]


def test_transaction_cut_at_shutdown_timeout_is_rolled_back(pg, proxy, table):
    px = proxy(timeouts={"shutdown_timeout": "1s"})
    raw = raw_connect(px, params={"application_name": "ouro_shutdown_cut"})
    pid = raw.backend_pid
    raw.simple_query(f"BEGIN; INSERT INTO {table} VALUES ('never committed')")
    _sigterm(px)
    error, eof = raw.read_until_eof_or_error(20)  # the client never ends its transaction
    assert eof, "transaction not cut after shutdown_timeout"
    raw.close()
    _wait_exit(px)
    wait_for(lambda: not pg.super_query("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)),
             20, message=f"backend {pid} to end")
    assert pg.super_query(f"SELECT count(*) FROM {table}", dbname="ouro") == [(0,)]


def test_sigterm_right_after_a_forwarded_cancel(pg, proxy):
    """A cancel request the proxy is still forwarding when SIGTERM arrives must not keep it from
    exiting cleanly (with ASan: no leaked forwarder)."""
    import signal
    import socket
    import struct
    import threading
    from ouro_testlib import CANCEL_REQUEST_CODE
    for _ in range(10):
        px = proxy(timeouts={"shutdown_timeout": "0s"})
        raw = raw_connect(px)
        done = threading.Event()

        def run_query():
            try:
                raw.simple_query("SELECT pg_sleep(30)")
            except Exception:
                pass
            done.set()

        t = threading.Thread(target=run_query, daemon=True)
        t.start()
        wait_for(lambda: pg.super_query("SELECT 1 FROM pg_stat_activity WHERE pid = %s AND "
                                        "state = 'active'", (raw.backend_pid,)), 15,
                 message="the query to run")
        with socket.create_connection((px.host, px.port), timeout=10) as s:
            s.sendall(struct.pack("!IIII", 16, CANCEL_REQUEST_CODE, raw.backend_pid,
                                  raw.secret_key))
            px.proc.send_signal(signal.SIGTERM)
        _wait_exit(px)
        t.join(30)
        raw.close()
