"""Prepared statements in transaction mode, case by case (docs/prepared-statements.md): the
per-server limit and its evictions, clients using the same name for different queries, plans
invalidated by DDL, SQL-level PREPARE, and DEALLOCATE / DEALLOCATE ALL / DISCARD ALL.

Uses psycopg's libpq-level API (pgconn.prepare / exec_prepared / describe_prepared / exec_) so
the test decides every statement name and every message the client sends."""
import re
import struct

import psycopg
import pytest
from psycopg import pq

from ouro_testlib import RawConn, free_port, message, parse_fields, query_message
from test_observability_support import unlabelled_metrics
from pooling_helpers import Runner, scratch_db  # noqa: F401

SQLSTATE = pq.DiagnosticField.SQLSTATE
MESSAGE = pq.DiagnosticField.MESSAGE_PRIMARY


def tx_pool(size, **extra):
    return {"mode": "transaction", "size": size, "query_wait_timeout": "60s", **extra}


def metrics_config():
    # A port of our choosing: port 0 means "no metrics listener" in the configuration.
    return {"host": "127.0.0.1", "port": free_port()}


def connect(px, dbname):
    # prepare_threshold=None: psycopg itself prepares nothing; the tests name every statement.
    return psycopg.connect(px.dsn(dbname=dbname), autocommit=True, prepare_threshold=None)


class Low:
    """libpq-level calls on a psycopg connection, raising on errors with the SQLSTATE."""

    def __init__(self, conn):
        self.conn = conn
        self.pgconn = conn.pgconn

    @staticmethod
    def _check(res, what):
        if res.status == pq.ExecStatus.FATAL_ERROR:
            raise PgError(res.error_field(SQLSTATE), res.error_field(MESSAGE), what)
        return res

    def prepare(self, name, sql):
        return self._check(self.pgconn.prepare(name.encode(), sql.encode()), f"prepare {name}")

    def run(self, name, *params):
        """Rows (tuples of str/None) of the statement `name`."""
        res = self._check(self.pgconn.exec_prepared(name.encode(), [str(p).encode() for p in params]),
                          f"execute {name}")
        return [tuple(None if res.get_value(r, c) is None else res.get_value(r, c).decode()
                      for c in range(res.nfields)) for r in range(res.ntuples)]

    def columns(self, name):
        res = self._check(self.pgconn.describe_prepared(name.encode()), f"describe {name}")
        return [res.fname(c).decode() for c in range(res.nfields)]

    def simple(self, sql):
        """(command status, rows) of a simple-protocol query."""
        res = self._check(self.pgconn.exec_(sql.encode()), sql)
        rows = [tuple(None if res.get_value(r, c) is None else res.get_value(r, c).decode()
                      for c in range(res.nfields)) for r in range(res.ntuples)]
        return res.command_status.decode(), rows

    def status(self):
        return self.pgconn.transaction_status


class PgError(Exception):
    def __init__(self, sqlstate, message, what):
        self.sqlstate = sqlstate.decode() if sqlstate else None
        self.message = message.decode() if message else None
        super().__init__(f"{what}: {self.sqlstate} {self.message}")


def pg_error(fn, *args):
    with pytest.raises(PgError) as info:
        fn(*args)
    return info.value


# ---------------------------------------------------------------------------------------------
# The per-server limit
# ---------------------------------------------------------------------------------------------

def test_more_statements_than_max_prepared_statements(pg, proxy, scratch_db):
    """10 statements in rotation, 3 per server: the proxy closes the least recently used ones and
    prepares them again when needed; every query keeps succeeding."""
    px = proxy(pool=tx_pool(2, max_prepared_statements=3), metrics=metrics_config())
    statements = [(f"s{k}", f"SELECT $1::int * {k} AS v, {k} AS k") for k in range(10)]

    def client(n):
        with connect(px, scratch_db) as conn:
            low = Low(conn)
            for name, sql in statements:
                low.prepare(name, sql)
            for r in range(5):
                for k, (name, _) in enumerate(statements):
                    assert low.run(name, n + r) == [(str((n + r) * k), str(k))]
                # A server never holds more than the limit.
                count = int(low.simple("SELECT count(*) FROM pg_prepared_statements")[1][0][0])
                assert count <= 3, f"a server holds {count} prepared statements, limit 3"
        return True

    runners = [Runner(lambda n=n: client(n), name=f"client-{n}") for n in range(4)]
    for r in runners:
        r.start()
    assert [r.join_result(90) for r in runners] == [True] * 4
    counts = unlabelled_metrics(px)
    assert counts["ouroboros_prepared_statements_evictions_total"] > 0, counts
    assert counts["ouroboros_prepared_statements_client_parses_total"] == 40, counts
    px.assert_alive()


# ---------------------------------------------------------------------------------------------
# Statement names are per client
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("pool_size", [1, 2])
def test_same_name_different_queries_in_several_clients(pg, proxy, scratch_db, pool_size):
    px = proxy(pool=tx_pool(pool_size))
    conns = [connect(px, scratch_db) for _ in range(3)]
    try:
        lows = [Low(c) for c in conns]
        for n, low in enumerate(lows):
            low.prepare("stmt", f"SELECT 'client{n}'::text AS who_{n}, $1::int + {n} AS v")
        for r in range(15):
            for n, low in enumerate(lows):
                assert low.run("stmt", r) == [(f"client{n}", str(r + n))]
                if r % 5 == 0:
                    assert low.columns("stmt") == [f"who_{n}", "v"]
        # One client drops its "stmt" (as psycopg does): the others keep theirs.
        assert lows[1].simple("DEALLOCATE stmt") == ("DEALLOCATE", [])
        assert pg_error(lows[1].run, "stmt", 1).sqlstate == "26000"
        for r in range(3):
            assert lows[0].run("stmt", r) == [("client0", str(r))]
            assert lows[2].run("stmt", r) == [("client2", str(r + 2))]
        # It may prepare the name again, with another text.
        lows[1].prepare("stmt", "SELECT 'again'::text, $1::int")
        assert lows[1].run("stmt", 7) == [("again", "7")]
        assert lows[0].run("stmt", 7) == [("client0", "7")]
    finally:
        for c in conns:
            c.close()
    px.assert_alive()


def raw_parse(name, sql):
    return message(b"P", name.encode() + b"\0" + sql.encode() + b"\0" + b"\0\0")


def raw_bind(name, portal=""):
    # no parameters, one text result column format
    return message(b"B", portal.encode() + b"\0" + name.encode() + b"\0" + b"\0\0" + b"\0\0" + b"\0\x01\0\0")


def raw_execute(portal=""):
    return message(b"E", portal.encode() + b"\0" + b"\0\0\0\0")


def raw_close(name):
    return message(b"C", b"S" + name.encode() + b"\0")


def raw_describe(name):
    return message(b"D", b"S" + name.encode() + b"\0")


SYNC, FLUSH = message(b"S"), message(b"H")


def replies(raw, until=b"Z"):
    """(types, [DataRow first values], [error SQLSTATEs]) of the messages up to `until`."""
    types, values, errors = [], [], []
    while True:
        t, payload = raw.read_message()
        if t in (b"N", b"S"):
            continue
        types.append(t.decode())
        if t == b"D":
            (ln,) = struct.unpack("!i", payload[2:6])
            values.append(payload[6:6 + ln].decode())
        if t == b"E":
            errors.append(parse_fields(payload).get("C"))
        if t == until:
            return " ".join(types), values, errors


def raw_script(a, b):
    """Two clients using the name "s" for different queries, pipelines with Close, Describe, an
    error in the middle and Flush; returns every reply summary in order."""
    out = []
    a.send(raw_parse("s", "SELECT 'from a'") + raw_bind("s") + raw_execute() + SYNC)
    out.append(replies(a))
    b.send(raw_parse("s", "SELECT 'from b'") + raw_bind("s") + raw_execute() + SYNC)
    out.append(replies(b))
    for _ in range(3):
        a.send(raw_bind("s") + raw_execute() + SYNC)
        out.append(replies(a))
        b.send(raw_describe("s") + raw_bind("s") + raw_execute() + SYNC)
        out.append(replies(b))
    # An error mid-pipeline: everything up to the Sync is skipped, the next pipeline runs.
    a.send(raw_parse("z", "SELECT 1/0") + raw_bind("s") + raw_execute() + raw_bind("z") + raw_execute()
           + raw_parse("y", "SELECT 'y'") + raw_bind("s") + raw_execute() + SYNC + raw_bind("s") + raw_execute()
           + SYNC)
    out.append(replies(a))
    out.append(replies(a))
    # Close: a's name goes, b's stays.
    a.send(raw_close("s") + SYNC)
    out.append(replies(a))
    a.send(raw_bind("s") + raw_execute() + SYNC)
    out.append(replies(a))
    b.send(raw_bind("s") + raw_execute() + SYNC)
    out.append(replies(b))
    # Flush instead of Sync (asyncpg's way), then the Sync.
    b.send(raw_parse("f", "SELECT 'flushed'") + raw_describe("f") + FLUSH)
    out.append(replies(b, until=b"T"))
    b.send(raw_bind("f") + raw_execute() + FLUSH)
    out.append(replies(b, until=b"C"))
    b.send(SYNC)
    out.append(replies(b))
    # An error with only a Flush after it, more messages, then the Sync.
    b.send(raw_bind("nosuch") + raw_execute() + FLUSH)
    out.append(replies(b, until=b"E"))
    b.send(raw_bind("f") + raw_execute() + FLUSH + SYNC + raw_bind("f") + raw_execute() + SYNC)
    out.append(replies(b))
    out.append(replies(b))
    return out


def test_raw_pipelines_same_name_and_close(pg, proxy, scratch_db):
    """Two raw-protocol clients on one server: each gets exactly the replies PostgreSQL sends
    two direct sessions for the same messages."""
    px = proxy(pool=tx_pool(1))
    conns = []
    try:
        for host, port in ((pg.host, pg.port), (px.host, px.port)):
            conns.append(RawConn(host, port).startup(pg.user, pg.password, scratch_db))
            conns.append(RawConn(host, port).startup(pg.user, pg.password, scratch_db))
        want = raw_script(conns[0], conns[1])
        got = raw_script(conns[2], conns[3])
        assert got == want
        assert want[0] == ("1 2 D C Z", ["from a"], [])
        assert want[-1] == ("2 D C Z", ["flushed"], [])
    finally:
        for c in conns:
            c.terminate()
    px.assert_alive()


def same_as_postgres(pg, px, dbname, steps, clients=1, before_step=None, timeout=30.0):
    """Runs `steps` [(client index, bytes, message type that ends the reply)] on direct PostgreSQL
    sessions and on clients of the proxy, returns (PostgreSQL's replies, the proxy's). A reply the
    proxy never completes shows as ("timeout", ...). before_step(i) runs before step i (DDL)."""
    results = []
    for host, port in ((pg.host, pg.port), (px.host, px.port)):
        conns = [RawConn(host, port, timeout=timeout).startup(pg.user, pg.password, dbname)
                 for _ in range(clients)]
        got = []
        try:
            for i, (n, data, until) in enumerate(steps):
                if before_step:
                    before_step(i)
                conns[n].send(data)
                try:
                    got.append(replies(conns[n], until))
                except OSError as e:  # socket.timeout
                    got.append(("timeout", str(e)))
                    break
        finally:
            # No reply the client did not ask for: the next thing each client receives is the
            # answer to a marker query (anything unsolicited would come before it).
            timed_out = bool(got) and got[-1][0] == "timeout"
            for n, c in enumerate(conns):
                if timed_out:
                    break
                try:
                    c.send(query_message("SELECT 'marker'"))
                    after = replies(c)
                except OSError as e:
                    after = ("timeout", str(e))
                if after != ("T D C Z", ["marker"], []):
                    got.append(("unsolicited", n, after))
            for c in conns:
                c.close()
        results.append(got)
    return results


def test_sql_deallocate_answered_once(pg, proxy, scratch_db):
    """DEALLOCATE of a protocol-level statement is answered by the proxy, once: the client gets
    exactly PostgreSQL's replies and nothing after them."""
    px = proxy(pool=tx_pool(1))
    steps = [
        (0, raw_parse("s", "SELECT 's'") + SYNC, b"Z"),
        (0, query_message("DEALLOCATE s"), b"Z"),
        (0, query_message("SELECT 1"), b"Z"),
        (0, raw_bind("s") + raw_execute() + SYNC, b"Z"),
        (0, raw_parse("s", "SELECT 'again'") + raw_bind("s") + raw_execute() + SYNC, b"Z"),
    ]
    want, got = same_as_postgres(pg, px, scratch_db, steps)
    assert want == [("1 Z", [], []), ("C Z", [], []), ("T D C Z", ["1"], []), ("E Z", [], ["26000"]),
                    ("1 2 D C Z", ["again"], [])]
    assert got == want
    px.assert_alive()


def test_stale_plan_retry_keeps_the_described_row_shape(pg, proxy, scratch_db):
    """A client that described its statement once (asyncpg, pgjdbc, pgx do) and then only sends
    Bind/Execute/Sync decodes rows by that description. After ALTER TABLE ADD COLUMN, PostgreSQL
    answers 0A000; a proxy that re-prepares and re-runs the statement instead must not hand the
    client rows of another shape than it was told."""
    px = proxy(pool=tx_pool(1))
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as direct:
        direct.execute("CREATE TABLE t (a int)")
        direct.execute("INSERT INTO t VALUES (1)")
        raw = RawConn(px.host, px.port, timeout=30).startup(pg.user, pg.password, scratch_db)
        try:
            raw.send(raw_parse("s", "SELECT * FROM t") + raw_describe("s") + SYNC)
            described = None
            while True:
                t, payload = raw.read_message()
                if t == b"T":
                    described = struct.unpack("!H", payload[:2])[0]
                if t == b"Z":
                    break
            assert described == 1
            direct.execute("ALTER TABLE t ADD COLUMN b int DEFAULT 7")
            raw.send(raw_bind("s") + raw_execute() + SYNC)
            seen = []
            while True:
                t, payload = raw.read_message()
                if t == b"D":
                    seen.append(("D", struct.unpack("!H", payload[:2])[0]))
                elif t == b"E":
                    seen.append(("E", parse_fields(payload).get("C")))
                elif t == b"Z":
                    break
        finally:
            raw.terminate()
    # No Describe in the batch: the proxy does not re-run it (docs/prepared-statements.md), the
    # client gets PostgreSQL's error instead of rows of a shape it was not told.
    assert seen == [("E", "0A000")], f"statement described with {described} column(s), then got {seen}"
    px.assert_alive()


def test_eviction_close_skipped_after_an_error(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1, max_prepared_statements=2))
    steps = [
        (0, raw_parse("a", "SELECT 'a'") + raw_parse("bad", "SELECT 1/0") + SYNC, b"Z"),
        # bad fails at Bind; the proxy has already queued Close(a's server statement) and the
        # Parse of c behind it: the server skips both.
        (0, raw_bind("bad") + raw_execute() + raw_parse("c", "SELECT 'c'") + SYNC, b"Z"),
        (0, raw_bind("a") + raw_execute() + SYNC, b"Z"),
    ]
    want, got = same_as_postgres(pg, px, scratch_db, steps)
    assert want[-1] == ("2 D C Z", ["a"], [])
    assert got == want  # seen: ('E Z', [], ['42P05']) prepared statement "_ouroboros_1" already exists
    px.assert_alive()


def test_stale_plan_after_bind_and_flush_then_sync(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1))
    direct = psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True)
    direct.execute("CREATE TABLE t (a int)")
    steps = [
        (0, raw_parse("s", "SELECT * FROM t") + raw_bind("s") + raw_execute() + SYNC, b"Z"),
        (0, raw_bind("s") + raw_execute() + FLUSH, b"E"),
        (0, SYNC, b"Z"),
    ]

    def ddl(i):
        if i == 1:
            direct.execute("ALTER TABLE t ADD COLUMN IF NOT EXISTS b int")
        if i == 0:
            direct.execute("ALTER TABLE t DROP COLUMN IF EXISTS b")

    try:
        want, got = same_as_postgres(pg, px, scratch_db, steps, before_step=ddl)
    finally:
        direct.close()
    assert want[1] == ("E", [], ["0A000"])
    assert want[2] == ("Z", [], [])
    assert got == want  # seen: no ReadyForQuery for the Sync (timeout)


def test_close_skipped_after_an_error(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1))
    steps = [
        (0, raw_parse("s", "SELECT 's'") + raw_parse("bad", "SELECT 1/0") + SYNC, b"Z"),
        (0, raw_bind("bad") + raw_execute() + raw_close("s") + SYNC, b"Z"),
        (0, raw_bind("s") + raw_execute() + SYNC, b"Z"),
    ]
    want, got = same_as_postgres(pg, px, scratch_db, steps)
    assert want[-1] == ("2 D C Z", ["s"], [])
    assert got == want  # once: ('E Z', [], ['26000'])


def test_rejected_parse_leaves_no_statement(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1))
    steps = [
        (0, raw_parse("s", "SELEC 1") + SYNC, b"Z"),
        (0, raw_bind("s") + raw_execute() + SYNC, b"Z"),
    ]
    want, got = same_as_postgres(pg, px, scratch_db, steps)
    assert want == [("E Z", [], ["42601"]), ("E Z", [], ["26000"])]
    assert got == want  # once: 42601 again for the Bind


def test_parse_and_close_skipped_after_an_error(pg, proxy, scratch_db):
    """A Parse and a Close of a new name, both skipped after an error: the name never existed."""
    px = proxy(pool=tx_pool(1))
    steps = [
        (0, raw_bind("missing") + raw_parse("s", "SELECT 's'") + raw_close("s") + SYNC, b"Z"),
        (0, raw_bind("s") + raw_execute() + SYNC, b"Z"),
    ]
    want, got = same_as_postgres(pg, px, scratch_db, steps)
    assert want == [("E Z", [], ["26000"]), ("E Z", [], ["26000"])]
    assert got == want  # once: ('2 D C Z', ['s'], []), the statement ran


def test_duplicate_parse_behind_an_error_keeps_other_clients_text(pg, proxy, scratch_db):
    """Client 0 parses a text client 1 holds (its Parse skipped after an error) and, pipelined
    behind, parses the same name with another text. The server lacked the proxy's name for the
    first text and used to create it with the second: client 1 then got 42P05, or the other
    text's rows."""
    px = proxy(pool=tx_pool(1, max_prepared_statements=1))
    steps = [
        (1, raw_parse("t", "SELECT 'two'") + SYNC, b"Z"),
        (1, raw_parse("u", "SELECT 'three'") + SYNC, b"Z"),  # evicts t's statement
        (0, raw_bind("missing") + raw_parse("s", "SELECT 'two'") + SYNC
         + raw_parse("s", "SELECT 'one'") + SYNC, b"Z"),
        (0, b"", b"Z"),
        (1, raw_bind("t") + raw_execute() + SYNC, b"Z"),
        (1, raw_parse("v", "SELECT 'two'") + SYNC + raw_bind("v") + raw_execute() + SYNC, b"Z"),
        (1, b"", b"Z"),
        (0, raw_bind("s") + raw_execute() + SYNC, b"Z"),
    ]
    want, got = same_as_postgres(pg, px, scratch_db, steps, clients=2)
    assert want[4] == ("2 D C Z", ["two"], [])
    assert want[6] == ("2 D C Z", ["two"], [])
    assert want[7] == ("2 D C Z", ["one"], [])
    assert got == want  # once: 42P05 for t, then v ran SELECT 'one'
    px.assert_alive()


def test_message_split_across_reads(pg, proxy, scratch_db):
    """Pipelining drivers (psycopg's pipeline mode, asyncpg) send batches that reach the proxy in
    pieces. A first read holding only part of a message must wait for the rest (seen: the proxy
    links a server, relays nothing, releases it, is handed it again at once and relays the same
    partial bytes again, recursing until the stack overflows: SIGSEGV)."""
    px = proxy(pool=tx_pool(1))
    a = RawConn(px.host, px.port, timeout=30).startup(pg.user, pg.password, scratch_db)
    try:
        a.send(raw_parse("s", "SELECT 'split'") + SYNC)
        assert replies(a) == ("1 Z", [], [])
        request = raw_bind("s") + raw_execute() + SYNC
        a.send(request[:3])
        # The proxy's loop has read those bytes once another client (of another pool) has logged
        # in and had an answer: that takes several turns of the loop.
        with RawConn(px.host, px.port, timeout=10).startup(pg.user, pg.password, pg.dbname) as b:
            assert b.simple_query("SELECT 'barrier'") == [["barrier"]]
        px.assert_alive()
        a.send(request[3:])
        assert replies(a) == ("2 D C Z", ["split"], [])
    finally:
        a.terminate()
    px.assert_alive()


# ---------------------------------------------------------------------------------------------
# Plans invalidated by DDL
# ---------------------------------------------------------------------------------------------

def run_after_ddl(low, name):
    """The documented behaviour today: the first execution after the DDL either succeeds or fails
    with 0A000 "cached plan must not change result type"; then the next one succeeds."""
    try:
        return low.run(name)
    except PgError as e:
        assert (e.sqlstate, e.message) == ("0A000", "cached plan must not change result type"), str(e)
    return low.run(name)


def test_ddl_between_executions_outside_a_transaction(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1))
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as direct, \
            connect(px, scratch_db) as c1, connect(px, scratch_db) as c2:
        direct.execute("CREATE TABLE t (a int)")
        direct.execute("INSERT INTO t VALUES (1)")
        one, two = Low(c1), Low(c2)
        one.prepare("q", "SELECT * FROM t")
        two.prepare("other_name", "SELECT * FROM t")  # shares the server statement
        assert one.run("q") == [("1",)]
        assert two.run("other_name") == [("1",)]

        direct.execute("ALTER TABLE t ADD COLUMN b int DEFAULT 7")
        assert run_after_ddl(one, "q") == [("1", "7")]
        assert one.run("q") == [("1", "7")]
        assert run_after_ddl(two, "other_name") == [("1", "7")]
        assert one.columns("q") == ["a", "b"]

        direct.execute("ALTER TABLE t ADD COLUMN c text DEFAULT 'x'")
        assert run_after_ddl(two, "other_name") == [("1", "7", "x")]
        assert run_after_ddl(one, "q") == [("1", "7", "x")]
        for _ in range(3):
            assert one.run("q") == [("1", "7", "x")]
            assert two.run("other_name") == [("1", "7", "x")]
    px.assert_alive()


def test_ddl_between_executions_inside_a_transaction(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1))
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as direct, connect(px, scratch_db) as c:
        direct.execute("CREATE TABLE t (a int)")
        direct.execute("INSERT INTO t VALUES (1)")
        low = Low(c)
        low.prepare("q", "SELECT * FROM t")
        assert low.run("q") == [("1",)]  # the one server now has the plan cached
        direct.execute("ALTER TABLE t ADD COLUMN b int DEFAULT 7")

        assert low.simple("BEGIN")[0] == "BEGIN"
        e = pg_error(low.run, "q")
        # The server's error, unchanged; the transaction is aborted as PostgreSQL says.
        assert (e.sqlstate, e.message) == ("0A000", "cached plan must not change result type")
        assert low.status() == pq.TransactionStatus.INERROR
        assert low.simple("ROLLBACK")[0] == "ROLLBACK"

        assert low.simple("BEGIN")[0] == "BEGIN"
        assert low.run("q") == [("1", "7")]
        assert low.run("q") == [("1", "7")]
        assert low.simple("COMMIT")[0] == "COMMIT"
        assert low.run("q") == [("1", "7")]
    px.assert_alive()


def test_ddl_asyncpg_reprepares_by_itself(pg, proxy, scratch_db):
    """asyncpg catches 0A000 outside a transaction and prepares the query again under a new name;
    through the proxy that new Parse must really reach the server (the old plan is stale)."""
    import asyncio
    import asyncpg

    px = proxy(pool=tx_pool(1))
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as direct:
        direct.execute("CREATE TABLE t (a int)")
        direct.execute("INSERT INTO t VALUES (1)")

        async def main():
            conn = await asyncpg.connect(host=px.host, port=px.port, user=pg.user, password=pg.password,
                                         database=scratch_db, timeout=30)
            try:
                assert [tuple(r) for r in await conn.fetch("SELECT * FROM t")] == [(1,)]
                direct.execute("ALTER TABLE t ADD COLUMN b int DEFAULT 7")
                assert [tuple(r) for r in await conn.fetch("SELECT * FROM t")] == [(1, 7)]
                assert [tuple(r) for r in await conn.fetch("SELECT * FROM t")] == [(1, 7)]
            finally:
                await conn.close()

        asyncio.run(main())
    px.assert_alive()


# ---------------------------------------------------------------------------------------------
# SQL-level PREPARE / EXECUTE
# ---------------------------------------------------------------------------------------------

def test_sql_prepare_in_transaction_mode_follows_the_client(pg, proxy, scratch_db):
    """SQL-level statements are prepared again wherever the client goes (test_session_prepare.py
    has the rest); no warning any more."""
    px = proxy(pool=tx_pool(2))
    with connect(px, scratch_db) as conn, connect(px, scratch_db) as other:
        low, peer = Low(conn), Low(other)
        assert low.simple("BEGIN")[0] == "BEGIN"
        assert low.simple("PREPARE sqlp (int) AS SELECT $1 * 3")[0] == "PREPARE"
        assert low.simple("EXECUTE sqlp (5)") == ("SELECT 1", [("15",)])
        assert low.simple("COMMIT")[0] == "COMMIT"
        # Another client's transaction in between, then again outside any transaction.
        assert peer.simple("PREPARE sqlp (int) AS SELECT $1 * 4")[0] == "PREPARE"
        assert low.simple("EXECUTE sqlp (6)") == ("SELECT 1", [("18",)])
        assert peer.simple("EXECUTE sqlp (6)") == ("SELECT 1", [("24",)])
        assert low.simple("DEALLOCATE sqlp")[0] == "DEALLOCATE"
        assert pg_error(low.simple, "EXECUTE sqlp (6)").sqlstate == "26000"
    assert "SQL-level PREPARE/EXECUTE" not in px.log_text()
    px.assert_alive()


# ---------------------------------------------------------------------------------------------
# DEALLOCATE, DEALLOCATE ALL, DISCARD ALL
# ---------------------------------------------------------------------------------------------

def test_deallocate_of_a_protocol_statement(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1))
    with connect(px, scratch_db) as c, connect(px, scratch_db) as other:
        low, peer = Low(c), Low(other)
        low.prepare("s1", "SELECT 1 AS one")
        peer.prepare("p1", "SELECT 1 AS one")  # the same server statement
        assert low.run("s1") == [("1",)]

        assert low.simple("DEALLOCATE s1") == ("DEALLOCATE", [])
        assert low.status() == pq.TransactionStatus.IDLE
        assert pg_error(low.run, "s1").sqlstate == "26000"  # as PostgreSQL: gone
        assert peer.run("p1") == [("1",)]                    # another client's is not
        # The name can be prepared again (no 42P05), with another text.
        low.prepare("s1", "SELECT 2 AS two")
        assert low.run("s1") == [("2",)]

        # Inside a transaction: the ReadyForQuery says so.
        assert low.simple("BEGIN")[0] == "BEGIN"
        assert low.simple("DEALLOCATE PREPARE s1") == ("DEALLOCATE", [])
        assert low.status() == pq.TransactionStatus.INTRANS
        assert low.simple("SELECT 5") == ("SELECT 1", [("5",)])
        assert low.simple("COMMIT")[0] == "COMMIT"
        assert pg_error(low.run, "s1").sqlstate == "26000"

        # A name the client never prepared: PostgreSQL's own answer.
        e = pg_error(low.simple, "DEALLOCATE nosuch")
        assert e.sqlstate == "26000"
        low.prepare("s1", "SELECT 3")
        assert low.run("s1") == [("3",)]
    px.assert_alive()


@pytest.mark.parametrize("command", ["DEALLOCATE ALL", "DISCARD ALL"])
def test_deallocate_all_and_discard_all(pg, proxy, scratch_db, command):
    px = proxy(pool=tx_pool(1))
    with connect(px, scratch_db) as c, connect(px, scratch_db) as other:
        low, peer = Low(c), Low(other)
        low.prepare("a", "SELECT 'a'")
        low.prepare("b", "SELECT 'b', $1::int")
        peer.prepare("shared", "SELECT 'a'")
        assert low.run("a") == [("a",)]
        assert low.run("b", 1) == [("b", "1")]

        assert low.simple(command) == (command, [])
        assert low.status() == pq.TransactionStatus.IDLE
        # The client's statements are gone, as in PostgreSQL.
        assert pg_error(low.run, "a").sqlstate == "26000"
        assert pg_error(low.run, "b", 1).sqlstate == "26000"
        # Preparing them again works (the server forgot them too, so no 42P05) ...
        low.prepare("a", "SELECT 'a'")
        low.prepare("b", "SELECT 'b', $1::int")
        assert low.run("a") == [("a",)]
        assert low.run("b", 2) == [("b", "2")]
        # ... and another client's statement, dropped from the server, is prepared again.
        assert peer.run("shared") == [("a",)]
        for _ in range(3):
            assert low.run("b", 3) == [("b", "3")]
            assert peer.run("shared") == [("a",)]
    px.assert_alive()
