"""Unix-domain sockets on both sides.

- listen.unix_socket_dir: `psql -h DIR -p PORT` reaches the proxy; SHOW CLIENTS shows "unix";
  a stale socket file is replaced at start, the file is removed at exit, and a socket another
  process listens on stops the start.
- A database whose host begins with '/' is reached through PostgreSQL's socket directory
  (PostgreSQL sees a Unix-socket client: inet_client_addr() is NULL).
- A cancel request sent over the proxy's socket cancels a query running on a server reached
  through PostgreSQL's socket.
- A wrong socket directory gives the client a clear error naming the socket path.
"""
import os
import socket
import stat
import subprocess
import threading

import psycopg
import pytest

from ouro_testlib import RawConn, ServerError, free_port, wait_for


@pytest.fixture
def sockdir(tmp_path):
    d = tmp_path / "sock"
    d.mkdir()
    return str(d)


def socket_proxy(pg, proxy, sockdir, **overrides):
    backend = {"host": pg.socket_dir, "port": pg.port, "dbname": pg.dbname}
    overrides.setdefault("listen", {"unix_socket_dir": sockdir})
    nowhere = {"host": "/nonexistent-dir", "port": pg.port, "pool": {"fail_fast": True}}
    return proxy(databases={"viasocket": backend, "nowhere": nowhere}, admin={"users": ["ouro"]}, **overrides)


def socket_dsn(px, sockdir, dbname="viasocket"):
    return f"host={sockdir} port={px.port} user=ouro password=ouro_pw dbname={dbname} connect_timeout=10"


def test_psql_through_sockets_on_both_sides(pg, proxy, sockdir):
    assert pg.socket_dir, "pgcluster did not report its socket directory"
    px = socket_proxy(pg, proxy, sockdir)
    path = os.path.join(sockdir, f".s.PGSQL.{px.port}")
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    env = dict(os.environ, PGPASSWORD="ouro_pw", PGCONNECT_TIMEOUT="10")
    out = subprocess.run([pg.bin("psql"), "-h", sockdir, "-p", str(px.port), "-U", "ouro", "-d", "viasocket",
                          "-Atc", "SELECT coalesce(inet_client_addr()::text, 'socket'), current_user"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr + px.log_tail()
    # PostgreSQL saw the proxy come in over its Unix socket.
    assert out.stdout.strip() == "socket|ouro"
    with psycopg.connect(socket_dsn(px, sockdir), autocommit=True) as client:
        with psycopg.connect(px.dsn(dbname="ouroboros"), autocommit=True) as admin:
            rows = admin.execute("SHOW CLIENTS").fetchall()
            cols = [c.name for c in admin.execute("SHOW CLIENTS").description]
        addr = cols.index("addr")
        db = cols.index("database")
        assert any(r[addr] == "unix" and r[db] == "viasocket" for r in rows), rows
        assert client.execute("SELECT 1").fetchone()[0] == 1
    px.stop()
    assert not os.path.exists(path), "the socket file was left behind at exit"


def test_cancel_over_sockets(pg, proxy, sockdir):
    px = socket_proxy(pg, proxy, sockdir)
    with psycopg.connect(socket_dsn(px, sockdir), autocommit=True) as conn:
        errors = []

        def run():
            try:
                conn.execute("SELECT pg_sleep(120)")
            except psycopg.Error as e:
                errors.append(e)
        t = threading.Thread(target=run)
        t.start()

        def sleeping():
            rows = pg.super_query("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(120)' "
                                  "AND state = 'active'")
            return rows[0][0] == 1
        wait_for(sleeping, 30, message="the query running on PostgreSQL")
        conn.cancel()  # libpq sends the CancelRequest to the proxy's Unix socket
        t.join(60)
        assert not t.is_alive()
        assert errors and errors[0].sqlstate == "57014", errors
        assert conn.execute("SELECT 2").fetchone()[0] == 2


def test_live_socket_refused_stale_socket_replaced(pg, proxy, proxy_bin, sockdir, tmp_path):
    port = free_port()
    path = os.path.join(sockdir, f".s.PGSQL.{port}")
    live = socket.socket(socket.AF_UNIX)
    live.bind(path)
    live.listen(1)
    config = tmp_path / "second.yaml"
    config.write_text(f"listen: {{host: 127.0.0.1, port: {port}, unix_socket_dir: {sockdir}}}\n"
                      "auth: {type: trust}\n"
                      f"databases: {{ouro: {{host: {pg.host}, port: {pg.port}}}}}\nmetrics: {{port: 0}}\n")
    out = subprocess.run([proxy_bin, "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out.stdout + out.stderr
    assert f'Unix socket "{path}" is in use by another process' in out.stderr, out.stderr
    live.close()  # the file stays and nobody listens: what a killed process leaves behind
    assert os.path.exists(path)
    px = socket_proxy(pg, proxy, sockdir, listen={"port": port, "unix_socket_dir": sockdir})
    with psycopg.connect(socket_dsn(px, sockdir), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1


def test_wrong_socket_directory_is_a_clear_error(pg, proxy, sockdir):
    px = socket_proxy(pg, proxy, sockdir)
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(socket_dsn(px, sockdir, dbname="nowhere"), autocommit=True)
    message = str(info.value)
    assert f'could not connect to Unix socket "/nonexistent-dir/.s.PGSQL.{pg.port}"' in message, message
    with pytest.raises(ServerError) as raw:
        with RawConn(px.host, px.port) as conn:
            conn.startup("ouro", "ouro_pw", "nowhere")
    assert raw.value.sqlstate == "08001", raw.value.fields  # as for an unreachable TCP host
