"""Session state that cannot move (issue 15, item 4): in transaction mode a client whose session
holds a temporary table, a session advisory lock, a WITH HOLD cursor or a loaded library keeps
its server between transactions until that state is gone, then shares servers again; the server
it leaves is cleaned before anyone else gets it; `session_state: refuse` answers such statements
with 0A000 instead. Pools are smaller than the number of clients, with real drivers (psycopg 3,
asyncpg, node-postgres), and every error path named in the issue is provoked: a pool exhausted
by pinned clients, refuse mode, the pinned client's server terminated."""
import asyncio
import os
import re
import subprocess

import asyncpg
import psycopg
import psycopg2
import pytest

from ouro_testlib import RawConn, query_message, wait_for
from pooling_helpers import Runner, connect, scratch_db, server_pids  # noqa: F401
from test_observability_support import metrics_settings, scrape_text
from node_helpers import node_pg, run_node  # noqa: F401

PINNED_METRIC = "ouroboros_pool_pinned_clients"


def start_proxy(pg, proxy, size, **pool):
    """A transaction pool of `size` servers; the cluster's superuser may use the admin console
    (and log in through the proxy, for LOAD)."""
    return proxy(pool={"mode": "transaction", "size": size, "query_wait_timeout": "30s", **pool},
                 auth={"type": "scram-sha-256",
                       "users": {pg.user: {"password": pg.password},
                                 pg.superuser: {"password": pg.superuser_password}}},
                 admin={"users": [pg.superuser]},
                 metrics=metrics_settings())


def asyncpg_args(px, pg, dbname):
    return {"host": px.host, "port": px.port, "user": pg.user, "password": pg.password, "database": dbname}


def pid(conn):
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def pinned_metric(px, dbname, user="ouro"):
    pattern = re.compile(rf'^{PINNED_METRIC}\{{database="{dbname}",user="{user}"\}} (\S+)$', re.M)
    found = pattern.search(scrape_text(px))
    return float(found.group(1)) if found else 0.0


def wait_pinned_metric(px, dbname, value, user="ouro"):
    wait_for(lambda: pinned_metric(px, dbname, user) == value, 20,
             message=f"{PINNED_METRIC} of {dbname}/{user} to be {value}")


def show_clients(px, pg, what="CLIENTS"):
    """SHOW CLIENTS (or SERVERS) of the admin console (psql: the console speaks the simple
    protocol only)."""
    proc = subprocess.run([pg.bin("psql"), "-X", "-A", "-F", "|", "-h", px.host, "-p", str(px.port),
                           "-U", pg.superuser, "ouroboros", "-c", f"SHOW {what}"],
                          env=dict(os.environ, PGPASSWORD=pg.superuser_password, PGCONNECT_TIMEOUT="10"),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = lines[0].split("|")
    return [dict(zip(header, line.split("|"))) for line in lines[1:-1]]


def pinned_column(px, pg, dbname, application_name):
    rows = [r for r in show_clients(px, pg)
            if r["database"] == dbname and r["application_name"] == application_name]
    assert len(rows) == 1, rows
    return rows[0]["pinned"]


def temp_table_visible(conn, name):
    return conn.execute("SELECT to_regclass(%s) IS NOT NULL", (f"pg_temp.{name}",)).fetchone()[0]


def own_advisory_locks(conn):
    return conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                        "AND pid = pg_backend_pid()").fetchone()[0]


def shares_a_server(holder, a, b):
    """With `holder` keeping one of two servers inside a transaction, a and b get the other."""
    holder.execute("SELECT 1")  # non-autocommit: the transaction holds a server until commit
    try:
        return pid(a) == pid(b)
    finally:
        holder.commit()


# ---------------------------------------------------------------------------------------------
# Pinning, per kind of state
# ---------------------------------------------------------------------------------------------

def test_temp_table_pins_until_dropped_and_never_leaks_psycopg(pg, proxy, scratch_db):
    px = start_proxy(pg, proxy, size=2)
    with connect(px, scratch_db, application_name="pin-a") as a, \
            connect(px, scratch_db, application_name="pin-b") as b, \
            connect(px, scratch_db, application_name="pin-c") as c, \
            connect(px, scratch_db, autocommit=False, application_name="pin-h") as holder:
        a_pid = pid(a)
        a.execute("CREATE TEMP TABLE pin_t (x int)")
        a.execute("INSERT INTO pin_t VALUES (1), (2)")
        wait_pinned_metric(px, scratch_db, 1)
        assert pinned_column(px, pg, scratch_db, "pin-a") == "temporary table"
        assert pinned_column(px, pg, scratch_db, "pin-b") == ""
        servers = {r["remote_pid"]: r["pinned"] for r in show_clients(px, pg, "SERVERS")
                   if r["database"] == scratch_db}
        assert servers[str(a_pid)] == "temporary table", servers
        assert re.search(rf'client \d+ \([^)]*\): pinned to server \d+ \(backend pid {a_pid}\): '
                         r'temporary table "pin_t"', px.log_text()), px.log_tail()
        # b and c interleave with a: they share the other server and never see a's table.
        for round_ in range(5):
            assert pid(a) == a_pid
            assert a.execute("SELECT count(*) FROM pin_t").fetchone()[0] == 2 + round_
            for other in (b, c):
                assert pid(other) != a_pid
                assert not temp_table_visible(other, "pin_t")
                with pytest.raises(psycopg.errors.UndefinedTable):
                    other.execute("SELECT * FROM pin_t")
            a.execute("INSERT INTO pin_t VALUES (3)")
        # Transactions of the pinned client run on its server too.
        with a.transaction():
            a.execute("INSERT INTO pin_t VALUES (4)")
            assert pid(a) == a_pid
        a.execute("DROP TABLE pin_t")
        wait_pinned_metric(px, scratch_db, 0)
        assert pinned_column(px, pg, scratch_db, "pin-a") == ""
        assert re.search(rf"client \d+ \([^)]*\): unpinned from server \d+ \(backend pid {a_pid}\): its "
                         r"temporary table is gone", px.log_text()), px.log_tail()
        # a shares servers again: with one server held by `holder`, a and b run on the other.
        assert shares_a_server(holder, a, b)
        assert shares_a_server(holder, a, c)
    px.assert_alive()


def test_advisory_lock_pins_until_unlocked_asyncpg(pg, proxy, scratch_db):
    px = start_proxy(pg, proxy, size=2)

    async def main():
        a = await asyncpg.connect(**asyncpg_args(px, pg, scratch_db))
        b = await asyncpg.connect(**asyncpg_args(px, pg, scratch_db))
        c = await asyncpg.connect(**asyncpg_args(px, pg, scratch_db))
        own_locks = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                     "AND pid = pg_backend_pid()")
        try:
            a_pid = await a.fetchval("SELECT pg_backend_pid()")
            await a.fetchval("SELECT pg_advisory_lock(4242)")
            for _ in range(4):
                assert await a.fetchval("SELECT pg_backend_pid()") == a_pid
                assert await a.fetchval(own_locks) == 1
                for other in (b, c):
                    # Another client's backend holds no advisory lock of a's, and a's lock is
                    # really held (the transaction-scoped try fails while a holds it).
                    assert await other.fetchval("SELECT pg_backend_pid()") != a_pid
                    assert await other.fetchval(own_locks) == 0
                    assert await other.fetchval("SELECT pg_try_advisory_xact_lock(4242)") is False
            assert pinned_metric(px, scratch_db) == 1
            assert await a.fetchval("SELECT pg_advisory_unlock(4242)") is True
            # Unpinned at the end of that transaction: the lock is free for anyone.
            assert await b.fetchval("SELECT pg_try_advisory_xact_lock(4242)") is True
            assert pinned_metric(px, scratch_db) == 0
            # a shares again: while b holds one server in a transaction, a and c use the other.
            tx = b.transaction()
            await tx.start()
            await b.fetchval("SELECT 1")
            assert await a.fetchval("SELECT pg_backend_pid()") == await c.fetchval("SELECT pg_backend_pid()")
            await tx.commit()
        finally:
            for conn in (a, b, c):
                await conn.close()

    asyncio.run(main())
    assert re.search(r'pinned to server \d+ \(backend pid \d+\): 1 session advisory lock', px.log_text())
    assert "unpinned from server" in px.log_text()
    px.assert_alive()


def test_advisory_lock_counting_cursors_and_discard_all_psycopg2(pg, proxy, scratch_db):
    """psycopg2 (autocommit), three clients on two servers: session advisory locks counted per
    key as PostgreSQL does (twice locked, twice unlocked; a failed try-lock holds nothing; a lock
    survives ROLLBACK), CLOSE ALL for WITH HOLD cursors, and DISCARD ALL ending every pin."""
    px = start_proxy(pg, proxy, size=2)

    def connect2(name):
        conn = psycopg2.connect(px.dsn(dbname=scratch_db, application_name=name), connect_timeout=30)
        conn.autocommit = True
        return conn

    def one(conn, sql):
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0] if cur.description else None

    a, b, c = connect2("p2-a"), connect2("p2-b"), connect2("p2-c")
    try:
        a_pid = one(a, "SELECT pg_backend_pid()")
        one(a, "SELECT pg_advisory_lock(5150)")
        one(a, "SELECT pg_advisory_lock(5150)")  # held twice
        wait_pinned_metric(px, scratch_db, 1)
        assert pinned_column(px, pg, scratch_db, "p2-a") == "session advisory lock"
        # b cannot take it, and a try-lock that fails holds nothing: b stays unpinned.
        assert one(b, "SELECT pg_try_advisory_lock(5150)") is False
        assert pinned_column(px, pg, scratch_db, "p2-b") == ""
        assert one(a, "SELECT pg_advisory_unlock(5150)") is True
        assert pinned_column(px, pg, scratch_db, "p2-a") == "session advisory lock"  # once more held
        assert one(c, "SELECT pg_try_advisory_xact_lock(5150)") is False
        # A lock taken inside a transaction that rolls back survives, as in PostgreSQL.
        a.autocommit = False
        one(a, "SELECT pg_advisory_lock(5151)")
        a.rollback()
        a.autocommit = True
        assert one(a, "SELECT pg_advisory_unlock(5150)") is True
        assert pinned_column(px, pg, scratch_db, "p2-a") == "session advisory lock"  # 5151 is held
        assert one(a, "SELECT pg_backend_pid()") == a_pid
        assert one(b, "SELECT pg_try_advisory_xact_lock(5151)") is False
        # WITH HOLD cursors next to it; CLOSE ALL ends them, DISCARD ALL everything.
        one(a, "DECLARE p2_c1 CURSOR WITH HOLD FOR SELECT 1")
        one(a, "DECLARE p2_c2 CURSOR WITH HOLD FOR SELECT 2")
        one(a, "CLOSE ALL")
        assert pinned_column(px, pg, scratch_db, "p2-a") == "session advisory lock"
        one(a, "DECLARE p2_c3 CURSOR WITH HOLD FOR SELECT 3")
        one(a, "CREATE TEMP TABLE p2_t (x int)")
        assert pinned_column(px, pg, scratch_db, "p2-a") == "temporary table"
        for other in (b, c):
            assert one(other, "SELECT pg_backend_pid()") != a_pid
            assert one(other, "SELECT to_regclass('pg_temp.p2_t') IS NULL") is True
        one(a, "DISCARD ALL")
        wait_pinned_metric(px, scratch_db, 0)
        assert pinned_column(px, pg, scratch_db, "p2-a") == ""
        # Everything was released on the server: anyone may lock both keys now.
        assert one(b, "SELECT pg_try_advisory_xact_lock(5151)") is True
        assert one(c, "SELECT pg_try_advisory_xact_lock(5150)") is True
    finally:
        for conn in (a, b, c):
            conn.close()
    px.assert_alive()


def test_transaction_scoped_state_pins_nothing(pg, proxy, scratch_db):
    """State that ends with its transaction (SET LOCAL, SET TRANSACTION, pg_advisory_xact_lock,
    ON COMMIT DROP temp tables, cursors without HOLD) needs no pin: three clients keep sharing two
    servers, and none of it is left for the next client."""
    px = start_proxy(pg, proxy, size=2)
    with connect(px, scratch_db, autocommit=False, application_name="tx-a") as a, \
            connect(px, scratch_db, application_name="tx-b") as b, \
            connect(px, scratch_db, application_name="tx-c") as c:
        for round_ in range(3):
            a.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            a.execute("SET LOCAL work_mem = '21MB'")
            a.execute("SELECT pg_advisory_xact_lock(6160)")
            a.execute("CREATE TEMP TABLE tx_t ON COMMIT DROP AS SELECT 1 AS x")
            a.execute("DECLARE tx_cur CURSOR FOR SELECT x FROM tx_t")
            assert a.execute("FETCH 1 FROM tx_cur").fetchone()[0] == 1
            assert a.execute("SHOW transaction_isolation").fetchone()[0] == "repeatable read"
            # Inside a's transaction its lock is held: nobody else gets it.
            assert b.execute("SELECT pg_try_advisory_xact_lock(6160)").fetchone()[0] is False
            a.commit()
            assert pinned_column(px, pg, scratch_db, "tx-a") == ""
            for other in (b, c):
                assert other.execute("SELECT pg_try_advisory_xact_lock(6160)").fetchone()[0] is True
                assert other.execute("SHOW work_mem").fetchone()[0] != "21MB"
                assert other.execute("SHOW transaction_isolation").fetchone()[0] == "read committed"
                assert not temp_table_visible(other, "tx_t")
            assert a.execute("SHOW work_mem").fetchone()[0] != "21MB"
            a.commit()
        assert pinned_metric(px, scratch_db) == 0
    px.assert_alive()


def test_with_hold_cursor_pins_until_closed_psycopg(pg, proxy, scratch_db):
    px = start_proxy(pg, proxy, size=2)
    with connect(px, scratch_db, application_name="cur-a") as a, \
            connect(px, scratch_db, application_name="cur-b") as b, \
            connect(px, scratch_db, application_name="cur-c") as c, \
            connect(px, scratch_db, autocommit=False, application_name="cur-h") as holder:
        a_pid = pid(a)
        a.execute("DECLARE pin_c CURSOR WITH HOLD FOR SELECT g FROM generate_series(1, 9) g")
        assert pinned_column(px, pg, scratch_db, "cur-a") == "WITH HOLD cursor"
        fetched = []
        for _ in range(3):
            fetched += [r[0] for r in a.execute("FETCH 3 FROM pin_c").fetchall()]
            assert pid(a) == a_pid
            for other in (b, c):
                assert pid(other) != a_pid
                with pytest.raises(psycopg.errors.InvalidCursorName):
                    other.execute("FETCH 1 FROM pin_c")
        assert fetched == list(range(1, 10))
        a.execute("CLOSE pin_c")
        wait_pinned_metric(px, scratch_db, 0)
        assert pinned_column(px, pg, scratch_db, "cur-a") == ""
        assert shares_a_server(holder, a, b)
    px.assert_alive()


def test_load_pins_until_disconnect_and_the_server_is_closed(pg, proxy, scratch_db):
    lib = os.path.join(subprocess.run([pg.bin("pg_config"), "--pkglibdir"], capture_output=True, text=True,
                                      check=True).stdout.strip(), "auto_explain.so")
    assert os.path.exists(lib), f"{lib} is part of PostgreSQL 15's server package"
    px = start_proxy(pg, proxy, size=2)
    # LOAD of a library outside $libdir/plugins needs a superuser.
    dsn = px.dsn(user=pg.superuser, password=pg.superuser_password, dbname=scratch_db)
    with psycopg.connect(dsn, autocommit=True, application_name="load-a") as a, \
            psycopg.connect(dsn, autocommit=True, application_name="load-b") as b:
        a_pid = pid(a)
        a.execute("LOAD 'auto_explain'")
        wait_pinned_metric(px, scratch_db, 1, user=pg.superuser)
        assert pinned_column(px, pg, scratch_db, "load-a") == "LOAD"
        for _ in range(3):
            assert pid(a) == a_pid
            assert pid(b) != a_pid
    # Nothing unloads a library: a's server is closed rather than handed to someone else.
    wait_for(lambda: a_pid not in server_pids(pg, scratch_db), 20, message=f"backend {a_pid} to go")
    wait_pinned_metric(px, scratch_db, 0, user=pg.superuser)
    assert re.search(r"left with LOAD: server \d+ is closed", px.log_text()), px.log_tail()
    px.assert_alive()


def test_session_authorization_pins_until_reset_and_never_leaks(pg, proxy, scratch_db):
    # A superuser login may change its session user; the next client of that pool must never run
    # as that user, and the proxy cannot set it again on another server: it pins.
    px = start_proxy(pg, proxy, size=2)
    dsn = px.dsn(user=pg.superuser, password=pg.superuser_password, dbname=scratch_db)
    whoami = "SELECT session_user, current_user"
    with psycopg.connect(dsn, autocommit=True, application_name="auth-a") as a, \
            psycopg.connect(dsn, autocommit=True, application_name="auth-b") as b, \
            psycopg.connect(dsn, autocommit=True, application_name="auth-c") as c:
        a_pid = pid(a)
        a.execute(f"SET SESSION AUTHORIZATION {pg.user}")
        wait_pinned_metric(px, scratch_db, 1, user=pg.superuser)
        assert pinned_column(px, pg, scratch_db, "auth-a") == "SET SESSION AUTHORIZATION"
        for _ in range(3):
            assert a.execute(whoami).fetchone() == (pg.user, pg.user)
            assert pid(a) == a_pid
            for other in (b, c):
                assert other.execute(whoami).fetchone() == (pg.superuser, pg.superuser)
                assert pid(other) != a_pid
        # RESET ALL leaves the session user (PostgreSQL's rule): still pinned.
        a.execute("RESET ALL")
        assert a.execute(whoami).fetchone() == (pg.user, pg.user)
        assert pinned_column(px, pg, scratch_db, "auth-a") == "SET SESSION AUTHORIZATION"
        a.execute("RESET SESSION AUTHORIZATION")
        wait_pinned_metric(px, scratch_db, 0, user=pg.superuser)
        assert re.search(rf"unpinned from server \d+ \(backend pid {a_pid}\): its SET SESSION "
                         r"AUTHORIZATION is gone", px.log_text()), px.log_tail()
        # SET ROLE is a setting: it follows a (on whichever server) and never reaches b or c.
        a.execute(f"SET ROLE {pg.user}")
        for _ in range(3):
            assert a.execute(whoami).fetchone() == (pg.superuser, pg.user)
            for other in (b, c):
                assert other.execute(whoami).fetchone() == (pg.superuser, pg.superuser)
        assert pinned_column(px, pg, scratch_db, "auth-a") == ""
        a.execute("RESET ROLE")
        # A change rolled back with its transaction pins nothing.
        with a.transaction():
            a.execute(f"SET SESSION AUTHORIZATION {pg.user}")
            assert a.execute(whoami).fetchone() == (pg.user, pg.user)
            raise psycopg.Rollback()
        assert a.execute(whoami).fetchone() == (pg.superuser, pg.superuser)
        assert pinned_column(px, pg, scratch_db, "auth-a") == ""
        assert pinned_metric(px, scratch_db, user=pg.superuser) == 0
    # A client leaving with a changed session user: its server is cleaned (DISCARD ALL resets
    # the session user) before anyone else gets it.
    with psycopg.connect(dsn, autocommit=True) as a:
        a_pid = pid(a)
        a.execute(f"SET SESSION AUTHORIZATION {pg.user}")
        wait_pinned_metric(px, scratch_db, 1, user=pg.superuser)
    wait_pinned_metric(px, scratch_db, 0, user=pg.superuser)
    with psycopg.connect(dsn, autocommit=True) as b, psycopg.connect(dsn, autocommit=True) as c:
        # Both servers in turn: neither runs as a's session user.
        holder = psycopg.connect(dsn, autocommit=False)
        try:
            holder.execute("SELECT 1")
            assert b.execute(whoami).fetchone() == (pg.superuser, pg.superuser)
            holder.commit()
            for conn in (b, c, holder):
                assert conn.execute(whoami).fetchone() == (pg.superuser, pg.superuser)
            holder.commit()
        finally:
            holder.close()
    px.assert_alive()


def test_statement_mode_pins_too(pg, proxy, scratch_db):
    px = start_proxy(pg, proxy, size=2, mode="statement")
    with connect(px, scratch_db) as a, connect(px, scratch_db) as b, connect(px, scratch_db) as c:
        a_pid = pid(a)
        a.execute("CREATE TEMP TABLE stmt_t AS SELECT 1 AS x")
        for _ in range(3):
            assert a.execute("SELECT x FROM stmt_t").fetchone()[0] == 1
            assert pid(a) == a_pid
            assert pid(b) != a_pid and pid(c) != a_pid
            assert not temp_table_visible(b, "stmt_t")
        assert pinned_metric(px, scratch_db) == 1
        a.execute("DISCARD TEMP")
        wait_pinned_metric(px, scratch_db, 0)
    px.assert_alive()


def test_pinned_idle_client_is_subject_to_client_idle_timeout(pg, proxy, scratch_db):
    # As in session mode: a pinned client idle between transactions holds a server, so
    # client_idle_timeout (not idle_transaction_timeout) applies; its server is cleaned for others.
    px = start_proxy(pg, proxy, size=1, client_idle_timeout="3s")
    a = connect(px, scratch_db)
    try:
        a_pid = pid(a)
        a.execute("CREATE TEMP TABLE idle_t (x int)")
        wait_pinned_metric(px, scratch_db, 1)
        wait_pinned_metric(px, scratch_db, 0)  # the timeout ended the client
        with pytest.raises(psycopg.OperationalError, match="client_idle_timeout"):
            a.execute("SELECT 1")
    finally:
        a.close()
    with connect(px, scratch_db) as b:
        assert pid(b) == a_pid
        assert not temp_table_visible(b, "idle_t")
    px.assert_alive()


def test_pinned_client_disconnect_cleans_the_server_for_the_next_client(pg, proxy, scratch_db):
    px = start_proxy(pg, proxy, size=1)
    with connect(px, scratch_db) as a:
        a_pid = pid(a)
        a.execute("CREATE TEMP TABLE left_behind (x int)")
        a.execute("SELECT pg_advisory_lock(77)")
        a.execute("DECLARE left_cursor CURSOR WITH HOLD FOR SELECT 1")
        wait_pinned_metric(px, scratch_db, 1)
    wait_pinned_metric(px, scratch_db, 0)
    with connect(px, scratch_db) as b:
        # The pool's only server, cleaned: the same backend without a's state.
        assert pid(b) == a_pid
        assert not temp_table_visible(b, "left_behind")
        assert own_advisory_locks(b) == 0
        with pytest.raises(psycopg.errors.InvalidCursorName):
            b.execute("FETCH 1 FROM left_cursor")
        # and b is not pinned by anything of a's.
        b.execute("SELECT 1")
        assert pinned_metric(px, scratch_db) == 0
    assert re.search(r"left with temporary table \"left_behind\", 1 session advisory lock, WITH HOLD cursor "
                     r"\"left_cursor\": server \d+ is cleaned with DISCARD ALL", px.log_text()), px.log_tail()
    px.assert_alive()


def test_node_postgres_temp_table_pins_and_does_not_leak(pg, proxy, scratch_db, node_pg):
    px = start_proxy(pg, proxy, size=1)
    script = r"""
const { Client } = require('pg');
(async () => {
  const a = new Client(), b = new Client();
  await a.connect(); await b.connect();
  const pid = async (c) => (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p;
  const out = {};
  out.before = [await pid(a), await pid(b)];   // pool of 1: the same backend
  await a.query('CREATE TEMP TABLE node_t (x int)');
  await a.query('INSERT INTO node_t VALUES ($1)', [5]);
  out.a_sum = (await a.query('SELECT sum(x)::int AS s FROM node_t')).rows[0].s;
  out.a_pid = await pid(a);
  await a.query('DROP TABLE node_t');           // unpinned at the end of this transaction
  out.b_sees = (await b.query("SELECT to_regclass('pg_temp.node_t') IS NOT NULL AS v")).rows[0].v;
  out.after = [await pid(a), await pid(b)];
  await a.end(); await b.end();
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""
    out = run_node(node_pg, script, px, pg, scratch_db)
    backend = out["before"][0]
    assert out == {"before": [backend, backend], "a_sum": 5, "a_pid": backend, "b_sees": False,
                   "after": [backend, backend]}, out
    assert re.search(r'pinned to server \d+ \(backend pid \d+\): temporary table "node_t"', px.log_text())
    px.assert_alive()


# ---------------------------------------------------------------------------------------------
# Error paths
# ---------------------------------------------------------------------------------------------

def test_pool_exhausted_by_pinned_clients_waiting_client_gets_query_wait_timeout(pg, proxy, scratch_db):
    px = start_proxy(pg, proxy, size=2, query_wait_timeout="2s")
    with connect(px, scratch_db) as a, connect(px, scratch_db) as b, connect(px, scratch_db) as c:
        a.execute("CREATE TEMP TABLE a_tmp (x int)")
        b.execute("SELECT pg_advisory_lock(99)")
        wait_pinned_metric(px, scratch_db, 2)
        # A raw client reads the whole ErrorResponse (libpq loses the SQLSTATE of a FATAL
        # followed at once by the end of the connection).
        waiter = RawConn(px.host, px.port).startup(pg.user, pg.password, scratch_db)
        try:
            waiter.send(query_message("SELECT 'never runs'"))
            waiting = re.compile(rf'^ouroboros_clients\{{database="{scratch_db}",user="ouro",state="waiting"\}} 1$',
                                 re.M)
            wait_for(lambda: waiting.search(scrape_text(px)), 20, message="the waiting client in the metrics")
            assert pinned_metric(px, scratch_db) == 2
            error, eof = waiter.read_until_eof_or_error(20)
            assert eof and error is not None, error
        finally:
            waiter.close()
        assert (error.get("S"), error.get("C")) == ("FATAL", "57014"), error
        assert error["M"] == "query_wait_timeout: no server connection became free within 2000ms", error
        assert error["D"] == (f"pool {scratch_db}/ouro has all 2 servers in use (2 kept by pinned clients, "
                              "see SHOW CLIENTS)"), error
        with pytest.raises(psycopg.OperationalError, match="query_wait_timeout"):
            c.execute("SELECT 'never runs either'")
        # The pinned clients are unaffected; once one lets go, others get servers again.
        assert a.execute("SELECT count(*) FROM a_tmp").fetchone()[0] == 0
        a.execute("DROP TABLE a_tmp")
        wait_pinned_metric(px, scratch_db, 1)
        with connect(px, scratch_db) as d:
            assert d.execute("SELECT 42").fetchone()[0] == 42
        b.execute("SELECT pg_advisory_unlock_all()")
        wait_pinned_metric(px, scratch_db, 0)
    px.assert_alive()


def test_refuse_mode_simple_and_extended_protocol(pg, proxy, scratch_db):
    px = start_proxy(pg, proxy, size=1, session_state="refuse")
    with pg.connect_super(scratch_db) as sup:
        sup.execute("CREATE TABLE kept (x int)")
        sup.execute(f"GRANT ALL ON kept TO {pg.user}")
    with connect(px, scratch_db, application_name="refused") as a:
        refused = [
            ("CREATE TEMP TABLE refused_t (x int)", "CREATE TABLE", 'a temporary table ("refused_t")'),
            ("SELECT pg_advisory_lock(31)", "SELECT", "a session advisory lock (key 31)"),
            ("DECLARE refused_c CURSOR WITH HOLD FOR SELECT 1", "DECLARE CURSOR",
             'a WITH HOLD cursor ("refused_c")'),
            # Allowed by PostgreSQL for one's own login name; refused here like any other pin.
            (f"SET SESSION AUTHORIZATION {pg.user}", "SET", "a changed session user"),
        ]
        for sql, command, state in refused:
            with pytest.raises(psycopg.errors.FeatureNotSupported) as failure:
                a.execute(sql)
            message = failure.value.diag.message_primary
            assert message == (f"{command} is not supported in transaction pooling mode with session_state: "
                               f"refuse: it would leave {state} that pins the connection to one server"), message
            assert failure.value.diag.sqlstate == "0A000"
            # The client continues normally, unpinned.
            assert a.execute("SELECT 1").fetchone()[0] == 1
        # Extended protocol (psycopg binds parameters server-side: Parse/Bind/Execute/Sync).
        with pytest.raises(psycopg.errors.FeatureNotSupported) as failure:
            a.execute("SELECT pg_advisory_lock(%s)", (32,))
        assert failure.value.diag.message_primary.startswith("SELECT is not supported in transaction pooling")
        assert a.execute("SELECT %s::int", (7,)).fetchone()[0] == 7
        # Inside a transaction block the refusal fails the block, as any error does in PostgreSQL.
        with psycopg.connect(px.dsn(dbname=scratch_db), autocommit=False) as t:
            t.execute("INSERT INTO kept VALUES (1)")
            with pytest.raises(psycopg.errors.FeatureNotSupported):
                t.execute("CREATE TEMP TABLE refused_in_block (x int)")
            assert t.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
            with pytest.raises(psycopg.errors.InFailedSqlTransaction):
                t.execute("SELECT 1")
            t.rollback()
            assert t.execute("SELECT count(*) FROM kept").fetchone()[0] == 0
            t.commit()
        # A refusal in the middle of a pipeline (one extended batch, one Sync): the batch fails
        # there and what ran before it in the batch is rolled back, as after any error.
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            with a.pipeline():
                a.execute("INSERT INTO kept VALUES (%s)", (2,))
                a.execute("SELECT pg_advisory_lock(%s)", (33,))
                a.execute("INSERT INTO kept VALUES (%s)", (3,))
        assert a.execute("SELECT count(*) FROM kept").fetchone()[0] == 0
        assert pinned_metric(px, scratch_db) == 0
        assert pinned_column(px, pg, scratch_db, "refused") == ""
        # Counted (and logged) as what the client got: 0A000, not the stand-in's syntax error.
        errors = scrape_text(px)
        labels = f'database="{scratch_db}",user="ouro"'
        assert f'ouroboros_errors_total{{{labels},sqlstate_class="other"}} 7\n' in errors, errors  # 0A: seven refusals
        assert f'ouroboros_errors_total{{{labels},sqlstate_class="42"}} 0\n' in errors, errors
    # Nothing reached the server: no temporary relation, no advisory lock, no cursor anywhere.
    with pg.connect_super(scratch_db) as sup:
        assert sup.execute("SELECT count(*) FROM pg_class WHERE relpersistence = 't' "
                           "AND relname LIKE 'refused%'").fetchone()[0] == 0
        assert sup.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").fetchone()[0] == 0
    px.assert_alive()


def test_refuse_mode_asyncpg(pg, proxy, scratch_db):
    px = start_proxy(pg, proxy, size=1, session_state="refuse")

    async def main():
        a = await asyncpg.connect(**asyncpg_args(px, pg, scratch_db))
        b = await asyncpg.connect(**asyncpg_args(px, pg, scratch_db))
        try:
            with pytest.raises(asyncpg.exceptions.FeatureNotSupportedError) as failure:
                await a.fetchval("SELECT pg_advisory_lock($1)", 5)  # extended protocol
            assert "SELECT is not supported in transaction pooling mode" in str(failure.value)
            with pytest.raises(asyncpg.exceptions.FeatureNotSupportedError) as failure:
                await a.execute("CREATE TEMP TABLE refused_async (x int)")  # simple protocol
            assert 'a temporary table ("refused_async")' in str(failure.value)
            # Both clients go on sharing the pool's one server.
            assert await a.fetchval("SELECT $1::int + 1", 1) == 2
            assert await b.fetchval("SELECT pg_backend_pid()") == await a.fetchval("SELECT pg_backend_pid()")
            assert await b.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())
    assert pinned_metric(px, scratch_db) == 0
    px.assert_alive()


def test_pinned_clients_server_terminated(pg, proxy, scratch_db):
    px = start_proxy(pg, proxy, size=1)
    with connect(px, scratch_db, application_name="lost-a") as a:
        a_pid = pid(a)
        a.execute("CREATE TEMP TABLE lost_t (x int)")
        wait_pinned_metric(px, scratch_db, 1)
        with pg.connect_super() as sup:
            assert sup.execute("SELECT pg_terminate_backend(%s)", (a_pid,)).fetchone()[0] is True
        wait_for(lambda: re.search(r"unpinned: server \d+ was lost", px.log_text()), 20,
                 message="the proxy to notice the loss")
        wait_pinned_metric(px, scratch_db, 0)
        assert pinned_column(px, pg, scratch_db, "lost-a") == ""
        # The client hears of it at its next request, which does not run...
        with pytest.raises(psycopg.OperationalError) as failure:
            a.execute("INSERT INTO lost_t VALUES (1)")
        assert failure.value.diag.sqlstate == "08006"
        assert "was pinned to was lost" in failure.value.diag.message_primary
        assert 'temporary table "lost_t"' in failure.value.diag.message_detail
        # ... and then continues on a new server, without the lost state, unpinned.
        assert not a.closed
        assert pid(a) != a_pid
        assert not temp_table_visible(a, "lost_t")
        a.execute("SELECT 1")
        assert pinned_metric(px, scratch_db) == 0
    px.assert_alive()


def test_pinned_clients_server_closed_when_its_state_cannot_be_read(pg, proxy, scratch_db):
    # A try-lock leaves it open whether the client still holds advisory locks: the proxy reads the
    # count back at the transaction's end. When that read fails (here: pg_lock_status() revoked
    # from the pool's role), the server is closed, and the lock with it: the pinned client must
    # hear so at its next request, as when its server is lost, not carry on without its lock.
    with pg.connect_super(dbname=scratch_db) as sup:
        sup.execute("REVOKE EXECUTE ON FUNCTION pg_catalog.pg_lock_status() FROM PUBLIC")
    px = start_proxy(pg, proxy, size=1)
    with connect(px, scratch_db, application_name="readback-a") as a:
        a_pid = pid(a)
        a.execute("SELECT pg_advisory_lock(4343)")
        wait_pinned_metric(px, scratch_db, 1)
        assert a.execute("SELECT pg_try_advisory_lock(4344)").fetchone()[0] is True
        wait_for(lambda: "reading back session settings failed" in px.log_text(), 20,
                 message="the failed read-back")
        wait_for(lambda: re.search(r"unpinned: server \d+ was lost \(reading back its session state "
                                   r"failed\)", px.log_text()), 20, message="the client to be unpinned")
        with pytest.raises(psycopg.OperationalError) as failure:
            a.execute("SELECT 1")
        assert failure.value.diag.sqlstate == "08006"
        assert "was pinned to was lost" in failure.value.diag.message_primary
        assert "advisory lock" in failure.value.diag.message_detail
        # Then on a new server, without the lock (it went with the closed server).
        assert pid(a) != a_pid
        with pg.connect_super(dbname=scratch_db) as sup:
            assert sup.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                               "AND objid IN (4343, 4344)").fetchone()[0] == 0
        assert pinned_metric(px, scratch_db) == 0
    px.assert_alive()
