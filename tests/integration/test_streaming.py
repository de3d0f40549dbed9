"""A result far larger than memory allows, streamed to a client that reads slowly: the proxy must
apply back-pressure (stop reading from the server) instead of buffering, so its RSS stays small,
and every byte must arrive."""
import socket
import struct
import time

from ouro_testlib import (RssSampler, query_message, raw_connect, sanitized_build,
                          small_asan_quarantine_env)

ROWS = 540_000
WIDTH = 1000  # 540000 rows * 1001 bytes ('x' * 1000 + newline) = 540.5 MB
# The proxy's peak RSS while it streams hundreds of MB with back-pressure. An ASan/UBSan build
# (OUROBOROS_SANITIZE=ON, set by CMake for such a build) adds its own memory: shadow memory, redzones
# and the (reduced, see small_asan_quarantine_env) quarantine of freed blocks, so its limit is
# higher (measured under ASan: about 66 MB at rest, peaks of 75-81 MB in these tests); still far
# below what buffering the 256-540 MB of these tests would take.
RSS_LIMIT_KB = (150 if sanitized_build() else 100) * 1024
CHUNK = 64 * 1024
PAUSE = 0.001  # load shaping: a reader much slower than PostgreSQL can produce


def slow_read_messages(raw, on_message):
    """Reads the socket in small chunks with pauses, calling on_message(type, payload_len,
    payload_head) per message until ReadyForQuery."""
    sock = raw.sock
    buf = bytearray(raw.buf)
    raw.buf.clear()
    while True:
        pos = 0
        while len(buf) - pos >= 5:
            mtype = buf[pos:pos + 1]
            (length,) = struct.unpack_from("!I", buf, pos + 1)
            if len(buf) - pos < 1 + length:
                break
            on_message(bytes(mtype), length - 4, bytes(buf[pos + 5:pos + 5 + min(length - 4, 64)]))
            pos += 1 + length
            if mtype == b"Z":
                return
        del buf[:pos]
        chunk = sock.recv(CHUNK)
        assert chunk, "connection closed before ReadyForQuery"
        buf += chunk
        time.sleep(PAUSE)


def test_large_copy_to_slow_reader_keeps_rss_bounded(proxy):
    px = proxy(_env=small_asan_quarantine_env(), limits={"buffer_high_water": "1MB"})
    raw = raw_connect(px)
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    raw.sock.settimeout(60)
    baseline_kb = px.rss_kb()
    counts = {"copy_bytes": 0, "copy_rows": 0, "complete": None, "other": []}

    def on_message(mtype, length, head):
        if mtype == b"d":
            counts["copy_bytes"] += length
            counts["copy_rows"] += 1
        elif mtype == b"C":
            counts["complete"] = head.rstrip(b"\0").decode()
        elif mtype in (b"H", b"c", b"Z"):
            pass
        else:
            counts["other"].append((mtype, head))

    with RssSampler(px.pid) as rss:
        raw.send(query_message(
            f"COPY (SELECT repeat('x', {WIDTH}) FROM generate_series(1, {ROWS})) TO STDOUT"))
        slow_read_messages(raw, on_message)
    assert counts["other"] == [], counts["other"]
    assert counts["complete"] == f"COPY {ROWS}"
    assert counts["copy_rows"] == ROWS
    assert counts["copy_bytes"] == ROWS * (WIDTH + 1)
    assert len(rss.samples) > 10
    print(f"proxy VmRSS: baseline {baseline_kb} kB, peak {rss.max_kb} kB while streaming")
    assert rss.max_kb < RSS_LIMIT_KB, (f"proxy VmRSS peaked at {rss.max_kb} kB while streaming "
                                       f"(baseline {baseline_kb} kB, limit {RSS_LIMIT_KB} kB)")
    # The session is still in sync after the big result.
    assert raw.simple_query("SELECT 'done'") == [["done"]]
    raw.terminate()
    px.assert_alive()


def test_large_select_to_slow_reader_keeps_rss_bounded(proxy):
    """The same with DataRow messages from a plain SELECT (the simple query protocol)."""
    px = proxy(_env=small_asan_quarantine_env(), limits={"buffer_high_water": "1MB"})
    raw = raw_connect(px)
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    raw.sock.settimeout(60)
    rows = 270_000  # 270000 * (1000 + 11 bytes of DataRow framing) ~ 273 MB
    counts = {"rows": 0, "bytes": 0, "complete": None, "other": []}

    def on_message(mtype, length, head):
        if mtype == b"D":
            counts["rows"] += 1
            counts["bytes"] += length
        elif mtype == b"C":
            counts["complete"] = head.rstrip(b"\0").decode()
        elif mtype not in (b"T", b"Z"):
            counts["other"].append((mtype, head))

    with RssSampler(px.pid) as rss:
        raw.send(query_message(f"SELECT repeat('y', 1000) FROM generate_series(1, {rows})"))
        slow_read_messages(raw, on_message)
    assert counts["other"] == [], counts["other"]
    assert counts["complete"] == f"SELECT {rows}"
    assert counts["rows"] == rows
    assert counts["bytes"] == rows * (2 + 4 + 1000)
    assert rss.max_kb < RSS_LIMIT_KB, f"proxy VmRSS peaked at {rss.max_kb} kB"
    raw.terminate()
    px.assert_alive()


def test_upload_to_blocked_server_keeps_rss_bounded(pg, proxy):
    """The other direction: a client pushes a 256 MB COPY FROM STDIN while the server has stopped
    reading (its insert trigger waits for an advisory lock held elsewhere). The proxy must stop
    reading the client instead of queueing the upload; once the lock is released, all rows land."""
    import threading
    import uuid
    from ouro_testlib import message, wait_for

    table = f"upload_{uuid.uuid4().hex[:8]}"
    lock_key = 4242_0000 + int(uuid.uuid4().hex[:4], 16)
    pg.super_query(f"CREATE UNLOGGED TABLE {table} (v text)", dbname="ouro")
    pg.super_query(f"GRANT ALL ON {table} TO ouro", dbname="ouro")
    pg.super_query(f"""CREATE FUNCTION {table}_gate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_advisory_xact_lock_shared({lock_key}); RETURN NEW; END $$""",
                   dbname="ouro")
    pg.super_query(f"CREATE TRIGGER gate BEFORE INSERT ON {table} FOR EACH ROW "
                   f"EXECUTE FUNCTION {table}_gate()", dbname="ouro")
    holder = pg.connect_super("ouro")
    holder.execute("SELECT pg_advisory_lock(%s)", (lock_key,))
    px = proxy(_env=small_asan_quarantine_env(), limits={"buffer_high_water": "1MB"})
    raw = raw_connect(px)
    raw.sock.settimeout(120)
    row = b"u" * 1023 + b"\n"
    chunk = message(b"d", row * 64)  # 64 KiB of rows per CopyData
    total_chunks = 4096  # 256 MiB
    sent = {"chunks": 0, "error": None}

    def sender():
        try:
            for _ in range(total_chunks):
                raw.sock.sendall(chunk)
                sent["chunks"] += 1
            raw.sock.sendall(message(b"c"))
        except BaseException as e:  # reported below
            sent["error"] = e

    try:
        raw.send(query_message(f"COPY {table} FROM STDIN"))
        mtype, _ = raw.read_message()
        assert mtype == b"G", f"expected CopyInResponse, got {mtype!r}"
        with RssSampler(px.pid) as rss:
            t = threading.Thread(target=sender, daemon=True)
            t.start()
            # The server's first insert blocks on the lock ...
            wait_for(lambda: pg.super_query(
                "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND "
                "objid = %s", (lock_key % (1 << 32),)), 30, message="the COPY to block")
            # ... then the upload stalls at the client (back-pressure) or, without it, all of it
            # flows into the proxy.
            history = []

            def stalled_or_done():
                history.append(sent["chunks"])
                return sent["chunks"] >= total_chunks or (
                    len(history) >= 20 and history[-1] == history[-20])
            wait_for(stalled_or_done, 60, interval=0.05, message="the upload to stall or finish")
            blocked_at = sent["chunks"]
            peak_while_blocked = rss.max_kb
            print(f"upload stalled after {blocked_at * 64} KiB; proxy VmRSS {peak_while_blocked} kB")
            holder.execute("SELECT pg_advisory_unlock(%s)", (lock_key,))
            t.join(120)
            assert sent["error"] is None, sent["error"]
            assert not t.is_alive()
            rows = []
            while True:
                mtype, payload = raw.read_message()
                if mtype == b"C":
                    rows.append(payload.rstrip(b"\0").decode())
                elif mtype == b"E":
                    raise AssertionError(f"COPY failed: {payload!r}")
                elif mtype == b"Z":
                    break
        assert blocked_at < total_chunks, "the whole 256 MiB upload was accepted while the " \
            "server was not reading: no back-pressure towards the client"
        assert peak_while_blocked < RSS_LIMIT_KB, f"proxy VmRSS {peak_while_blocked} kB while blocked"
        print(f"proxy VmRSS peak {rss.max_kb} kB (limit {RSS_LIMIT_KB} kB)")
        assert rss.max_kb < RSS_LIMIT_KB, f"proxy VmRSS peaked at {rss.max_kb} kB"
        assert rows == [f"COPY {total_chunks * 64}"]
        assert raw.simple_query(f"SELECT count(*) FROM {table}") == [[str(total_chunks * 64)]]
        raw.terminate()
    finally:
        holder.close()
        pg.super_query(f"DROP TABLE {table}; DROP FUNCTION {table}_gate()", dbname="ouro")
    px.assert_alive()
