"""Configuration lifetime across reloads (issue 14, item 1). A reload replaces (and frees) the
running configuration; whatever a connection still uses of it must stay alive: the user a client
is logging in as (md5 and SCRAM, the proxy waiting for the client's answer), a pool's server login
in progress, a COPY in either direction and the admin console running RELOAD itself. Each reload
here changes the configuration (the users map and the pool size), so the old one is freed. Run
under the ASan build too (`ctest --test-dir build-asan -R reload_lifetime`): before the fix, the
md5 case was a heap-use-after-free that killed the daemon."""
import hashlib
import struct

import psycopg
import pytest

from fault_helpers import HoldingRelay
from ouro_testlib import RawConn, ScramClient, message, raw_connect, startup_packet, wait_for
from pooling_helpers import Runner, connect, reloads, rewrite_config, scratch_db, sighup  # noqa: F401

RELOAD_DEADLINE = 20


def reload_changed(px, n):
    """Rewrites the proxy's configuration with a change (one more user, another pool size),
    sends SIGHUP and waits until the proxy logged the reload."""
    config = px.config
    config["auth"]["users"][f"reload_user_{n}"] = {"password": f"pw_{n}"}
    config["pool"]["size"] = 10 + n % 7
    rewrite_config(px, config)
    before = reloads(px)
    sighup(px)
    wait_for(lambda: reloads(px) > before, RELOAD_DEADLINE, message=f"reload {n} to be applied")


def auth_request(raw):
    mtype, payload = raw.read_message()
    assert mtype == b"R", (mtype, payload)
    (code,) = struct.unpack("!I", payload[:4])
    return code, payload[4:]


def finish_login(raw):
    """Reads AuthenticationOk ... ReadyForQuery (after the last password message)."""
    seen_ok = False
    while True:
        mtype, payload = raw.read_message()
        assert mtype != b"E", f"login failed: {payload!r}"
        if mtype == b"R":
            (code,) = struct.unpack("!I", payload[:4])
            seen_ok = seen_ok or code == 0
        if mtype == b"Z":
            assert seen_ok, "ReadyForQuery without AuthenticationOk"
            return


def test_md5_login_completes_across_a_reload(proxy, scratch_db):
    px = proxy(auth={"type": "md5"})
    for n in range(3):
        with RawConn(px.host, px.port) as raw:
            raw.send(startup_packet({"user": "ouro", "database": scratch_db}))
            code, salt = auth_request(raw)
            assert code == 5, code  # AuthenticationMD5Password: the proxy waits for the answer
            reload_changed(px, n)
            inner = hashlib.md5(b"ouro_pw" + b"ouro").hexdigest()
            outer = hashlib.md5(inner.encode() + salt[:4]).hexdigest()
            raw.send(message(b"p", b"md5" + outer.encode() + b"\0"))
            finish_login(raw)
            assert raw.simple_query("SELECT 7") == [["7"]]
        px.assert_alive()
    # A wrong password is still refused after the reloads.
    with pytest.raises(Exception) as info:
        RawConn(px.host, px.port).startup("ouro", "wrong", scratch_db)
    assert getattr(info.value, "sqlstate", None) == "28P01", info.value
    px.assert_alive()


def test_scram_login_completes_across_reloads(proxy, scratch_db):
    px = proxy()
    with RawConn(px.host, px.port) as raw:
        raw.send(startup_packet({"user": "ouro", "database": scratch_db}))
        code, _ = auth_request(raw)
        assert code == 10, code  # AuthenticationSASL
        reload_changed(px, 1)
        scram = ScramClient("ouro_pw")
        first = scram.client_first()
        raw.send(message(b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first))
        code, server_first = auth_request(raw)
        assert code == 11, code  # AuthenticationSASLContinue: the proxy waits for the proof
        reload_changed(px, 2)
        raw.send(message(b"p", scram.client_final(server_first)))
        code, server_final = auth_request(raw)
        assert code == 12, code
        scram.verify_server_final(server_final)
        finish_login(raw)
        assert raw.simple_query("SELECT 8") == [["8"]]
    px.assert_alive()


def test_server_login_in_progress_across_a_reload(pg, proxy, scratch_db):
    # PostgreSQL's authentication request to the proxy is held back by a relay until the reload
    # is done: the pool's server login then completes on a configuration that is gone.
    relay = HoldingRelay(pg.host, pg.port)
    try:
        px = proxy(databases={scratch_db: {"host": "127.0.0.1", "port": relay.port}, "*": None})
        relay.hold.set()
        client = Runner(lambda: connect(px, scratch_db), name="client waiting for its server")
        client.start()
        wait_for(lambda: relay.held_bytes > 0, 20, message="PostgreSQL's authentication request")
        reload_changed(px, 1)
        relay.release()
        conn = client.join_result(30)
        with conn:
            assert conn.execute("SELECT 9").fetchone() == (9,)
        px.assert_alive()
    finally:
        relay.close()


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_copy_in_both_directions_across_reloads(proxy, scratch_db, mode):
    px = proxy(pool={"mode": mode, "size": 10})
    with connect(px, scratch_db) as conn:
        conn.execute("CREATE TABLE copied (i int, t text)")
        with conn.cursor() as cur:
            with cur.copy("COPY copied FROM STDIN") as copy:
                for i in range(1000):
                    copy.write_row((i, f"row {i}"))
                reload_changed(px, 1)
                for i in range(1000, 2000):
                    copy.write_row((i, f"row {i}"))
        assert conn.execute("SELECT count(*), sum(i) FROM copied").fetchone() == (2000, sum(range(2000)))
        rows = 0
        with conn.cursor() as cur:
            with cur.copy("COPY (SELECT i, repeat('x', 200) FROM generate_series(1, 200000) i) TO STDOUT") as copy:
                for n, _row in enumerate(copy.rows()):
                    if n == 1000:
                        reload_changed(px, 2)
                    rows += 1
        assert rows == 200000
        assert conn.execute("SELECT 10").fetchone() == (10,)
    px.assert_alive()


def test_admin_console_reload_command_across_reloads(pg, proxy):
    px = proxy(admin={"users": ["ouro"]})
    with raw_connect(px, dbname="ouroboros") as admin:
        for n in range(3):
            config = px.config
            config["auth"]["users"][f"admin_reload_{n}"] = {"password": f"pw_{n}"}
            config["pool"]["size"] = 11 + n
            rewrite_config(px, config)
            before = reloads(px)
            admin.simple_query("RELOAD")  # frees the configuration the command started on
            assert reloads(px) == before + 1
            reload_changed(px, 10 + n)  # and a SIGHUP while the admin session is open
            settings = {row[0]: row[1] for row in admin.simple_query("SHOW CONFIG")}
            assert settings["pool.size"] == str(10 + (10 + n) % 7), settings
            assert admin.simple_query("SHOW POOLS") is not None
    with psycopg.connect(px.dsn(dbname=pg.dbname), autocommit=True) as conn:
        assert conn.execute("SELECT 11").fetchone() == (11,)
    px.assert_alive()
