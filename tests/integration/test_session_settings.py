"""Settings follow each client in transaction mode (issue 15, item 1): SET, SET SESSION, RESET,
RESET ALL, set_config(..., false), DISCARD ALL, start-up parameters and options=-c, with
PostgreSQL's transaction semantics, for every setting (not only those PostgreSQL reports). Two or
three clients share one server (pool size 1), so each statement of one client runs on the server
the other just used."""
import asyncio

import asyncpg
import psycopg

from pooling_helpers import connect, scratch_db  # noqa: F401
from test_observability_support import metric_value, metrics_settings, parse_samples, scrape_text
from node_helpers import node_pg, run_node  # noqa: F401


def tx_pool(size=1, **extra):
    return {"mode": "transaction", "size": size, "query_wait_timeout": "30s", **extra}


def show(conn, name):
    return conn.execute(f"SHOW {name}").fetchone()[0]


def test_unreported_settings_follow_the_client_and_never_leak(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool())
    with connect(px, scratch_db) as a, connect(px, scratch_db) as b:
        default_work_mem = show(b, "work_mem")
        default_search_path = show(b, "search_path")
        a.execute("SET work_mem = '7MB'")
        a.execute("SET SESSION search_path = pg_catalog, public")
        a.execute("SELECT pg_catalog.set_config('statement_timeout', '4321', false)")
        # b runs on the server a just changed: it sees the defaults.
        assert show(b, "work_mem") == default_work_mem
        assert show(b, "search_path") == default_search_path
        assert show(b, "statement_timeout") == "0"
        # a gets its own values back on the server b just used.
        assert show(a, "work_mem") == "7MB"
        assert show(a, "search_path") == "pg_catalog, public"
        assert show(a, "statement_timeout") == "4321ms"
        # b's own SET does not reach a.
        b.execute("SET work_mem = '3MB'")
        assert show(a, "work_mem") == "7MB"
        assert show(b, "work_mem") == "3MB"
    px.assert_alive()


def test_only_differences_cost_a_round_trip(pg, proxy, scratch_db):
    """Before a client's transaction, a server whose settings equal the client's costs nothing;
    one that differs costs one round trip for all of them (ouroboros_server_syncs_total)."""
    px = proxy(pool=tx_pool(), metrics=metrics_settings())

    def syncs():
        return metric_value(parse_samples(scrape_text(px)), "ouroboros_server_syncs_total",
                            database=scratch_db, user=pg.user)

    with connect(px, scratch_db) as a, connect(px, scratch_db) as b:
        def take_turns(times):
            for _ in range(times):
                show(a, "work_mem")
                show(b, "work_mem")

        take_turns(1)
        start = syncs()
        # Equal settings: a and b take turns on the one server, no alignment at all.
        take_turns(5)
        assert syncs() == start
        # a changes three settings (on the server it holds: no round trip for a).
        a.execute("SET work_mem = '6MB'; SET search_path = pg_catalog; SET statement_timeout = 9000")
        assert show(a, "work_mem") == "6MB"
        assert syncs() == start
        # Each switch between a and b now costs exactly one round trip, whatever the count.
        for turn in range(1, 4):
            assert show(b, "work_mem") != "6MB"
            assert syncs() == start + 2 * turn - 1
            assert show(a, "statement_timeout") == "9s"
            assert syncs() == start + 2 * turn
        # Equal again: free again.
        a.execute("RESET ALL")
        show(b, "work_mem")
        settled = syncs()
        take_turns(3)
        assert syncs() == settled
    px.assert_alive()


def test_custom_settings_for_row_level_security_follow_the_client(pg, proxy, scratch_db):
    """The multi-tenant pattern: a custom setting read by a row-level security policy. Each client
    must see only its own tenant's rows, whichever server runs its query."""
    with pg.connect_super(scratch_db) as sup:
        sup.execute("CREATE TABLE tenant_rows (tenant text, x int)")
        sup.execute("INSERT INTO tenant_rows VALUES ('t1', 1), ('t1', 2), ('t2', 3)")
        sup.execute("ALTER TABLE tenant_rows ENABLE ROW LEVEL SECURITY")
        sup.execute("CREATE POLICY by_tenant ON tenant_rows "
                    "USING (tenant = current_setting('app.tenant', true))")
        sup.execute(f"GRANT SELECT ON tenant_rows TO {pg.user}")
    px = proxy(pool=tx_pool())
    rows = "SELECT coalesce(sum(x), 0) FROM tenant_rows"
    with connect(px, scratch_db) as a, connect(px, scratch_db) as b, connect(px, scratch_db) as c:
        a.execute("SET app.tenant = 't1'")
        b.execute("SELECT set_config('app.tenant', 't2', false)")
        for _ in range(3):
            assert a.execute(rows).fetchone()[0] == 3
            assert b.execute(rows).fetchone()[0] == 3
            assert c.execute(rows).fetchone()[0] == 0  # c never set a tenant: no rows
        b.execute("RESET app.tenant")
        assert b.execute(rows).fetchone()[0] == 0
        assert a.execute(rows).fetchone()[0] == 3
    px.assert_alive()


def test_transaction_semantics_rollback_savepoint_and_set_local(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool())
    with connect(px, scratch_db) as a, connect(px, scratch_db) as b:
        default = show(b, "work_mem")
        # A SET inside a transaction that rolls back does not stick.
        a.execute("BEGIN")
        a.execute("SET work_mem = '11MB'")
        assert show(a, "work_mem") == "11MB"
        a.execute("ROLLBACK")
        assert show(b, "work_mem") == default
        assert show(a, "work_mem") == default
        # ... nor one inside a savepoint that is rolled back; one before it does.
        a.execute("BEGIN")
        a.execute("SET work_mem = '12MB'")
        a.execute("SAVEPOINT s1")
        a.execute("SET search_path = pg_catalog")
        a.execute("ROLLBACK TO SAVEPOINT s1")
        a.execute("COMMIT")
        assert show(b, "work_mem") == default
        assert show(a, "work_mem") == "12MB"
        assert show(a, "search_path") == show(b, "search_path")
        # SET LOCAL ends with its transaction.
        a.execute("BEGIN; SET LOCAL work_mem = '13MB'")
        assert show(a, "work_mem") == "13MB"
        a.execute("COMMIT")
        assert show(b, "work_mem") == default
        assert show(a, "work_mem") == "12MB"
        # A failed statement after a SET in one query rolls the SET back.
        try:
            a.execute("SET work_mem = '14MB'; SELECT 1/0")
        except psycopg.errors.DivisionByZero:
            pass
        else:
            raise AssertionError("division by zero did not fail")
        assert show(a, "work_mem") == "12MB"
    px.assert_alive()


def test_reset_gives_the_start_up_value(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool())
    with connect(px, scratch_db, options="-c work_mem=5MB -c search_path=pg_catalog") as a, \
            connect(px, scratch_db, options="-c TimeZone=Asia/Tokyo") as b:
        assert show(a, "work_mem") == "5MB"
        default = show(b, "work_mem")
        a.execute("SET work_mem = '9MB'")
        a.execute("SET search_path = public")
        assert show(b, "work_mem") == default
        a.execute("RESET work_mem")
        assert show(a, "work_mem") == "5MB"
        assert show(b, "work_mem") == default
        a.execute("SET work_mem = '9MB'")
        a.execute("RESET ALL")
        assert show(a, "work_mem") == "5MB"
        assert show(a, "search_path") == "pg_catalog"
        # A reported setting: RESET gives b its start-up time zone, also on the next server.
        b.execute("SET TimeZone = 'UTC'")
        assert show(b, "TimeZone") == "UTC"
        b.execute("RESET TimeZone")
        assert show(a, "TimeZone") != "Asia/Tokyo"
        assert show(b, "TimeZone") == "Asia/Tokyo"
        assert b.info.parameter_status("TimeZone") == "Asia/Tokyo"
        # Inside a transaction block: at once, and rolled back with it.
        a.execute("SET work_mem = '9MB'")
        a.execute("BEGIN")
        a.execute("RESET work_mem")
        assert show(a, "work_mem") == "5MB"
        a.execute("ROLLBACK")
        assert show(a, "work_mem") == "9MB"
        a.execute("BEGIN")
        a.execute("RESET ALL")
        assert show(a, "work_mem") == "5MB"
        a.execute("COMMIT")
        assert show(a, "work_mem") == "5MB"
        assert show(b, "work_mem") == default
        # DISCARD ALL, too.
        a.execute("SET work_mem = '9MB'")
        a.execute("DISCARD ALL")
        assert show(a, "work_mem") == "5MB"
    px.assert_alive()


def test_asyncpg_clients_interleave_with_their_own_settings(pg, proxy, scratch_db):
    """asyncpg sends everything through the extended protocol (its own prepared statements)."""
    px = proxy(pool=tx_pool())

    async def run():
        a = await asyncpg.connect(host=px.host, port=px.port, user=pg.user, password=pg.password,
                                  database=scratch_db)
        b = await asyncpg.connect(host=px.host, port=px.port, user=pg.user, password=pg.password,
                                  database=scratch_db)
        try:
            default = await b.fetchval("SHOW work_mem")
            await a.execute("SET work_mem = '21MB'")
            # A value the proxy cannot read from the statement: read back from the server.
            await a.fetchval("SELECT set_config('search_path', $1, false)", "pg_catalog")
            assert await b.fetchval("SHOW work_mem") == default
            assert await a.fetchval("SHOW work_mem") == "21MB"
            assert await b.fetchval("SHOW search_path") != "pg_catalog"
            assert await a.fetchval("SHOW search_path") == "pg_catalog"
            async with a.transaction():
                await a.execute("SET LOCAL work_mem = '22MB'")
                assert await a.fetchval("SHOW work_mem") == "22MB"
            assert await a.fetchval("SHOW work_mem") == "21MB"
            assert await b.fetchval("SHOW work_mem") == default
        finally:
            await a.close()
            await b.close()

    asyncio.run(asyncio.wait_for(run(), 60))
    px.assert_alive()


def test_computed_set_config_is_read_back(pg, proxy, scratch_db):
    px = proxy(pool=tx_pool())
    with connect(px, scratch_db) as a, connect(px, scratch_db) as b:
        default = show(b, "work_mem")
        a.execute("SELECT set_config('work_mem', (2 * 8)::text || 'MB', false)")
        a.execute("SELECT set_config(name, '17MB', false) FROM pg_settings WHERE name = 'maintenance_work_mem'")
        assert show(b, "work_mem") == default
        assert show(b, "maintenance_work_mem") != "17MB"
        assert show(a, "work_mem") == "16MB"
        assert show(a, "maintenance_work_mem") == "17MB"
        # Inside a transaction that rolls back, nothing is learned.
        a.execute("BEGIN")
        a.execute("SELECT set_config('work_mem', 3 || 'MB', false)")
        a.execute("ROLLBACK")
        assert show(b, "work_mem") == default
        assert show(a, "work_mem") == "16MB"
    px.assert_alive()


def test_node_pg_clients_keep_their_own_settings(pg, proxy, scratch_db, node_pg):
    px = proxy(pool=tx_pool())
    assert run_node(node_pg, "settings_follow.js", px, pg, scratch_db) == {"ok": True}
    px.assert_alive()
