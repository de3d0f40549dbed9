"""Automatic retries of transient errors (config `retry:`): a real deadlock (40P01) and a real
serialization failure (40001) of autocommit statements are re-run by the proxy, so both clients
succeed, each write is committed exactly once, a `query_retry` record is logged and
ouroboros_retries_total counts the retry. Without retries, inside an explicit transaction, in a
multi-statement query or past 1 MiB of output the error reaches the client unchanged; a statement
failing every run is run retry.max_attempts times and the client sees only the last run."""
import psycopg
import pytest

from ouro_testlib import ServerError, message, parse_fields, query_message, raw_connect, wait_for
from pooling_helpers import Runner, connect, scratch_db  # noqa: F401
from test_observability_support import (json_records, metric_value, metrics_settings, scrape,
                                        wait_records)

GATE = 7_340_101  # advisory lock key the test holds while the two clients line up

# lock2(a, b) locks row a, waits at the gate (an advisory lock the test holds), then updates row
# b. Two calls lock2(1, 2) and lock2(2, 1) that both reach the gate deadlock once it opens,
# however slowly the machine runs. A re-run passes the open gate at once.
LOCK2 = f"""
CREATE FUNCTION lock2(a int, b int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM t WHERE id = a FOR UPDATE;
  PERFORM pg_advisory_xact_lock_shared({GATE});
  UPDATE t SET v = v + 1 WHERE id = b;
END $$"""

POOL = {"mode": "transaction", "size": 4}


@pytest.fixture
def deadlock_db(pg, scratch_db):
    """scratch_db with t(id, v) = (1, 0), (2, 0) and lock2(); deadlocks detected after 100ms."""
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)")
        conn.execute("INSERT INTO t VALUES (1, 0), (2, 0)")
        conn.execute(LOCK2)
    # deadlock_timeout is superuser-only; new sessions of the database pick it up.
    pg.super_query(f'ALTER DATABASE "{scratch_db}" SET deadlock_timeout = \'100ms\'')
    return scratch_db


def rows(pg, dbname):
    with psycopg.connect(pg.dsn(dbname=dbname), autocommit=True) as conn:
        return conn.execute("SELECT id, v FROM t ORDER BY id").fetchall()


def wait_blocked(pg, dbname, fragment, count=1):
    """Waits until `count` backends of dbname run a statement containing fragment and wait for a
    lock (the gate, or a row another transaction holds)."""
    sql = ("SELECT pid FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
           "AND wait_event_type = 'Lock' AND query LIKE %s AND pid <> pg_backend_pid()")

    def blocked():
        pids = pg.super_query(sql, (dbname, f"%{fragment}%"))
        return pids if len(pids) >= count else None
    return wait_for(blocked, 30, message=f"{count} backend(s) of {dbname} blocked in {fragment!r}")


class Gate:
    """The advisory lock GATE, held exclusively by a connection of the test until open()."""

    def __init__(self, pg, dbname):
        self.conn = psycopg.connect(pg.super_dsn(dbname), autocommit=True)
        self.conn.execute("SELECT pg_advisory_lock(%s)", (GATE,))

    def open(self):
        self.conn.execute("SELECT pg_advisory_unlock(%s)", (GATE,))

    def close(self):
        self.conn.close()


def run_deadlock(pg, dbname, first, second):
    """Runs first() (which must call lock2(1,2)) and second() (lock2(2,1)); once both hold their
    row and wait at the gate, opens it. Returns [(result or None, exception or None)] of both."""
    gate = Gate(pg, dbname)
    try:
        a = Runner(first, name="lock2(1,2)")
        a.start()
        wait_blocked(pg, dbname, "lock2(1, 2)")
        b = Runner(second, name="lock2(2,1)")
        b.start()
        wait_blocked(pg, dbname, "lock2(2, 1)")
        gate.open()
        outcomes = []
        for runner in (a, b):
            try:
                outcomes.append((runner.join_result(60), None))
            except (psycopg.Error, ServerError) as e:
                outcomes.append((None, e))
    finally:
        gate.close()
    return outcomes


def sqlstate_of(error):
    if error is None:
        return None
    return getattr(error, "sqlstate", None)


def test_deadlock_in_autocommit_is_retried(pg, proxy, deadlock_db):
    px = proxy(pool=POOL, logging={"format": "json"}, metrics=metrics_settings(),
               retry={"enabled": True, "max_attempts": 3})
    before = metric_value(scrape(px), "ouroboros_retries_total", reason="deadlock",
                          outcome="success")
    # One client on the extended protocol (psycopg), one on the simple protocol.
    ext = connect(px, deadlock_db, application_name="deadlock-ext")
    raw = raw_connect(px, dbname=deadlock_db, params={"application_name": "deadlock-simple"})
    try:
        outcomes = run_deadlock(
            pg, deadlock_db,
            lambda: ext.execute("SELECT lock2(1, 2)").fetchall(),
            lambda: raw.simple_query("SELECT lock2(2, 1)"))
    finally:
        ext.close()
        raw.terminate()
    assert [sqlstate_of(e) for _, e in outcomes] == [None, None], \
        f"both clients should succeed: {outcomes}\nproxy log:\n{px.log_tail()}"
    # Each lock2 updated its row once: the deadlock victim's first run was rolled back.
    assert rows(pg, deadlock_db) == [(1, 1), (2, 1)]

    retries = wait_records(px, "query_retry", where=lambda r: r.get("sqlstate") == "40P01")
    assert len(retries) == 1, retries
    record = retries[0]
    assert record["attempt"] == 1, record
    # Literal-free (the placeholder list may be folded, as SHOW QUERIES does).
    assert record["fingerprint"] in ("select lock2(?)", "select lock2(?, ?)"), record
    assert record["statement"] == "SELECT lock2(?, ?)", record  # literals redacted
    assert record["database"] == deadlock_db and record["user"] == "ouro", record
    assert record["application_name"] in ("deadlock-ext", "deadlock-simple"), record
    assert isinstance(record.get("retry_delay_ms"), int), record
    assert record["error"] == "deadlock detected" and "waits for" in record["detail"], record
    # The retried statement succeeded: it is not logged as failed.
    assert json_records(px, "query_failed") == [], json_records(px, "query_failed")

    after = wait_for(lambda: (v := metric_value(scrape(px), "ouroboros_retries_total",
                                                reason="deadlock", outcome="success")) > before
                     and v, 10, message="ouroboros_retries_total{deadlock,success} to increase")
    assert after == before + 1
    samples = scrape(px)
    assert metric_value(samples, "ouroboros_retries_total", reason="deadlock",
                        outcome="failure") == 0
    # The failed run still counts as an error of its pool (docs/observability.md).
    assert metric_value(samples, "ouroboros_errors_total", database=deadlock_db, user="ouro",
                        sqlstate_class="40") == 1


def test_deadlock_without_retries_reaches_the_client(pg, proxy, deadlock_db):
    px = proxy(pool=POOL, logging={"format": "json"}, retry={"enabled": False})
    c1, c2 = connect(px, deadlock_db), connect(px, deadlock_db)
    try:
        outcomes = run_deadlock(pg, deadlock_db,
                                lambda: c1.execute("SELECT lock2(1, 2)").fetchall(),
                                lambda: c2.execute("SELECT lock2(2, 1)").fetchall())
    finally:
        c1.close()
        c2.close()
    states = sorted(str(sqlstate_of(e)) for _, e in outcomes)
    assert states == ["40P01", "None"], f"{outcomes}\nproxy log:\n{px.log_tail()}"
    assert sum(v for _, v in rows(pg, deadlock_db)) == 1  # only the survivor's update
    assert json_records(px, "query_retry") == []
    failed = wait_records(px, "query_failed", where=lambda r: r.get("sqlstate") == "40P01")
    assert len(failed) == 1, failed


def test_deadlock_inside_a_transaction_is_not_retried(pg, proxy, deadlock_db):
    px = proxy(pool=POOL, logging={"format": "json"}, retry={"enabled": True})
    c1 = connect(px, deadlock_db, autocommit=False)
    c2 = connect(px, deadlock_db, autocommit=False)

    def tx(conn, sql):
        def run():
            try:
                conn.execute(sql).fetchall()  # psycopg sends BEGIN first
                conn.commit()
            except psycopg.Error:
                conn.rollback()
                raise
        return run
    try:
        outcomes = run_deadlock(pg, deadlock_db, tx(c1, "SELECT lock2(1, 2)"),
                                tx(c2, "SELECT lock2(2, 1)"))
    finally:
        c1.close()
        c2.close()
    states = sorted(str(sqlstate_of(e)) for _, e in outcomes)
    assert states == ["40P01", "None"], f"{outcomes}\nproxy log:\n{px.log_tail()}"
    assert sum(v for _, v in rows(pg, deadlock_db)) == 1
    assert json_records(px, "query_retry") == [], json_records(px, "query_retry")


def test_serialization_failure_in_autocommit_is_retried(pg, proxy, scratch_db):
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)")
        conn.execute("INSERT INTO t VALUES (1, 0)")
    px = proxy(pool=POOL, logging={"format": "json"}, metrics=metrics_settings(),
               retry={"enabled": True, "max_attempts": 3})
    before = metric_value(scrape(px), "ouroboros_retries_total",
                          reason="serialization_failure", outcome="success")
    options = "-c default_transaction_isolation=serializable"
    c1 = connect(px, scratch_db, options=options)
    c2 = connect(px, scratch_db, options=options)
    # Updates the row, then waits at the gate holding the row lock. The second update's snapshot
    # predates the first's commit: once the gate opens it fails with 40001; its re-run succeeds.
    sql = (f"WITH u AS (UPDATE t SET v = v + 1 WHERE id = 1 RETURNING v) "
           f"SELECT v, pg_advisory_xact_lock_shared({GATE}) FROM u")
    gate = Gate(pg, scratch_db)
    try:
        assert c1.execute("SHOW transaction_isolation").fetchone() == ("serializable",)
        first = Runner(lambda: c1.execute(sql).rowcount, name="first update")
        first.start()
        wait_blocked(pg, scratch_db, "UPDATE t SET v = v + 1")
        second = Runner(lambda: c2.execute(sql).rowcount, name="second update")
        second.start()
        wait_blocked(pg, scratch_db, "UPDATE t SET v = v + 1", count=2)
        gate.open()
        assert first.join_result(60) == 1
        assert second.join_result(60) == 1, px.log_tail()
    finally:
        gate.close()
        c1.close()
        c2.close()
    assert rows(pg, scratch_db) == [(1, 2)]
    retries = wait_records(px, "query_retry", where=lambda r: r.get("sqlstate") == "40001")
    assert len(retries) == 1, retries
    assert retries[0]["attempt"] == 1, retries
    assert retries[0]["fingerprint"] == (
        "with u as (update t set v = v + ? where id = ? returning v) "
        "select v, pg_advisory_xact_lock_shared(?) from u"), retries
    assert json_records(px, "query_failed") == []
    wait_for(lambda: metric_value(scrape(px), "ouroboros_retries_total",
                                  reason="serialization_failure", outcome="success") == before + 1,
             10, message="ouroboros_retries_total{serialization_failure,success} to increase")


def raw_run(raw, sql):
    """Sends one simple Query; returns (DataRow count, [ErrorResponse fields]) up to its
    ReadyForQuery."""
    raw.send(query_message(sql))
    data_rows, errors = 0, []
    while True:
        mtype, payload = raw.read_message()
        if mtype == b"D":
            data_rows += 1
        elif mtype == b"E":
            errors.append(parse_fields(payload))
        elif mtype == b"Z":
            return data_rows, errors


@pytest.fixture
def seq_db(pg, scratch_db):
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE SEQUENCE s")
    return scratch_db


def last_value(pg, dbname):
    with psycopg.connect(pg.dsn(dbname=dbname), autocommit=True) as conn:
        return conn.execute("SELECT last_value FROM s").fetchone()[0]


def test_retry_gives_up_after_max_attempts(pg, proxy, seq_db):
    """A statement failing every run with a configured SQLSTATE runs max_attempts times; the
    client sees one answer, the last run's (its rows and its error), never the earlier runs'."""
    px = proxy(pool=POOL, logging={"format": "json"}, metrics=metrics_settings(),
               retry={"enabled": True, "max_attempts": 3, "sqlstates": ["22012"],
                      "backoff": {"initial": "1ms", "max": "5ms"}},
               admin={"users": ["ouro"]})
    raw = raw_connect(px, dbname=seq_db)
    try:
        # Rows for x = 1, 2, then division by zero at x = 3 (each row draws a sequence value).
        rows_seen, errors = raw_run(raw, "SELECT nextval('s'), 1 / (3 - x) "
                                         "FROM generate_series(1, 5) x")
        assert [e.get("C") for e in errors] == ["22012"], errors
        assert rows_seen == 2, f"{rows_seen} rows: output of earlier runs reached the client"
        assert raw.simple_query("SELECT 'usable'") == [["usable"]]
    finally:
        raw.terminate()
    assert last_value(pg, seq_db) == 9  # 3 runs x 3 rows
    retries = wait_records(px, "query_retry", count=2)
    assert [r["attempt"] for r in retries] == [1, 2], retries
    assert all(r["sqlstate"] == "22012" for r in retries), retries
    failed = wait_records(px, "query_failed")
    assert len(failed) == 1 and failed[0]["sqlstate"] == "22012", failed
    assert "rows" not in failed[0], failed  # no CommandComplete: rows counts only tags
    samples = scrape(px)
    assert metric_value(samples, "ouroboros_retries_total", outcome="failure") == 1
    assert metric_value(samples, "ouroboros_retries_total", outcome="success") == 0
    assert metric_value(samples, "ouroboros_errors_total", database=seq_db, user="ouro",
                        sqlstate_class="22") == 3  # every run
    # SHOW QUERIES counts the request once.
    admin = raw_connect(px, dbname="ouroboros")
    try:
        queries = {row[0]: row for row in admin.simple_query("SHOW QUERIES")}
    finally:
        admin.terminate()
    row = [r for f, r in queries.items() if "generate_series" in f]
    assert len(row) == 1 and row[0][1:3] == ["1", "1"], queries  # calls, errors


def test_multi_statement_query_is_not_retried(pg, proxy, seq_db):
    px = proxy(pool=POOL, logging={"format": "json"},
               retry={"enabled": True, "max_attempts": 3, "sqlstates": ["22012"]})
    raw = raw_connect(px, dbname=seq_db)
    try:
        rows_seen, errors = raw_run(raw, "SELECT nextval('s'); SELECT 1 / 0")
        assert rows_seen == 1 and [e.get("C") for e in errors] == ["22012"], (rows_seen, errors)
        # A single statement with the same error is retried (the configuration does apply).
        rows_seen, errors = raw_run(raw, "SELECT nextval('s') / 0")
        assert [e.get("C") for e in errors] == ["22012"], errors
    finally:
        raw.terminate()
    assert last_value(pg, seq_db) == 1 + 3
    retries = wait_records(px, "query_retry", count=2)
    assert all(r["statement"] == "SELECT nextval(?) / ?" for r in retries), retries


def test_request_with_more_than_1mib_of_output_is_not_retried(pg, proxy, seq_db):
    """Output beyond 1 MiB goes to the client before the request ends, so that run is final."""
    px = proxy(pool=POOL, logging={"format": "json"},
               retry={"enabled": True, "max_attempts": 3, "sqlstates": ["22012"]})
    raw = raw_connect(px, dbname=seq_db)
    try:
        # ~2 MB of rows, then division by zero on the last one.
        rows_seen, errors = raw_run(raw, "SELECT repeat('x', 1000), nextval('s'), 1 / (2000 - x) "
                                         "FROM generate_series(1, 2000) x")
        assert [e.get("C") for e in errors] == ["22012"], errors
        assert rows_seen == 1999
        assert raw.simple_query("SELECT 'usable'") == [["usable"]]
    finally:
        raw.terminate()
    assert last_value(pg, seq_db) == 2000  # one run
    wait_records(px, "query_failed")
    assert json_records(px, "query_retry") == []


# ---------------------------------------------------------------------------------------------
# Once documented as known problems of retries (docs/observability.md); each case is now tested.
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["transaction", "session"])
def test_autocommit_copy_from_stdin_with_retries_on(pg, proxy, scratch_db, mode):
    """A lone autocommit `COPY ... FROM STDIN` qualifies as a retryable request; the proxy must
    still pass the server's CopyInResponse on at once (it once held it back and client and
    server waited for each other)."""
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE c (id int, v text)")
    px = proxy(pool={"mode": mode, "size": 2}, retry={"enabled": True, "max_attempts": 3})
    raw = raw_connect(px, dbname=scratch_db)
    raw.sock.settimeout(60)
    try:
        raw.send(query_message("COPY c FROM STDIN"))
        mtype, _ = raw.read_message()
        assert mtype == b"G", f"expected CopyInResponse, got {mtype!r}"
        data = b"".join(b"%d\trow %d\n" % (i, i) for i in range(1, 1001))
        raw.send(message(b"d", data) + message(b"c"))
        answers = []
        while True:
            mtype, payload = raw.read_message()
            answers.append((mtype, payload.rstrip(b"\0")))
            if mtype == b"Z":
                break
        assert answers == [(b"C", b"COPY 1000"), (b"Z", b"I")], answers
        assert raw.simple_query("SELECT count(*), max(id) FROM c") == [["1000", "1000"]]
    finally:
        raw.terminate()
    px.assert_alive()


def test_psql_copy_of_100000_rows_in_transaction_mode_with_retries_on(pg, proxy, scratch_db,
                                                                       tmp_path):
    """What a new user tries: psql's \\copy of 100,000 rows through transaction mode, retries
    on (the default)."""
    import os
    import subprocess
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE big (id int PRIMARY KEY, v text)")
    px = proxy(pool={"mode": "transaction", "size": 2}, retry={"enabled": True})
    source = tmp_path / "rows.tsv"
    source.write_text("".join(f"{i}\tvalue {i}\n" for i in range(1, 100_001)))
    env = dict(os.environ, PGPASSWORD=pg.password, PGCONNECT_TIMEOUT="10")
    cmd = [pg.bin("psql"), "-X", "-v", "ON_ERROR_STOP=1", "-h", px.host, "-p", str(px.port),
           "-U", pg.user, "-d", scratch_db, "-c", f"\\copy big FROM '{source}'"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}\nproxy log:\n{px.log_tail()}"
    assert proc.stdout.strip() == "COPY 100000", proc.stdout
    assert rows_of(pg, scratch_db, "SELECT count(*), sum(id) FROM big") == [(100_000, 5_000_050_000)]
    px.assert_alive()


def rows_of(pg, dbname, sql):
    with psycopg.connect(pg.dsn(dbname=dbname), autocommit=True) as conn:
        return conn.execute(sql).fetchall()


def test_pipelined_request_during_retry_backoff_gets_both_answers(pg, proxy, seq_db):
    """A client pipelines its next request while the proxy waits out the backoff before a re-run.
    It must receive both answers, in order: the first request's (after its re-runs) and then the
    second's (the first answer was once lost). The query_retry record is logged when the backoff
    starts; the second request is sent after it, and the backoff (2s) leaves it time to arrive."""
    px = proxy(pool=POOL, logging={"format": "json"},
               retry={"enabled": True, "max_attempts": 3, "sqlstates": ["22012"],
                      "backoff": {"initial": "2s", "max": "2s", "jitter": 0}})
    raw = raw_connect(px, dbname=seq_db)
    raw.sock.settimeout(60)
    try:
        # Fails on its first run (nextval = 1), succeeds on the re-run.
        raw.send(query_message("SELECT 42 / (nextval('s')::int - 1)"))
        wait_records(px, "query_retry", count=1, deadline=30)
        raw.send(query_message("SELECT 'second'"))
        first = raw_answer(raw)
        second = raw_answer(raw)
        assert first == ([["42"]], []), first
        assert second == ([["second"]], []), second

        # The same when every run fails: the client gets the last run's error, then the next
        # request's answer.
        raw.send(query_message("SELECT 1 / 0"))
        wait_records(px, "query_retry", count=2, deadline=30)
        raw.send(query_message("SELECT 'third'"))
        first = raw_answer(raw)
        second = raw_answer(raw)
        assert first[0] == [] and [e.get("C") for e in first[1]] == ["22012"], first
        assert second == ([["third"]], []), second
        assert raw.simple_query("SELECT 'usable'") == [["usable"]]
    finally:
        raw.terminate()
    px.assert_alive()


def raw_answer(raw):
    """(rows, [ErrorResponse fields]) of the next answer, up to its ReadyForQuery."""
    import struct
    rows, errors = [], []
    while True:
        mtype, payload = raw.read_message()
        if mtype == b"D":
            (n,) = struct.unpack("!H", payload[:2])
            pos, row = 2, []
            for _ in range(n):
                (ln,) = struct.unpack("!i", payload[pos:pos + 4])
                pos += 4
                row.append(None if ln < 0 else payload[pos:pos + ln].decode())
                pos += max(ln, 0)
            rows.append(row)
        elif mtype == b"E":
            errors.append(parse_fields(payload))
        elif mtype == b"Z":
            return rows, errors
