"""Hostile and broken clients on raw sockets: garbage, truncated and oversized packets. The proxy
must answer with an error (08P01 where it says anything) or close the connection, never crash or
hang, and keep serving well-behaved clients."""
import random
import socket
import struct

import pytest

from ouro_testlib import (PROTOCOL_3_0, RawConn, message, query_message, raw_connect,
                          startup_packet, wait_for)

DEADLINE = 10.0


@pytest.fixture
def px(proxy):
    p = proxy(limits={"max_message_size": "1MB"})
    yield p
    # After every abuse: the process is alive and a good client works.
    p.assert_alive()
    with p.connect() as conn:
        assert conn.execute("SELECT 'still serving'").fetchone() == ("still serving",)


def expect_rejected(raw, close_write=False, allowed=("08P01",)):
    """The proxy closes the connection (optionally after an ErrorResponse with a SQLSTATE in
    allowed); returns the error's fields or None."""
    if close_write:
        raw.sock.shutdown(socket.SHUT_WR)
    error, eof = raw.read_until_eof_or_error(DEADLINE)
    assert eof, f"proxy neither closed nor finished answering within {DEADLINE}s (error={error})"
    if error is not None:
        assert error.get("C") in allowed, error
    return error


def test_random_bytes_as_startup(px):
    rng = random.Random(20240611)

    def junk(n):
        return bytes(rng.getrandbits(8) for _ in range(n))

    cases = []
    for _ in range(20):  # pure noise: mostly an absurd length
        cases.append(junk(rng.randint(1, 300)))
    for _ in range(20):  # a plausible length followed by noise
        body = junk(rng.randint(4, 200))
        cases.append(struct.pack("!I", len(body) + 4) + body)
    for _ in range(20):  # protocol 3.0 with noise as the parameter list
        body = struct.pack("!I", PROTOCOL_3_0) + junk(rng.randint(0, 200))
        cases.append(struct.pack("!I", len(body) + 4) + body)
    for data in cases:
        with RawConn(px.host, px.port) as raw:
            raw.send(data)
            # Noise may read as an unsupported protocol (0A000) or a startup packet without a
            # user (28000); anything else must be a protocol violation, or a silent close.
            expect_rejected(raw, close_write=True, allowed=("08P01", "0A000", "28000"))
        px.assert_alive()


def test_startup_length_2_pow_31_minus_1(px):
    with RawConn(px.host, px.port) as raw:
        raw.send(struct.pack("!II", 0x7FFFFFFF, PROTOCOL_3_0) + b"user\0ouro\0")
        expect_rejected(raw)  # must not wait for 2 GB to arrive


def test_startup_length_below_8(px):
    for length in (0, 1, 4, 7):
        with RawConn(px.host, px.port) as raw:
            raw.send(struct.pack("!I", length) + b"\0\0\0\0\0\0\0\0")
            expect_rejected(raw)


def test_startup_without_user_or_bad_protocol(px):
    with RawConn(px.host, px.port) as raw:  # no "user" parameter
        raw.send(startup_packet({"database": "ouro"}))
        assert expect_rejected(raw, allowed=("08P01", "28000")) is not None
    with RawConn(px.host, px.port) as raw:  # unterminated parameter list
        body = struct.pack("!I", PROTOCOL_3_0) + b"user\0ouro"
        raw.send(struct.pack("!I", len(body) + 4) + body)
        expect_rejected(raw)
    with RawConn(px.host, px.port) as raw:  # protocol 9.0 (does not exist)
        raw.send(startup_packet({"user": "ouro", "database": "ouro"}, protocol=9 << 16))
        error, eof = raw.read_until_eof_or_error(DEADLINE)
        assert eof and error is not None, "expected an error for protocol 9.0"


def test_typed_message_with_huge_length_after_login(px):
    raw = raw_connect(px)
    raw.send(b"Q" + struct.pack("!I", 0x7FFFFFFF) + b"SELECT 1")
    expect_rejected(raw)
    raw.close()


def test_typed_message_over_max_message_size(px):
    raw = raw_connect(px)
    # 2 MB > limits.max_message_size (1MB): refused from its header, without buffering it.
    raw.send(b"Q" + struct.pack("!I", 2 * 1024 * 1024 + 4) + b"SELECT 1")
    error = expect_rejected(raw)
    assert error is not None and error.get("C") == "08P01", error
    raw.close()


def test_typed_message_with_length_below_4(px):
    for length in (0, 3):
        raw = raw_connect(px)
        raw.send(b"Q" + struct.pack("!I", length) + b"\0\0\0\0")
        expect_rejected(raw)
        raw.close()


def test_message_just_under_the_limit_is_accepted(px):
    raw = raw_connect(px)
    literal = "z" * (1024 * 1024 - 100)
    assert raw.simple_query(f"SELECT length('{literal}')") == [[str(len(literal))]]
    raw.terminate()


def test_garbage_during_authentication(px):
    with RawConn(px.host, px.port) as raw:
        raw.send(startup_packet({"user": "ouro", "database": "ouro"}))
        mtype, _ = raw.read_message()
        assert mtype == b"R"
        raw.send(message(b"p", b"\xff" * 50))  # not a SASLInitialResponse
        error = expect_rejected(raw, allowed=("08P01", "28P01"))
        assert error is not None
    with RawConn(px.host, px.port) as raw:
        raw.send(startup_packet({"user": "ouro", "database": "ouro"}))
        raw.read_message()
        raw.send(b"p" + struct.pack("!I", 0x7FFFFFFF) + b"SCRAM-SHA-256\0")  # 2 GB "response"
        expect_rejected(raw, allowed=("08P01", "28P01"))
    with RawConn(px.host, px.port) as raw:
        raw.send(startup_packet({"user": "ouro", "database": "ouro"}))
        raw.read_message()
        raw.send(query_message("SELECT 1"))  # a query before authenticating
        error, eof = raw.read_until_eof_or_error(DEADLINE)
        assert eof


def test_connections_closed_mid_packet(px):
    packet = startup_packet({"user": "ouro", "database": "ouro"})
    for cut in (1, 3, 4, 6, len(packet) - 1):
        with RawConn(px.host, px.port) as raw:
            raw.send(packet[:cut])
    raw = raw_connect(px)
    raw.send(query_message("SELECT 1")[:7])  # half a query, then gone
    raw.close()
    raw = raw_connect(px)
    raw.send(b"Q" + struct.pack("!I", 1000) + b"SELECT")  # promises more than it sends
    raw.close()
    px.assert_alive()


def test_1000_rapid_connect_close(px):
    def fd_count():
        return px.fd_count()

    baseline = fd_count()
    for i in range(1000):
        s = socket.create_connection((px.host, px.port), timeout=10)
        if i % 3 == 1:
            s.sendall(struct.pack("!II", 8, 80877103))  # SSLRequest, then vanish
        elif i % 3 == 2:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
        s.close()
    px.assert_alive()
    # Every one of those connections is released again.
    wait_for(lambda: fd_count() <= baseline + 2, 15,
             message=f"proxy fd count to return near its baseline of {baseline}")


def test_client_login_timeout(proxy):
    """Clients that connect and then stall (silent, half a startup packet, mid-SCRAM) are
    disconnected after timeouts.client_login_timeout."""
    px = proxy(timeouts={"client_login_timeout": "1s"})
    silent = RawConn(px.host, px.port)
    partial = RawConn(px.host, px.port)
    partial.send(startup_packet({"user": "ouro", "database": "ouro"})[:10])
    mid_auth = RawConn(px.host, px.port)
    mid_auth.send(startup_packet({"user": "ouro", "database": "ouro"}))
    assert mid_auth.read_message()[0] == b"R"
    for raw in (silent, partial, mid_auth):
        error, eof = raw.read_until_eof_or_error(15)
        assert eof, "stalled client not disconnected by client_login_timeout"
        raw.close()
    px.assert_alive()
    with px.connect() as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
