"""Drivers that use protocol-level named prepared statements, through a transaction pool smaller
than the client count: asyncpg (its statement cache, prepare(), executemany), psycopg 3
(prepare_threshold=0 with a small prepared_max, so it DEALLOCATEs, also in pipeline mode) and
node-postgres named queries."""
import asyncio

import asyncpg
import psycopg

from node_helpers import node_pg, run_node  # noqa: F401
from pooling_helpers import Runner, scratch_db  # noqa: F401



def tx_pool(size, **extra):
    return {"mode": "transaction", "size": size, "query_wait_timeout": "60s", **extra}


def run_threads(fns, timeout=90):
    """Runs each fn in a thread, waits for all of them, then re-raises the first failure."""
    runners = [Runner(fn, name=f"client-{i}") for i, fn in enumerate(fns)]
    for r in runners:
        r.start()
    results, errors = [], []
    for r in runners:
        try:
            results.append(r.join_result(timeout))
        except Exception as e:  # noqa: BLE001 - re-raised below
            errors.append(e)
    if errors:
        raise errors[0]
    return results


def pg_conn(px, dbname, **kw):
    return psycopg.connect(px.dsn(dbname=dbname), autocommit=True, **kw)


# ---------------------------------------------------------------------------------------------
# asyncpg
# ---------------------------------------------------------------------------------------------

def test_asyncpg_prepared_queries_8_clients_on_2_servers(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool(2))
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE items (client int, i int, label text)")

    async def client(n):
        # The default statement cache: every query is a named prepared statement.
        conn = await asyncpg.connect(host=px.host, port=px.port, user=pg.user, password=pg.password,
                                     database=scratch_db, timeout=60)
        try:
            double = await conn.prepare("SELECT $1::int * 2 AS v")
            for i in range(30):
                assert await conn.fetchval("SELECT $1::int + $2::int", i, n) == i + n
                rows = await conn.fetch("SELECT g, $2::text || g AS label FROM generate_series(1, $1::int) g "
                                        "ORDER BY g", i % 4 + 1, f"c{n}-")
                assert [tuple(r) for r in rows] == [(g, f"c{n}-{g}") for g in range(1, i % 4 + 2)]
                assert await double.fetchval(i) == 2 * i
                assert [tuple(r) for r in await double.fetch(n)] == [(2 * n,)]
                # A statement whose text depends on the client (distinct per client).
                assert await conn.fetchval(f"SELECT {n} * 1000 + $1::int", i) == n * 1000 + i
                if i % 10 == 0:
                    async with conn.transaction():
                        pid = await conn.fetchval("SELECT pg_backend_pid()")
                        assert await double.fetchval(i + 1) == 2 * i + 2
                        assert await conn.fetchval("SELECT pg_backend_pid()") == pid
            await conn.executemany("INSERT INTO items VALUES ($1, $2, $3)",
                                   [(n, i, f"item-{n}-{i}") for i in range(50)])
            got = await conn.fetch("SELECT i, label FROM items WHERE client = $1 ORDER BY i", n)
            assert [tuple(r) for r in got] == [(i, f"item-{n}-{i}") for i in range(50)]
            return True
        finally:
            await conn.close()

    async def main():
        return await asyncio.gather(*(client(n) for n in range(8)))

    assert asyncio.run(main()) == [True] * 8
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT client) FROM items").fetchone() == (400, 8)
    px.assert_alive()


# ---------------------------------------------------------------------------------------------
# psycopg 3
# ---------------------------------------------------------------------------------------------

QUERIES = [(f"SELECT %s::int + {k} AS v, '{k}'::text AS k", k) for k in range(20)]

# psycopg 3.1 (Debian 12) evicts a statement from its cache with DEALLOCATE sent through the
# extended protocol as an unnamed statement (Parse "" "DEALLOCATE _pg3_0", Bind, Describe, Execute),
# in pipeline mode (no Sync after it) and outside it alike; the proxy answers it itself.


def run_queries(conn, rounds, offset):
    for r in range(rounds):
        for sql, k in QUERIES:
            x = offset + r
            assert conn.execute(sql, (x,), prepare=None).fetchone() == (x + k, str(k))


def test_psycopg_prepare_threshold_0_more_statements_than_prepared_max(pg, proxy, scratch_db):
    """psycopg prepares every query (threshold 0) and keeps at most 5: it DEALLOCATEs the oldest
    of its statements as it goes. Four clients on two servers."""
    px = proxy(pool=tx_pool(2))

    def client(n):
        with pg_conn(px, scratch_db, prepare_threshold=0) as conn:
            conn.prepared_max = 5
            run_queries(conn, 4, n * 100)
            # Also inside transactions.
            for _ in range(2):
                with conn.transaction():
                    run_queries(conn, 1, n)
        return True

    assert run_threads([lambda n=n: client(n) for n in range(4)]) == [True] * 4
    assert "ERROR" not in px.log_text(), px.log_tail()
    px.assert_alive()


def test_psycopg_pipeline_mode_prepared(pg, proxy, scratch_db):
    """Pipeline mode: psycopg sends its Parse/Bind/Execute (and, past prepared_max, its
    DEALLOCATEs) without waiting, Syncs at the end of the pipeline block."""
    px = proxy(pool=tx_pool(2))

    def client(n):
        with pg_conn(px, scratch_db, prepare_threshold=0) as conn:
            conn.prepared_max = 5
            for r in range(3):
                with conn.pipeline():
                    cursors = [(conn.execute(sql, (n + r,), prepare=None), k) for sql, k in QUERIES]
                for cur, k in cursors:
                    assert cur.fetchone() == (n + r + k, str(k))
        return True

    assert run_threads([lambda n=n: client(n) for n in range(3)]) == [True] * 3
    px.assert_alive()


def test_psycopg_pipeline_mode_prepared_within_prepared_max(pg, proxy, scratch_db):
    """Pipeline mode with fewer statements than prepared_max (psycopg never DEALLOCATEs)."""
    px = proxy(pool=tx_pool(2))

    def client(n):
        with pg_conn(px, scratch_db, prepare_threshold=0) as conn:
            for r in range(4):
                with conn.pipeline():
                    cursors = [(conn.execute(sql, (n + r,), prepare=None), k) for sql, k in QUERIES[:8]]
                for cur, k in cursors:
                    assert cur.fetchone() == (n + r + k, str(k))
        return True

    assert run_threads([lambda n=n: client(n) for n in range(3)]) == [True] * 3
    px.assert_alive()


# ---------------------------------------------------------------------------------------------
# node-postgres
# ---------------------------------------------------------------------------------------------

def test_node_pg_named_queries_6_clients_on_2_servers(pg, proxy, scratch_db, node_pg):
    px = proxy(pool=tx_pool(2))
    result = run_node(node_pg, "named_queries.js", px, pg, scratch_db, CLIENTS=6, ROUNDS=40)
    assert result == {"ok": True, "executions": 6 * (40 * 3 + 4 * 2)}, result
    px.assert_alive()
