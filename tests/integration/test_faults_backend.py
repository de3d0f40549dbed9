"""Fault injection (ctest label `faults`): a server connection's backend terminated
(pg_terminate_backend) mid-query, mid-COPY in both directions and mid-pipeline. Runs on the shared
cluster, in a scratch database of its own (only its own backends are terminated). Each case: no
crash, a clean error for the client, nothing the client was not told succeeded is in the table
twice or at all when it cannot have run, the pool serves again, RSS and descriptors back to the
baseline."""
import re
import select
import time

import pytest

from fault_helpers import (Baseline, Ledger, assert_serves, check_ledger, clean_failure,
                           create_ledger_table, extended_insert, extended_query, read_sync_groups)
from ouro_testlib import (ConnectionClosed, ServerError, message, parse_fields, query_message,
                          raw_connect, small_asan_quarantine_env, wait_for)
from pooling_helpers import connect, scratch_db, server_backends, wait_running  # noqa: F401

SIZE = 4
ROUNDS = 3  # each case runs this often after the baseline, so a leak per fault adds up


def fault_proxy(proxy, mode):
    return proxy(_env=small_asan_quarantine_env(), pool={"mode": mode, "size": SIZE})


def terminate(pg, pid):
    assert pg.super_query("SELECT pg_terminate_backend(%s)", (pid,)) == [(True,)]


def no_busy_backends(pg, db):
    """Every remaining backend of db is idle (none running, none inside a transaction)."""
    return all(state == "idle" for _, state, _ in server_backends(pg, db))


def settled(pg, px, db, baseline, what):
    wait_for(lambda: no_busy_backends(pg, db), 30, message=f"{db}'s backends to be idle")
    assert_serves(px, db)
    baseline.assert_back(what)


def read_reply(raw, deadline_s=30.0):
    """Reads one request's replies until ReadyForQuery or the close: (errors, ready, copy data
    messages). Clients here are raw sockets: libpq hides the SQLSTATE of an error that comes with
    the close, and keeps writing COPY data into a closed connection."""
    errors, copy_rows = [], 0
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        raw.sock.settimeout(max(0.1, end - time.monotonic()))
        try:
            mtype, payload = raw.read_message()
        except (ConnectionClosed, ConnectionResetError):
            return errors, False, copy_rows
        if mtype == b"E":
            errors.append(parse_fields(payload))
        elif mtype == b"d":
            copy_rows += 1
        elif mtype == b"Z":
            return errors, True, copy_rows
    raise AssertionError(f"no ReadyForQuery and no close within {deadline_s}s")


def assert_clean_loss(errors, ready, mode, raw):
    """The client was told with an ErrorResponse carrying a connection-failure SQLSTATE; in
    transaction mode its session goes on (ReadyForQuery, then another statement works), in
    session mode the proxy closes it."""
    assert errors and all(clean_failure(e.get("C")) for e in errors), errors
    assert ready == (mode == "transaction"), (mode, ready, errors)
    if ready:
        assert raw.simple_query("SELECT 1") == [["1"]]


def sleep_terminated(pg, px, db, mode):
    raw = raw_connect(px, dbname=db)
    raw.send(query_message("SELECT pg_sleep(60)"))
    (pid,) = wait_running(pg, db, "pg_sleep")
    terminate(pg, pid)
    errors, ready, _ = read_reply(raw)
    assert_clean_loss(errors, ready, mode, raw)
    raw.close()


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_backend_terminated_mid_query(pg, proxy, scratch_db, mode):
    px = fault_proxy(proxy, mode)
    sleep_terminated(pg, px, scratch_db, mode)
    wait_for(lambda: no_busy_backends(pg, scratch_db), 30, message="idle backends")
    baseline = Baseline(px, pg.port, SIZE)
    for _ in range(ROUNDS):
        sleep_terminated(pg, px, scratch_db, mode)
    settled(pg, px, scratch_db, baseline, f"terminated mid-query ({mode})")


def copy_in_terminated(pg, px, db, mode):
    """A COPY FROM STDIN whose backend is terminated half-way while the client keeps sending."""
    raw = raw_connect(px, dbname=db)
    raw.send(query_message("COPY copied FROM STDIN"))
    mtype, _ = raw.read_message()
    assert mtype == b"G", mtype
    chunk = b"".join(message(b"d", f"{i}\t{'x' * 100}\n".encode()) for i in range(500))
    raw.send(chunk)
    (pid,) = wait_running(pg, db, "COPY copied FROM STDIN")
    terminate(pg, pid)
    # Like a client that has not looked at its input yet: more data until the answer is there.
    for _ in range(400):
        if select.select([raw.sock], [], [], 0.05)[0]:
            break
        try:
            raw.send(chunk)
        except OSError:
            break
    errors, ready, _ = read_reply(raw)
    assert_clean_loss(errors, ready, mode, raw)
    raw.close()


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_backend_terminated_mid_copy_in(pg, proxy, scratch_db, mode):
    px = fault_proxy(proxy, mode)
    with connect(px, scratch_db) as conn:
        conn.execute("CREATE TABLE copied (i bigint, t text)")
    copy_in_terminated(pg, px, scratch_db, mode)
    wait_for(lambda: no_busy_backends(pg, scratch_db), 30, message="idle backends")
    baseline = Baseline(px, pg.port, SIZE)
    for _ in range(ROUNDS):
        copy_in_terminated(pg, px, scratch_db, mode)
    settled(pg, px, scratch_db, baseline, f"terminated mid-COPY FROM STDIN ({mode})")
    # No COPY was acknowledged: none may have committed a row.
    assert pg.super_query("SELECT count(*) FROM copied", dbname=scratch_db) == [(0,)]


COPY_ROW = re.compile(rb"\d+\ty{500}\n")


def copy_out_terminated(pg, px, db, mode):
    """A large COPY TO STDOUT whose backend is terminated while the client reads it. Where
    PostgreSQL's stream stops depends on its socket buffer: at a message boundary the client must
    get a clean error; inside a row (the common case) the proxy cannot finish that row, and must
    close the connection without adding a byte: whatever it added would be read as row data."""
    raw = raw_connect(px, dbname=db)
    raw.send(query_message(
        "COPY (SELECT generate_series(1, 50000000), repeat('y', 500)) TO STDOUT"))
    mtype, _ = raw.read_message()
    assert mtype == b"H", mtype  # CopyOutResponse
    for _ in range(200):
        mtype, _ = raw.read_message()
        assert mtype == b"d", mtype
    (pid,) = wait_running(pg, db, "generate_series(1, 50000000)")
    terminate(pg, pid)
    errors, ready = [], False
    raw.sock.settimeout(30)
    while not ready:
        try:
            mtype, payload = raw.read_message()
        except (ConnectionClosed, ConnectionResetError):
            break
        if mtype == b"d":
            assert COPY_ROW.fullmatch(payload), f"a row PostgreSQL did not send: {payload[-120:]!r}"
        elif mtype == b"E":
            errors.append(parse_fields(payload))
        else:
            assert mtype == b"Z", (mtype, payload[:100])
            ready = True
    if raw.buf:
        # Cut inside a row: what arrived of it is PostgreSQL's own bytes, then the close.
        assert not errors and not ready, (errors, ready)
        head = bytes(raw.buf)
        assert head[:1] == b"d" and len(head) < 5 + 507, head[:80]
        assert re.fullmatch(rb"\d*\t?y*", head[5:]), f"bytes PostgreSQL did not send: {head[-80:]!r}"
    else:
        assert_clean_loss(errors, ready, mode, raw)
    raw.close()


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_backend_terminated_mid_copy_out(pg, proxy, scratch_db, mode):
    px = fault_proxy(proxy, mode)
    copy_out_terminated(pg, px, scratch_db, mode)
    wait_for(lambda: no_busy_backends(pg, scratch_db), 30, message="idle backends")
    baseline = Baseline(px, pg.port, SIZE)
    for _ in range(ROUNDS):
        copy_out_terminated(pg, px, scratch_db, mode)
    settled(pg, px, scratch_db, baseline, f"terminated mid-COPY TO STDOUT ({mode})")


BEFORE, AFTER = 40, 40


def pipeline_terminated(pg, px, db, ledger, first_id):
    """A pipeline of BEFORE INSERTs, a pg_sleep and AFTER more INSERTs, each its own Sync, sent
    at once; the backend is terminated during the sleep. Records what the client was told."""
    raw = raw_connect(px, dbname=db)
    ids = [first_id + n for n in range(BEFORE + AFTER)]
    batch = b"".join(extended_insert("ledger", i) for i in ids[:BEFORE])
    batch += extended_query("SELECT pg_sleep(60)")
    batch += b"".join(extended_insert("ledger", i) for i in ids[BEFORE:])
    raw.send(batch)
    (pid,) = wait_running(pg, db, "pg_sleep")
    terminate(pg, pid)
    answered, last_error = read_sync_groups(raw, BEFORE + 1 + AFTER)
    raw.close()
    groups = [None] * (BEFORE + 1 + AFTER)
    groups[:len(answered)] = answered
    for n, i in enumerate(ids):
        group = groups[n if n < BEFORE else n + 1]
        if group is not None and group[0] and group[1] is None:
            ledger.ack(i)
        else:
            ledger.fail(i, ServerError((group or (None, None))[1] or last_error or {}))
    # Everything before the sleep was acknowledged; the sleep's own reply is a clean error.
    assert all(g is not None and g[0] and g[1] is None for g in groups[:BEFORE]), groups[:BEFORE]
    sleep_error = (groups[BEFORE] or (None, None))[1] or last_error
    assert sleep_error is not None and clean_failure(sleep_error.get("C")), (groups[BEFORE], last_error)
    return ids[BEFORE:]


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_backend_terminated_mid_pipeline(pg, proxy, scratch_db, mode):
    px = fault_proxy(proxy, mode)
    with connect(px, scratch_db) as conn:
        create_ledger_table(conn, "ledger")
    ledger = Ledger()
    pipeline_terminated(pg, px, scratch_db, ledger, 0)
    wait_for(lambda: no_busy_backends(pg, scratch_db), 30, message="idle backends")
    baseline = Baseline(px, pg.port, SIZE)
    after_sleep = []
    for r in range(ROUNDS):
        after_sleep += pipeline_terminated(pg, px, scratch_db, ledger, (r + 1) * 1000)
    settled(pg, px, scratch_db, baseline, f"terminated mid-pipeline ({mode})")
    with connect(px, scratch_db) as conn:
        check_ledger(conn, "ledger", ledger)
        # What was queued behind the terminated statement never ran, unless the client was told.
        ran = {r[0] for r in conn.execute("SELECT id FROM ledger").fetchall()}
    assert not (ran & set(after_sleep)) - set(ledger.acked)
