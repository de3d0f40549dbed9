"""Transaction and statement pooling through the proxy: many clients on few servers, startup
parameters following clients from server to server, cancel requests, a client killed inside a
transaction, and statement mode refusing transaction blocks."""
import asyncio
import select
import signal
import subprocess
import sys
import threading

import asyncpg
import psycopg
import pytest

from ouro_testlib import ConnectionClosed, RawConn, parse_fields, query_message, wait_for
from pooling_helpers import (Runner, connect, no_open_transactions, scratch_db,  # noqa: F401
                             server_backends, server_pids, wait_running)

TX = {"mode": "transaction"}


# ---------------------------------------------------------------------------------------------
# 1. Many clients, few servers
# ---------------------------------------------------------------------------------------------

def test_200_clients_share_10_servers(pg, proxy, scratch_db):
    clients, transactions, pool_size = 200, 3, 10
    # 200 logins at once on a loaded machine (or under ASan) can take minutes: the test is about
    # pooling, so the login and wait limits are far from anything it should meet.
    px = proxy(pool={"mode": "transaction", "size": pool_size, "query_wait_timeout": "300s"},
               limits={"max_client_connections": 1000},
               timeouts={"client_login_timeout": "300s", "server_connect_timeout": "15s"})
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE hits (client int, i int, pid int)")

    stop = threading.Event()

    def sample():
        counts = []
        with pg.connect_super() as conn:
            while not stop.is_set():
                counts.append(len(server_backends(pg, scratch_db, conn)))
                stop.wait(0.005)
        return counts

    async def client(n):
        conn = await asyncpg.connect(host=px.host, port=px.port, user=pg.user,
                                     password=pg.password, database=scratch_db,
                                     statement_cache_size=0, timeout=300)
        try:
            pids = set()
            for i in range(transactions):
                async with conn.transaction():
                    pid = await conn.fetchval("SELECT pg_backend_pid()")
                    await conn.execute("SELECT pg_sleep(0.01)")
                    await conn.execute("INSERT INTO hits VALUES ($1, $2, $3)", n, i, pid)
                    # Same server for the whole transaction.
                    assert await conn.fetchval("SELECT pg_backend_pid()") == pid
                pids.add(pid)
            assert await conn.fetchval("SELECT $1::int * 2", n) == 2 * n
            return pids
        finally:
            await conn.close()

    async def load():
        return await asyncio.gather(*(client(n) for n in range(clients)))

    sampler = Runner(sample, name="pg_stat_activity sampler")
    sampler.start()
    try:
        results = asyncio.run(load())
    finally:
        stop.set()
    counts = sampler.join_result(30)

    all_pids = set().union(*results)
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        assert conn.execute("SELECT count(*), count(DISTINCT client) FROM hits").fetchone() == \
            (clients * transactions, clients)
        seen = {r[0] for r in conn.execute("SELECT DISTINCT pid FROM hits").fetchall()}
    assert counts, "no pg_stat_activity samples were taken"
    assert max(counts) <= pool_size, f"up to {max(counts)} server connections for a pool of " \
                                     f"{pool_size}"
    assert 1 <= len(seen) <= pool_size, f"{len(seen)} distinct server pids for a pool of {pool_size}"
    assert all_pids == seen
    px.assert_alive()


# ---------------------------------------------------------------------------------------------
# 5. Startup parameters follow the client
# ---------------------------------------------------------------------------------------------

SETTINGS_SQL = ("SELECT current_setting('TimeZone'), current_setting('application_name'), "
                "current_setting('DateStyle'), current_setting('search_path'), pg_backend_pid()")


def direct_settings(pg, dbname, params):
    """What PostgreSQL itself shows a client that logs in with these startup parameters."""
    with RawConn(pg.host, pg.port) as raw:
        raw.startup(pg.user, pg.password, dbname, params=params)
        return raw.simple_query(SETTINGS_SQL)[0][:4]


class ParamClients:
    """Clients of one pool (size 1, transaction mode) with their own startup parameters: raw
    protocol clients for the names in `raw`, a psycopg client for `psycopg`. Each client's
    expected settings are what PostgreSQL shows a direct connection with the same startup
    packet."""

    def __init__(self, pg, px, dbname, raw, psycopg_params=None):
        self.want = {name: direct_settings(pg, dbname, p) for name, p in raw.items()}
        self.clients = {}
        for name, params in raw.items():
            self.clients[name] = RawConn(px.host, px.port).startup(pg.user, pg.password, dbname,
                                                                   params=params)
        if psycopg_params is not None:
            self.want["psycopg"] = direct_settings(pg, dbname, psycopg_params)
            self.clients["psycopg"] = connect(px, dbname, **psycopg_params)
        self.pids = set()

    def check(self, name):
        client = self.clients[name]
        if isinstance(client, RawConn):
            row = client.simple_query(SETTINGS_SQL)[0]
        else:
            row = [str(v) for v in client.execute(SETTINGS_SQL).fetchone()]
        assert row[:4] == self.want[name], \
            f"client {name} sees {row[:4]}, expected {self.want[name]} (what PostgreSQL shows " \
            f"it directly)"
        self.pids.add(row[4])

    def rounds(self, order, n=3):
        for _ in range(n):
            for name in order:
                self.check(name)
        assert len(self.pids) == 1, f"pool size 1 but clients ran on servers {self.pids}"

    def close(self):
        for client in self.clients.values():
            if isinstance(client, RawConn):
                client.terminate()
            else:
                client.close()


def test_startup_parameters_follow_clients_across_servers(pg, proxy, scratch_db):
    """Clients with different startup parameters take turns on the one server; each sees its
    own values, and a parameter it did not send has the server default, not the value another
    client brought."""
    px = proxy(pool={"mode": "transaction", "size": 1, "query_wait_timeout": "30s"})
    raw = {
        "a": {"application_name": "client_a", "TimeZone": "America/New_York",
              "DateStyle": "SQL, DMY"},
        "b": {"application_name": "client_b", "TimeZone": "Asia/Tokyo"},
    }
    clients = ParamClients(pg, px, scratch_db, raw,
                           {"application_name": "client_c", "options": "-c TimeZone=Europe/Paris"})
    try:
        a, b = clients.clients["a"], clients.clients["b"]
        # The login reports the client's own values, not those of the server it borrowed.
        assert a.parameters.get("application_name") == "client_a", a.parameters
        assert a.parameters.get("TimeZone") == "America/New_York", a.parameters
        assert a.parameters.get("DateStyle") == "SQL, DMY", a.parameters
        assert b.parameters.get("application_name") == "client_b", b.parameters
        assert b.parameters.get("TimeZone") == "Asia/Tokyo", b.parameters
        assert clients.clients["psycopg"].info.parameter_status("TimeZone") == "Europe/Paris"
        clients.rounds(("a", "b", "psycopg", "b", "a"))
    finally:
        clients.close()
    px.assert_alive()


def test_client_set_of_reported_parameter_is_reapplied(pg, proxy, scratch_db):
    px = proxy(pool={"mode": "transaction", "size": 1, "query_wait_timeout": "30s"})
    raw = {
        "a": {"application_name": "client_a", "TimeZone": "America/New_York"},
        "b": {"application_name": "client_b", "TimeZone": "Asia/Tokyo"},
    }
    clients = ParamClients(pg, px, scratch_db, raw,
                           {"application_name": "client_c", "options": "-c TimeZone=Europe/Paris"})
    try:
        a, b, c = clients.clients["a"], clients.clients["b"], clients.clients["psycopg"]
        clients.rounds(("a", "b", "psycopg"), n=1)
        b.simple_query("SET application_name = 'client_b2'")
        clients.want["b"][1] = "client_b2"
        a.simple_query("SET TimeZone = 'UTC'")
        clients.want["a"][0] = "UTC"
        c.execute("SET application_name TO 'client_c2'")
        clients.want["psycopg"][1] = "client_c2"
        clients.rounds(("a", "b", "psycopg", "a", "psycopg", "b"))
        # ... also a SET made inside an explicit transaction that commits.
        b.simple_query("BEGIN; SET TimeZone = 'Australia/Sydney'; COMMIT")
        clients.want["b"][0] = "Australia/Sydney"
        clients.rounds(("a", "b", "psycopg", "b"))
    finally:
        clients.close()
    px.assert_alive()


def test_search_path_from_startup_options_follows_client(pg, proxy, scratch_db):
    px = proxy(pool={"mode": "transaction", "size": 1, "query_wait_timeout": "30s"})
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE SCHEMA schema_a")
        conn.execute("CREATE TABLE schema_a.only_in_a (v text)")
        conn.execute("INSERT INTO schema_a.only_in_a VALUES ('found via search_path')")
    raw = {
        "a": {"application_name": "client_a", "options": "-c search_path=schema_a,public"},
        "b": {"application_name": "client_b"},
    }
    clients = ParamClients(pg, px, scratch_db, raw)
    try:
        assert clients.want["a"][3] == "schema_a,public", clients.want
        clients.rounds(("a", "b", "a", "b"))
        assert clients.clients["a"].simple_query("SELECT v FROM only_in_a") == \
            [["found via search_path"]]
    finally:
        clients.close()
    px.assert_alive()


# ---------------------------------------------------------------------------------------------
# 6. Cancel in transaction mode
# ---------------------------------------------------------------------------------------------

def test_cancel_reaches_the_server_the_client_uses_now(pg, proxy, scratch_db):
    px = proxy(pool={"mode": "transaction", "size": 4})
    victim = connect(px, scratch_db)
    bystander = connect(px, scratch_db)
    other = connect(px, scratch_db)
    try:
        # Move the victim across servers first so its cancel key cannot be tied to one server.
        held = connect(px, scratch_db, autocommit=False)
        held.execute("SELECT pg_backend_pid()")
        assert victim.execute("SELECT 1").fetchone() == (1,)
        held.rollback()
        held.close()

        # The bystander runs until the test opens its gate (an advisory lock the test holds),
        # so it is running for certain while the victim's cancel goes through.
        gate_key = 7_340_201
        gate = pg.connect_super(scratch_db)
        gate.execute("SELECT pg_advisory_lock(%s)", (gate_key,))
        sleeper = Runner(lambda: victim.execute("SELECT pg_sleep(30), 'victim'").fetchone(),
                         name="victim")
        slow = Runner(lambda: bystander.execute(
            f"SELECT pg_advisory_xact_lock_shared({gate_key}), 'bystander'").fetchone()[1],
            name="bystander")
        try:
            sleeper.start()
            slow.start()
            wait_running(pg, scratch_db, "pg_sleep(30)")
            wait_running(pg, scratch_db, "pg_advisory_xact_lock_shared")
            victim.cancel()
            with pytest.raises(psycopg.errors.QueryCanceled) as exc:
                sleeper.join_result(30)
            assert exc.value.sqlstate == "57014"
            assert victim.execute("SELECT 1").fetchone() == (1,)
            assert other.execute("SELECT 'other'").fetchone() == ("other",)
            gate.execute("SELECT pg_advisory_unlock(%s)", (gate_key,))
            assert slow.join_result(30) == "bystander"
        finally:
            gate.close()
        # The cancelled client goes on.
        assert victim.execute("SELECT 2").fetchone() == (2,)
        assert bystander.execute("SELECT 3").fetchone() == (3,)
    finally:
        for conn in (victim, bystander, other):
            conn.close()
    px.assert_alive()


# ---------------------------------------------------------------------------------------------
# 7. Client killed inside a transaction
# ---------------------------------------------------------------------------------------------

CHILD = r"""
import sys, psycopg
conn = psycopg.connect(sys.argv[1], prepare_threshold=None)
conn.execute("SELECT id FROM victim WHERE id = 1 FOR UPDATE")
print(conn.execute("SELECT pg_backend_pid()").fetchone()[0], flush=True)
sys.stdin.read()  # hold the transaction open until killed
"""


def test_killed_client_transaction_is_rolled_back_and_server_reused(pg, proxy, scratch_db):
    px = proxy(pool={"mode": "transaction", "size": 1, "query_wait_timeout": "30s"})
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE victim (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO victim VALUES (1, 'a')")
    child = subprocess.Popen([sys.executable, "-c", CHILD, px.dsn(dbname=scratch_db)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ready, _, _ = select.select([child.stdout], [], [], 30)
        assert ready, "child did not report its server pid"
        line = child.stdout.readline().decode().strip()
        assert line.isdigit(), (line, child.stderr.read() if child.poll() is not None else "")
        server_pid = int(line)
        assert [r[1] for r in server_backends(pg, scratch_db) if r[0] == server_pid] == \
            ["idle in transaction"]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        for f in (child.stdin, child.stdout, child.stderr):
            f.close()

    # The only server comes back to the pool, rolled back: another client gets it and the lock.
    with connect(px, scratch_db, autocommit=False) as conn:
        conn.execute("SET LOCAL lock_timeout = '10s'")
        assert conn.execute("SELECT v FROM victim WHERE id = 1 FOR UPDATE").fetchone() == ("a",)
        assert conn.execute("SELECT pg_backend_pid()").fetchone() == (server_pid,), \
            "the server was not reused (closed instead of rolled back and returned to the pool)"
        conn.rollback()
    assert server_pids(pg, scratch_db) == {server_pid}
    px.assert_alive()


# ---------------------------------------------------------------------------------------------
# 8. Statement mode
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["pool", "database", "user"])
def test_statement_mode_refuses_transaction_blocks(pg, proxy, scratch_db, where):
    backend = {"host": pg.host, "port": pg.port}
    if where == "pool":
        px = proxy(pool={"mode": "statement", "size": 2})
    elif where == "database":
        px = proxy(pool={"mode": "session", "size": 2},
                   databases={scratch_db: dict(backend, pool={"mode": "statement"})})
    else:
        px = proxy(pool={"mode": "session", "size": 2},
                   auth={"users": {pg.user: {"password": pg.password, "pool_mode": "statement"}}})
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE t (i int)")

    # Exact bytes first: the answer to BEGIN must be the error, not "BEGIN" + ReadyForQuery('T'),
    # and the session carries on in autocommit.
    with RawConn(px.host, px.port) as raw:
        raw.startup(pg.user, pg.password, scratch_db)
        assert raw.simple_query("SELECT 1") == [["1"]]
        raw.send(query_message("BEGIN"))
        answer = []
        while not answer or answer[-1][0] != b"Z":
            answer.append(raw.read_message())
        errors = [parse_fields(payload) for mtype, payload in answer if mtype == b"E"]
        assert [(e.get("S"), e.get("C")) for e in errors] == [("ERROR", "0A000")], answer
        assert answer[-1] == (b"Z", b"I"), \
            f"the client was told its transaction block started before being refused: {answer}"
        assert raw.simple_query("SELECT 2") == [["2"]]

    with connect(px, scratch_db) as conn:
        for i in range(3):
            conn.execute("INSERT INTO t VALUES (%s)", (i,))
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (i + 1,)
        with pytest.raises(psycopg.Error) as exc:
            conn.execute("BEGIN")
        assert exc.value.sqlstate == "0A000", exc.value
    with connect(px, scratch_db, autocommit=False) as conn:  # psycopg's implicit BEGIN
        with pytest.raises(psycopg.Error) as exc:
            conn.execute("INSERT INTO t VALUES (100)")
        assert exc.value.sqlstate == "0A000", exc.value
    wait_for(lambda: no_open_transactions(pg, scratch_db), 20,
             message="no server left idle in transaction")
    with connect(px, scratch_db) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (3,)
    if where == "database":  # other databases keep the session mode
        with px.connect(autocommit=False) as conn:
            conn.execute("SELECT 1")
            conn.commit()
    px.assert_alive()
