"""The admin console (virtual database "ouroboros", docs/admin-console.md) through psql and raw
protocol clients: the documented columns of every SHOW table, PAUSE/RESUME holding and releasing
a client, RECONNECT replacing server connections, KILL dropping a database's clients,
permissions (admin users, read-only stats users, everyone else refused at connect), error
SQLSTATEs and odd input that must not hurt the proxy."""
import os
import re
import subprocess

import psycopg
import pytest

from ouro_testlib import (RawConn, ServerError, connect_error_sqlstate, message, raw_connect,
                          wait_for)
from pooling_helpers import (Runner, connect, rewrite_config, scratch_db,  # noqa: F401
                             server_backends)

NOBODY, NOBODY_PW = "obs_nobody", "nobody_pw"

COLUMNS = {
    "SHOW POOLS": "database user cl_active cl_waiting cl_active_cancel_req cl_waiting_cancel_req "
                  "sv_active sv_active_cancel sv_being_canceled sv_idle sv_used sv_tested "
                  "sv_login maxwait maxwait_us pool_mode cl_idle paused reachable "
                  "backoff_delay_ms",
    "SHOW CLIENTS": "type user database state addr port local_addr local_port connect_time "
                    "request_time wait wait_us close_needed ptr link remote_pid tls "
                    "application_name id tls_version tls_cipher pinned",
    "SHOW STATS": "database total_xact_count total_query_count total_received total_sent "
                  "total_xact_time total_query_time total_wait_time avg_xact_count "
                  "avg_query_count avg_recv avg_sent avg_xact_time avg_query_time "
                  "avg_wait_time total_server_connect_attempts total_server_connect_failures",
    "SHOW STATS_TOTALS": "database xact_count query_count bytes_received bytes_sent xact_time "
                         "query_time wait_time",
    "SHOW STATS_AVERAGES": "database xact_count query_count bytes_received bytes_sent "
                           "xact_time query_time wait_time",
    "SHOW DATABASES": "name host port database force_user pool_size min_pool_size "
                      "reserve_pool pool_mode max_connections current_connections paused "
                      "disabled",
    "SHOW CONFIG": "key value default changeable",
    "SHOW VERSION": "version",
    "SHOW QUERIES": "fingerprint calls errors rows total_time_ms mean_time_ms max_time_ms",
}
COLUMNS["SHOW SERVERS"] = COLUMNS["SHOW CLIENTS"]


@pytest.fixture
def admin_proxy(pg, proxy):
    """A transaction-mode proxy whose admin users are the cluster's superuser (admin) and ouro
    (stats); obs_nobody may log in to databases but is in neither admin list."""
    def start(**overrides):
        settings = {
            "pool": {"mode": "transaction", "size": 4, "query_wait_timeout": "60s"},
            "auth": {"users": {pg.user: {"password": pg.password},
                               pg.superuser: {"password": pg.superuser_password},
                               NOBODY: {"password": NOBODY_PW}}},
            "admin": {"users": [pg.superuser], "stats_users": [pg.user]},
        }
        settings.update(overrides)
        return proxy(**settings)
    return start


def password_of(pg, user):
    return {pg.superuser: pg.superuser_password, pg.user: pg.password, NOBODY: NOBODY_PW}[user]


def psql(px, pg, sql, user=None, check=True):
    """Runs sql on the admin console with psql; returns the CompletedProcess."""
    user = user or pg.superuser
    password = password_of(pg, user)
    proc = subprocess.run([pg.bin("psql"), "-X", "-A", "-F", "|", "-v", "VERBOSITY=verbose",
                           "-h", px.host, "-p", str(px.port), "-U", user, "ouroboros",
                           "-c", sql],
                          env=dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="10"),
                          capture_output=True, text=True, timeout=60)
    if check:
        assert proc.returncode == 0, f"psql -c {sql!r}: {proc.stderr}\n{px.log_tail()}"
    return proc


def table(px, pg, sql, user=None):
    """(header, [row dicts]) of one SHOW through psql -A -F '|'."""
    lines = psql(px, pg, sql, user).stdout.splitlines()
    assert lines and re.fullmatch(r"\(\d+ rows?\)", lines[-1]), lines
    header = lines[0].split("|")
    rows = [dict(zip(header, line.split("|"))) for line in lines[1:-1]]
    assert all(len(line.split("|")) == len(header) for line in lines[1:-1]), lines
    return header, rows


def pool_row(px, pg, dbname):
    rows = [r for r in table(px, pg, "SHOW POOLS")[1] if r["database"] == dbname]
    return rows[0] if rows else None


def admin_raw(px, pg, user=None):
    user = user or pg.superuser
    password = password_of(pg, user)
    return raw_connect(px, user=user, password=password, dbname="ouroboros")


def sqlstate_of(raw, sql):
    with pytest.raises(ServerError) as info:
        raw.simple_query(sql)
    return info.value.sqlstate


def test_show_commands_have_their_documented_columns(pg, admin_proxy, scratch_db):
    px = admin_proxy()
    busy = connect(px, scratch_db, autocommit=False, application_name="obs-busy")
    try:
        pid = busy.execute("SELECT pg_backend_pid()").fetchone()[0]  # holds a server (in a tx)
        for sql, columns in COLUMNS.items():
            header, _ = table(px, pg, sql)
            assert header == columns.split(), f"{sql}: {header}"

        pool = pool_row(px, pg, scratch_db)
        assert pool is not None
        assert (pool["user"], pool["pool_mode"], pool["paused"], pool["reachable"]) == \
            ("ouro", "transaction", "f", "t"), pool
        assert int(pool["cl_active"]) >= 1 and int(pool["sv_active"]) == 1, pool

        _, servers = table(px, pg, "SHOW SERVERS")
        mine = [s for s in servers if s["database"] == scratch_db]
        assert [(s["type"], s["state"], int(s["remote_pid"])) for s in mine] == \
            [("S", "active", pid)], servers
        _, clients = table(px, pg, "SHOW CLIENTS")
        client = [c for c in clients if c["application_name"] == "obs-busy"]
        assert len(client) == 1, clients
        client = client[0]
        assert (client["type"], client["state"], client["database"], client["user"]) == \
            ("C", "active", scratch_db, "ouro"), client
        # A linked client and server point at each other.
        assert client["link"] == mine[0]["ptr"] and mine[0]["link"] == client["ptr"], \
            (client, mine)
        assert int(client["ptr"], 16) == int(client["id"]), client
        busy.commit()

        _, stats = table(px, pg, "SHOW STATS")
        row = [r for r in stats if r["database"] == scratch_db]
        assert len(row) == 1 and int(row[0]["total_xact_count"]) >= 1, stats
        assert int(row[0]["total_query_count"]) >= 1 and int(row[0]["total_received"]) > 0, row

        _, databases = table(px, pg, "SHOW DATABASES")
        names = {r["name"]: r for r in databases}
        assert pg.dbname in names and "*" in names, databases
        assert names[pg.dbname]["pool_mode"] == "transaction", names[pg.dbname]
        assert int(names[pg.dbname]["port"]) == pg.port, names[pg.dbname]

        config_text = psql(px, pg, "SHOW CONFIG").stdout
        _, config = table(px, pg, "SHOW CONFIG")
        settings = {r["key"]: r["value"] for r in config}
        assert settings.get("pool.mode") == "transaction", settings
        for secret in (pg.password, pg.superuser_password, NOBODY_PW):
            assert secret not in config_text, f"SHOW CONFIG shows a password: {config_text}"

        _, version = table(px, pg, "SHOW VERSION")
        assert len(version) == 1 and "ouroboros" in version[0]["version"].lower(), version

        _, queries = table(px, pg, "SHOW QUERIES")
        assert any(q["fingerprint"] == "select pg_backend_pid()" and int(q["calls"]) >= 1
                   for q in queries), queries

        help_ = psql(px, pg, "SHOW HELP")
        assert "SHOW POOLS" in help_.stderr + help_.stdout, help_
        # Keywords are case-insensitive, a trailing semicolon and comments are fine.
        assert table(px, pg, "show version; -- comment")[0] == ["version"]
    finally:
        busy.close()


def test_pause_holds_a_new_transaction_until_resume(pg, admin_proxy, scratch_db):
    px = admin_proxy()
    with connect(px, scratch_db) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
        psql(px, pg, f"PAUSE {scratch_db}")
        assert pool_row(px, pg, scratch_db)["paused"] == "t"
        held = Runner(lambda: conn.execute("SELECT 'after resume'").fetchone()[0],
                      name="paused client")
        held.start()
        wait_for(lambda: pool_row(px, pg, scratch_db)["cl_waiting"] == "1", 20,
                 message="the client to wait in the paused pool")
        assert held.is_alive(), "the query ran although the database is paused"
        # Nothing of it reached PostgreSQL.
        assert not [r for r in server_backends(pg, scratch_db) if "after resume" in (r[2] or "")]
        psql(px, pg, f"RESUME {scratch_db}")
        assert held.join_result(30) == "after resume"
        row = pool_row(px, pg, scratch_db)
        assert (row["paused"], row["cl_waiting"]) == ("f", "0"), row


def test_reconnect_replaces_server_connections(pg, admin_proxy, scratch_db):
    px = admin_proxy()
    with connect(px, scratch_db) as idle_client, \
            connect(px, scratch_db, autocommit=False) as busy_client:
        busy_pid = busy_client.execute("SELECT pg_backend_pid()").fetchone()[0]  # in a tx
        idle_pid = idle_client.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert idle_pid != busy_pid
        remote = {int(s["remote_pid"]) for s in table(px, pg, "SHOW SERVERS")[1]
                  if s["database"] == scratch_db}
        assert remote == {idle_pid, busy_pid}, remote

        psql(px, pg, f"RECONNECT {scratch_db}")
        # The running transaction keeps its server until it ends.
        assert busy_client.execute("SELECT pg_backend_pid()").fetchone()[0] == busy_pid
        busy_client.commit()
        wait_for(lambda: not ({idle_pid, busy_pid} & {r[0] for r in
                                                      server_backends(pg, scratch_db)}),
                 20, message="the old server connections to be closed")
        new_pids = {idle_client.execute("SELECT pg_backend_pid()").fetchone()[0],
                    busy_client.execute("SELECT pg_backend_pid()").fetchone()[0]}
        busy_client.commit()
        assert not new_pids & {idle_pid, busy_pid}, new_pids
        remote = {int(s["remote_pid"]) for s in table(px, pg, "SHOW SERVERS")[1]
                  if s["database"] == scratch_db}
        assert not remote & {idle_pid, busy_pid}, remote


def test_kill_drops_the_clients_of_a_database(pg, admin_proxy, scratch_db):
    px = admin_proxy()
    victims = [connect(px, scratch_db, application_name="obs-victim") for _ in range(2)]
    victims.append(connect(px, scratch_db, autocommit=False, application_name="obs-victim"))
    bystander = connect(px, pg.dbname, application_name="obs-bystander")
    try:
        for conn in victims + [bystander]:
            conn.execute("SELECT 1").fetchall()  # the third stays in a transaction
        psql(px, pg, f"KILL {scratch_db}")
        wait_for(lambda: not [c for c in table(px, pg, "SHOW CLIENTS")[1]
                              if c["database"] == scratch_db], 20,
                 message="the killed database's clients to be gone from SHOW CLIENTS")
        for conn in victims:
            with pytest.raises(psycopg.OperationalError):
                conn.execute("SELECT 1").fetchall()
        wait_for(lambda: not server_backends(pg, scratch_db), 20,
                 message="KILL to close the database's server connections")
        # Other databases are untouched.
        assert bystander.execute("SELECT 'still here'").fetchone() == ("still here",)
        # The killed database stays paused until RESUME (as in PgBouncer).
        assert pool_row(px, pg, scratch_db)["paused"] == "t"
        psql(px, pg, f"RESUME {scratch_db}")
        with connect(px, scratch_db) as again:
            assert again.execute("SELECT 'back'").fetchone() == ("back",)
    finally:
        for conn in victims + [bystander]:
            conn.close()


def test_permissions(pg, admin_proxy):
    px = admin_proxy()
    # A user in auth.users but in neither admin list: refused at connect.
    assert connect_error_sqlstate(px.host, px.port, NOBODY, NOBODY_PW, "ouroboros") == "42501"
    # ... although it may use ordinary databases (the console is the only thing refused).
    assert connect_error_sqlstate(px.host, px.port, NOBODY, NOBODY_PW, "obs_nowhere") != "42501"
    # psql reports the refusal too.
    proc = psql(px, pg, "SHOW POOLS", user=NOBODY, check=False)
    # (libpq does not print a connection error's SQLSTATE; asyncpg above saw 42501.)
    assert proc.returncode != 0 and "permission denied for the admin console" in proc.stderr, \
        proc.stderr

    stats = admin_raw(px, pg, user=pg.user)
    try:
        assert stats.simple_query("SHOW VERSION")
        for command in ("PAUSE", f"PAUSE {pg.dbname}", "RESUME", "RECONNECT",
                        f"KILL {pg.dbname}", "RELOAD", "SHUTDOWN"):
            assert sqlstate_of(stats, command) == "42501", command
        # Checked as a whole: a refused command anywhere runs nothing.
        assert sqlstate_of(stats, "SHOW VERSION; PAUSE") == "42501"
        assert stats.simple_query("SHOW POOLS") is not None
    finally:
        stats.terminate()
    proc = psql(px, pg, "PAUSE", user=pg.user, check=False)
    assert proc.returncode != 0 and "42501" in proc.stderr, proc.stderr
    # Nothing was paused by the refused commands.
    assert all(r["paused"] == "f" for r in table(px, pg, "SHOW POOLS")[1])
    px.assert_alive()


def test_errors_and_odd_input(pg, admin_proxy):
    px = admin_proxy(databases={"*": None})  # only configured names exist
    proc = psql(px, pg, "FROBNICATE", check=False)
    assert proc.returncode != 0 and "42601" in proc.stderr, proc.stderr
    raw = admin_raw(px, pg)
    try:
        for sql in ("FROBNICATE", "SHOW NOPE", "SHOW LISTS", "SHOW", "KILL", "SHOW POOLS extra",
                    "PAUSE a b", 'PAUSE "unterminated', "SET x = 1", "SHOW POOLS; FOO"):
            assert sqlstate_of(raw, sql) == "42601", sql
        assert sqlstate_of(raw, "PAUSE obs_nonexistent_db") == "55000"
        assert sqlstate_of(raw, "KILL obs_nonexistent_db") == "55000"
        # An error while running stops the statements after it; the ones before took effect.
        with connect(px, pg.dbname) as conn:  # the pool exists
            conn.execute("SELECT 1").fetchall()
        assert sqlstate_of(raw, f"PAUSE {pg.dbname}; RESUME obs_nonexistent_db; "
                                f"RESUME {pg.dbname}") == "55000"
        paused = [r for r in raw.simple_query("SHOW DATABASES") if r[0] == pg.dbname]
        assert paused and paused[0][11] == "1", paused
        raw.simple_query(f"RESUME {pg.dbname}")
        assert sqlstate_of(raw, "SHOW VERSION;" * 101) == "54000"
        # An empty query answers EmptyQueryResponse: no rows, no error.
        for sql in ("", ";", " ;; ", "-- only a comment", "/* c */"):
            assert raw.simple_query(sql) == [], sql
        odd = ["/* unterminated", "SHOW /* nested /* */ */ VERSION", "\x01\x02\x7f", "é" * 300,
               'PAUSE "' + "x" * 300 + '"', "SHOW " * 2000, "'", '"', "$$", "SHOW VERSION\\",
               "PAUSE \"a\"\"b\"", "show\tpools\n;", "\u202eSHOW POOLS", "SHOW " + "(" * 500]
        for sql in odd:
            try:
                raw.simple_query(sql)
            except ServerError as e:
                assert e.sqlstate in ("42601", "55000", "54000"), (sql[:40], e.fields)
                assert len(e.fields.get("M", "")) <= 400, e.fields  # echoed text is bounded
            assert raw.simple_query("SHOW VERSION"), f"console unusable after {sql[:40]!r}"
        # Invalid UTF-8 in a Query message.
        raw.send(message(b"Q", b"SHOW \xff\xfe POOLS\0"))
        while True:
            mtype, payload = raw.read_message()
            if mtype == b"Z":
                break
        assert raw.simple_query("SHOW VERSION")
        # The extended protocol is refused with 0A000, once per batch.
        raw.send(message(b"P", b"\0SHOW POOLS\0\0\0") + message(b"B", b"\0\0\0\0\0\0\0\0")
                 + message(b"E", b"\0\0\0\0\0") + message(b"S"))
        errors = []
        while True:
            mtype, payload = raw.read_message()
            if mtype == b"E":
                errors.append(payload)
            if mtype == b"Z":
                break
        assert len(errors) == 1 and b"C0A000\0" in errors[0], errors
        assert raw.simple_query("SHOW VERSION")
    finally:
        raw.terminate()
    px.assert_alive()
    # A malformed message closes that connection only.
    bad = RawConn(px.host, px.port)
    try:
        bad.startup(pg.superuser, pg.superuser_password, "ouroboros")
        bad.send(b"Q\x00\x00\x00\x02")  # length below 4
        bad.read_until_eof_or_error(10)
    finally:
        bad.close()
    px.assert_alive()
    assert table(px, pg, "SHOW VERSION")[0] == ["version"]


def test_pause_of_an_unused_database_shows_in_show_databases(pg, admin_proxy):
    px = admin_proxy(databases={"*": None})
    psql(px, pg, f"PAUSE {pg.dbname}")
    try:
        rows = {r["name"]: r for r in table(px, pg, "SHOW DATABASES")[1]}
        assert rows[pg.dbname]["paused"] == "1", rows[pg.dbname]
    finally:
        psql(px, pg, f"RESUME {pg.dbname}")


def test_reload_and_shutdown(pg, admin_proxy):
    px = admin_proxy()
    settings = {r["key"]: r["value"] for r in table(px, pg, "SHOW CONFIG")[1]}
    assert settings["pool.size"] == "4" and settings["logging.slow_query_threshold"], settings
    config = dict(px.config, pool=dict(px.config["pool"], size=7))
    rewrite_config(px, config)
    assert psql(px, pg, "RELOAD").stdout.strip() == "RELOAD"
    settings = {r["key"]: r["value"] for r in table(px, pg, "SHOW CONFIG")[1]}
    assert settings["pool.size"] == "7", settings
    # A broken file is refused with 55000 and the running configuration stays.
    rewrite_config(px, text="pool: [this is not a mapping\n")
    proc = psql(px, pg, "RELOAD", check=False)
    assert proc.returncode != 0 and "55000" in proc.stderr, proc.stderr
    assert {r["key"]: r["value"] for r in table(px, pg, "SHOW CONFIG")[1]}["pool.size"] == "7"
    # The stats user may not stop the proxy; the admin may.
    proc = psql(px, pg, "SHUTDOWN", user=pg.user, check=False)
    assert proc.returncode != 0 and "42501" in proc.stderr, proc.stderr
    px.assert_alive()
    psql(px, pg, "SHUTDOWN", check=False)  # the console connection goes with the proxy
    wait_for(lambda: px.proc.poll() is not None, 30, message="the proxy to exit after SHUTDOWN")
    px.stopped = True
    assert px.proc.returncode == 0, f"exit code {px.proc.returncode}; log:\n{px.log_tail()}"
