"""SQL-level PREPARE / EXECUTE / DEALLOCATE [ALL] follow each client in transaction mode (issue 15,
item 2): each client's statements are its own, prepared again on whatever server it gets, and
never seen by another client, even one using the same names with other texts. psycopg2 (which has
no protocol-level statements: PREPARE is how its users prepare), psycopg 3, asyncpg and
node-postgres, against transaction pools smaller than the number of clients."""
import asyncio

import asyncpg
import psycopg
import psycopg2
import pytest

from ouro_testlib import RawConn, ServerError, message, parse_fields
from pooling_helpers import Runner, connect, scratch_db  # noqa: F401
from node_helpers import node_pg, run_node  # noqa: F401


def tx_pool(size=1, **extra):
    return {"mode": "transaction", "size": size, "query_wait_timeout": "60s", **extra}


def pg2(px, dbname):
    conn = psycopg2.connect(px.dsn(dbname=dbname), connect_timeout=30)
    conn.autocommit = True
    return conn


def run(conn, sql):
    """Runs `sql` on a psycopg2 connection; the rows, or None for a statement without rows."""
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall() if cur.description else None


def sqlstate(conn, sql):
    try:
        run(conn, sql)
    except psycopg2.Error as e:
        return e.pgcode
    return "no error"


def own_statements(conn):
    return run(conn, "SELECT name, statement FROM pg_prepared_statements ORDER BY name")


def test_psycopg2_same_names_other_texts_on_one_server(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1))
    a, b, c = pg2(px, scratch_db), pg2(px, scratch_db), pg2(px, scratch_db)
    try:
        assert run(a, "PREPARE p2 (int) AS SELECT $1 * 2, 'a'") is None
        # Before the fix: "prepared statement p2 already exists" as soon as two clients share a server.
        assert run(b, "PREPARE p2 (int) AS SELECT $1 * 3, 'b'") is None
        for i in range(5):
            assert run(a, f"EXECUTE p2({i})") == [(i * 2, "a")]
            assert run(b, f"EXECUTE p2({i})") == [(i * 3, "b")]
        # A client that never prepared p2 does not see the one the server had a moment ago.
        assert sqlstate(c, "EXECUTE p2(1)") == "26000"
        assert own_statements(c) == []
        # Each sees only its own, with its own text.
        assert own_statements(a) == [("p2", "PREPARE p2 (int) AS SELECT $1 * 2, 'a'")]
        assert own_statements(b) == [("p2", "PREPARE p2 (int) AS SELECT $1 * 3, 'b'")]
        # Inside a transaction, and a name PREPAREd twice: PostgreSQL's 42P05.
        run(a, "BEGIN")
        assert run(a, "EXECUTE p2(10)") == [(20, "a")]
        assert sqlstate(a, "PREPARE p2 AS SELECT 1") == "42P05"
        run(a, "ROLLBACK")
        assert run(a, "EXECUTE p2(10)") == [(20, "a")]
        # Only one server served the three of them.
        assert len({run(x, "SELECT pg_backend_pid()")[0][0] for x in (a, b, c)}) == 1
    finally:
        for x in (a, b, c):
            x.close()
    px.assert_alive()


def test_prepare_is_not_transactional_and_multi_statement_text_is_exact(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1))
    a, b = pg2(px, scratch_db), pg2(px, scratch_db)
    try:
        # As in PostgreSQL: a PREPARE survives the ROLLBACK of its transaction, and the failure of a
        # later statement in the same query.
        run(a, "BEGIN")
        run(a, "PREPARE in_tx AS SELECT 'kept'")
        run(a, "ROLLBACK")
        assert sqlstate(a, "SELECT 1; PREPARE multi AS SELECT 'multi; text' -- note\n; SELECT 1/0") == "22012"
        assert run(b, "SELECT 1") == [(1,)]  # b takes the server: a's statements leave it
        assert own_statements(b) == []
        assert run(a, "EXECUTE in_tx") == [("kept",)]
        assert run(a, "EXECUTE multi") == [("multi; text",)]
        # Prepared again from the statement's own text, not the whole query string.
        assert dict(own_statements(a))["multi"] == "PREPARE multi AS SELECT 'multi; text' -- note"
    finally:
        a.close()
        b.close()
    px.assert_alive()


def test_execute_after_moving_servers(pg, proxy, scratch_db):
    """The statement is prepared on a server that never saw the client's PREPARE."""
    px = proxy(pool=tx_pool(2))
    a, h1, h2 = pg2(px, scratch_db), pg2(px, scratch_db), pg2(px, scratch_db)
    try:
        run(a, "PREPARE where_am_i (int) AS SELECT $1 + 1, pg_backend_pid()")
        _, prepared_on = run(a, "EXECUTE where_am_i(1)")[0]
        # Two holders take both servers; the one that holds a's server keeps it.
        run(h1, "BEGIN")
        pid1 = run(h1, "SELECT pg_backend_pid()")[0][0]
        run(h2, "BEGIN")
        pid2 = run(h2, "SELECT pg_backend_pid()")[0][0]
        assert prepared_on in (pid1, pid2) and pid1 != pid2
        run(h2 if pid1 == prepared_on else h1, "ROLLBACK")
        holder = h1 if pid1 == prepared_on else h2
        value, pid = run(a, "EXECUTE where_am_i(41)")[0]
        assert (value, pid != prepared_on) == (42, True)
        assert own_statements(a) == [("where_am_i", "PREPARE where_am_i (int) AS SELECT $1 + 1, pg_backend_pid()")]
        run(holder, "ROLLBACK")
        assert run(a, "EXECUTE where_am_i(2)")[0][0] == 3
    finally:
        for x in (a, h1, h2):
            x.close()
    px.assert_alive()


def test_psycopg2_four_clients_on_two_servers_concurrently(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(2))

    def client(n):
        conn = pg2(px, scratch_db)
        pids = set()
        try:
            run(conn, f"PREPARE mine (int) AS SELECT $1 * {n + 1}, {n}, pg_backend_pid()")
            run(conn, f"PREPARE only_{n} AS SELECT 'only {n}'")
            for i in range(60):
                if i % 4 == 0:
                    run(conn, "BEGIN")
                    first = run(conn, f"EXECUTE mine({i})")[0]
                    second = run(conn, f"EXECUTE mine({i})")[0]
                    run(conn, "COMMIT")
                    assert first == second
                    rows = [first]
                else:
                    rows = run(conn, f"EXECUTE mine({i})")
                assert rows[0][:2] == (i * (n + 1), n)
                pids.add(rows[0][2])
                if i % 15 == 7:
                    assert run(conn, f"EXECUTE only_{n}") == [(f"only {n}",)]
                    assert [name for name, _ in own_statements(conn)] == sorted(["mine", f"only_{n}"])
            return pids
        finally:
            conn.close()

    runners = [Runner(lambda n=n: client(n), name=f"client-{n}") for n in range(4)]
    for r in runners:
        r.start()
    seen = [r.join_result(120) for r in runners]
    # Four clients, two servers: servers were shared, with the same name under other texts.
    assert len(set().union(*seen)) <= 2
    px.assert_alive()


@pytest.mark.parametrize("command", ["DEALLOCATE", "DEALLOCATE ALL", "DISCARD ALL"])
def test_deallocate_deallocate_all_and_discard_all(pg, proxy, scratch_db, command):
    px = proxy(pool=tx_pool(1))
    a, b = pg2(px, scratch_db), pg2(px, scratch_db)
    try:
        run(a, "PREPARE x AS SELECT 'a-x'")
        run(a, "PREPARE y AS SELECT 'a-y'")
        run(b, "PREPARE x AS SELECT 'b-x'")
        sql = "DEALLOCATE x" if command == "DEALLOCATE" else command
        assert run(a, sql) is None
        assert sqlstate(a, "EXECUTE x") == "26000"
        assert run(b, "EXECUTE x") == [("b-x",)]  # another client's is not touched
        assert sqlstate(a, "EXECUTE x") == "26000"  # nor brought back by moving
        if command == "DEALLOCATE":
            assert run(a, "EXECUTE y") == [("a-y",)]
            assert [n for n, _ in own_statements(a)] == ["y"]
        else:
            assert sqlstate(a, "EXECUTE y") == "26000"
            assert own_statements(a) == []
        # The name is free again, for another text (no 42P05).
        run(a, "PREPARE x AS SELECT 'a-x2'")
        assert run(a, "EXECUTE x") == [("a-x2",)]
        assert run(b, "EXECUTE x") == [("b-x",)]
        # DEALLOCATE of a name the client does not have: PostgreSQL's own 26000.
        assert sqlstate(b, "DEALLOCATE nosuch") == "26000"
    finally:
        a.close()
        b.close()
    px.assert_alive()


def test_reprepare_fails_after_drop_table(pg, proxy, scratch_db):
    """Error path: the client's statement cannot be prepared again on the server it gets (its
    table was dropped): its next request fails with PostgreSQL's error, saying why; the
    statement is gone; the session, the server and the other clients go on."""
    px = proxy(pool=tx_pool(1))
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as direct:
        direct.execute("CREATE TABLE doomed (v int)")
        direct.execute("INSERT INTO doomed VALUES (7)")
        direct.execute("GRANT ALL ON doomed TO PUBLIC")
        a, b = pg2(px, scratch_db), pg2(px, scratch_db)
        try:
            default_work_mem = run(b, "SHOW work_mem")[0][0]
            run(a, "SET work_mem = '7MB'")
            run(a, "PREPARE d AS SELECT v FROM doomed")
            run(a, "PREPARE fine AS SELECT 'fine'")
            assert run(a, "EXECUTE d") == [(7,)]
            pid = run(a, "SELECT pg_backend_pid()")[0][0]
            run(b, "PREPARE other AS SELECT 'b'")  # the server leaves a's statements behind
            assert run(b, "SHOW work_mem") == [(default_work_mem,)]
            direct.execute("DROP TABLE doomed")
            with pytest.raises(psycopg2.Error) as failed:
                run(a, "SELECT 'this request'")
            error = failed.value
            assert error.pgcode == "42P01", error
            assert 'relation "doomed" does not exist' in error.pgerror
            assert 'Prepared statement "d"' in error.diag.message_detail
            assert "this request did not run" in error.diag.message_detail
            assert error.diag.severity == "ERROR"
            # a's settings were applied before the failed PREPARE: none of them reach b.
            assert run(b, "SHOW work_mem") == [(default_work_mem,)]
            assert run(a, "SHOW work_mem") == [("7MB",)]
            # The session goes on without the statement, on the same server.
            assert run(a, "SELECT pg_backend_pid()")[0][0] == pid
            assert sqlstate(a, "EXECUTE d") == "26000"
            assert run(a, "EXECUTE fine") == [("fine",)]
            assert [n for n, _ in own_statements(a)] == ["fine"]
            assert run(b, "EXECUTE other") == [("b",)]
        finally:
            a.close()
            b.close()
    assert px.log_text().count('SQL-level prepared statement "d" could not be prepared again') == 1
    px.assert_alive()


def test_reprepare_fails_while_the_request_has_not_fully_arrived(pg, proxy, scratch_db):
    """Error path: the same failure while the client's extended-protocol batch has no Sync yet
    (nothing to answer with an error): the request runs, the client gets PostgreSQL's error as a
    WARNING notice first, and the statement is gone."""
    px = proxy(pool=tx_pool(1))
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as direct:
        direct.execute("CREATE TABLE doomed2 (v int)")
        raw = RawConn(px.host, px.port).startup(pg.user, pg.password, scratch_db)
        b = pg2(px, scratch_db)
        try:
            raw.simple_query("PREPARE d2 AS SELECT v FROM doomed2")
            run(b, "SELECT 1")  # b takes the only server: raw's statement leaves it
            direct.execute("DROP TABLE doomed2")
            raw.send(message(b"P", b"\0SELECT 42\0\0\0") + message(b"B", b"\0\0" + b"\0\0" * 3)
                     + message(b"E", b"\0\0\0\0\0"))
            mtype, payload = raw.read_message()
            assert mtype == b"N", (mtype, payload)
            notice = parse_fields(payload)
            assert (notice["S"], notice["C"]) == ("WARNING", "42P01"), notice
            assert 'Prepared statement "d2"' in notice["D"], notice
            raw.send(message(b"S"))
            replies = []
            while True:
                mtype, payload = raw.read_message()
                replies.append(mtype)
                if mtype == b"Z":
                    break
            assert replies == [b"1", b"2", b"D", b"C", b"Z"], replies
            with pytest.raises(ServerError) as gone:
                raw.simple_query("EXECUTE d2")
            assert gone.value.sqlstate == "26000"
            assert raw.simple_query("SELECT 'alive'") == [["alive"]]
        finally:
            raw.close()
            b.close()
    px.assert_alive()


def test_psycopg3_plain_sql_prepare_and_its_own_statement_cache(pg, proxy, scratch_db):
    """psycopg 3 with its protocol-level statements on (prepare_threshold=0, a small prepared_max,
    so it DEALLOCATEs its own): those stay the proxy's business, the SQL-level ones reach the server."""
    px = proxy(pool=tx_pool(1))
    with psycopg.connect(px.dsn(dbname=scratch_db), autocommit=True, prepare_threshold=0) as a, \
            connect(px, scratch_db) as b:
        a.prepared_max = 2
        a.execute("PREPARE s (int) AS SELECT $1 + 100")
        b.execute("PREPARE s (int) AS SELECT $1 + 200")
        for i in range(8):
            # Distinct texts: psycopg prepares each and evicts the oldest with DEALLOCATE _pg3_N.
            assert a.execute(f"SELECT %s::int + {i}", (i,)).fetchone() == (2 * i,)
            assert a.execute(f"EXECUTE s({i})").fetchone() == (i + 100,)
            assert b.execute(f"EXECUTE s({i})").fetchone() == (i + 200,)
        # The client's SQL-level DEALLOCATE reaches the server.
        a.execute("DEALLOCATE s")
        with pytest.raises(psycopg.errors.InvalidSqlStatementName, match='"s"'):
            a.execute("EXECUTE s(99)")
        assert b.execute("EXECUTE s(1)").fetchone() == (201,)
        assert [r[0] for r in b.execute("SELECT name FROM pg_prepared_statements WHERE from_sql")] == ["s"]
    px.assert_alive()


def test_asyncpg_plain_sql_prepare(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(1))

    async def main():
        conns = [await asyncpg.connect(host=px.host, port=px.port, user=pg.user, password=pg.password,
                                       database=scratch_db, timeout=30) for _ in range(3)]
        try:
            for n, conn in enumerate(conns):
                await conn.execute(f"PREPARE q (int) AS SELECT $1 * {n + 10}")
            for i in range(10):
                for n, conn in enumerate(conns):
                    assert await conn.fetchval(f"EXECUTE q({i})") == i * (n + 10)
            await conns[0].execute("DEALLOCATE ALL")
            with pytest.raises(asyncpg.exceptions.InvalidSQLStatementNameError, match='"q"'):
                await conns[0].fetchval("EXECUTE q(99)")
            assert await conns[1].fetchval("EXECUTE q(1)") == 11
            rows = await conns[2].fetch("SELECT name, statement FROM pg_prepared_statements WHERE from_sql")
            assert [tuple(r) for r in rows] == [("q", "PREPARE q (int) AS SELECT $1 * 12")]
        finally:
            for conn in conns:
                await conn.close()

    asyncio.run(main())
    px.assert_alive()


def test_asyncpg_execute_of_same_name_with_other_columns(pg, proxy, scratch_db):
    """asyncpg sends `EXECUTE p` as its own named protocol-level statement, whose rows PostgreSQL
    describes once: clients whose p return other columns must not share it (the proxy's cache
    would otherwise hand b the description of a's p: b read text as int4)."""
    px = proxy(pool=tx_pool(1))

    async def main():
        a, b = [await asyncpg.connect(host=px.host, port=px.port, user=pg.user, password=pg.password,
                                      database=scratch_db, timeout=30) for _ in range(2)]
        try:
            await a.execute("PREPARE p AS SELECT 1::int AS v")
            await b.execute("PREPARE p AS SELECT 'text'::text AS v")
            for _ in range(3):
                assert await a.fetchval("EXECUTE p") == 1
                assert await b.fetchval("EXECUTE p") == "text"
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())
    px.assert_alive()


def test_node_pg_plain_sql_prepare_4_clients_on_1_server(pg, proxy, scratch_db, node_pg):
    px = proxy(pool=tx_pool(1))
    result = run_node(node_pg, "sql_prepare.js", px, pg, scratch_db, CLIENTS=4, ROUNDS=30)
    assert result == {"ok": True, "executions": 4 * 30}, result
    px.assert_alive()


def test_statement_mode(pg, proxy, scratch_db):
    px = proxy(pool={"mode": "statement", "size": 1, "query_wait_timeout": "60s"})
    a, b = pg2(px, scratch_db), pg2(px, scratch_db)
    try:
        run(a, "PREPARE st AS SELECT 'a'")
        run(b, "PREPARE st AS SELECT 'b'")
        for _ in range(3):
            assert run(a, "EXECUTE st") == [("a",)]
            assert run(b, "EXECUTE st") == [("b",)]
    finally:
        a.close()
        b.close()
    px.assert_alive()
