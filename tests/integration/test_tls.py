"""TLS on both sides (issue 16): certificates made here with the openssl CLI.

Towards PostgreSQL: a private cluster with ssl = on that accepts TCP only through hostssl; the
proxy logs in with verify-full, with a client certificate (the `cert` method), with allow; every
certificate problem (unknown CA, wrong name, expired) reaches the client as 08006 naming the host.
From clients: SSLRequest and direct TLS (ALPN), verify-full, client certificates, mode require
refusing plain text, GSSENCRequest, certificate reload on SIGHUP, and the metrics.
"""
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import tempfile
import urllib.request

import psycopg
import pytest

from ouro_testlib import (RawConn, ServerError, free_port, make_dsn, parse_fields, startup_packet,
                          wait_for)
from pgcluster import PgCluster
from tls_helpers import Certificates, FakeTlsPostgres

SSL_REQUEST = struct.pack("!II", 8, 80877103)
GSSENC_REQUEST = struct.pack("!II", 8, 80877104)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return Certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def tls_pg(certs):
    """PostgreSQL with ssl = on: TCP only through hostssl; `certuser` logs in by certificate."""
    base = tempfile.mkdtemp(prefix="ouro-tlspg-")
    os.chmod(base, 0o755)
    cluster = PgCluster(
        os.path.join(base, "pg"),
        extra_conf="ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
                   "ssl_ca_file = 'ca.crt'\n",
        hba_host_lines=["hostssl all certuser 127.0.0.1/32 cert",
                        "hostssl all all 127.0.0.1/32 scram-sha-256"],
        data_files={"server.crt": certs.path("server"), "server.key": certs.path("server", "key"),
                    "ca.crt": certs.path("ca")})
    try:
        cluster.start()
        cluster.psql("CREATE ROLE certuser LOGIN")
        yield cluster
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


def backend(port, host="127.0.0.1", **tls):
    """Overrides: database ouro at host:port with these tls settings, no "*" entry."""
    return {"databases": {"ouro": {"host": host, "port": port, "tls": tls}, "*": None}}


def login_error(px, user="ouro", password="ouro_pw"):
    """The ErrorResponse fields a plain-text client gets at login."""
    with RawConn(px.host, px.port) as conn:
        with pytest.raises(ServerError) as failure:
            conn.startup(user, password, "ouro")
    return failure.value.fields


def scalar(px, sql, **extra):
    with psycopg.connect(px.dsn(**extra), autocommit=True) as conn:
        return conn.execute(sql).fetchone()[0]


def metrics(px):
    with urllib.request.urlopen(f"http://127.0.0.1:{px.config['metrics']['port']}/metrics",
                                timeout=10) as response:
        return response.read().decode()


def metric_value(text, name, **labels):
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} "):
            return float(line.split()[-1])
    raise AssertionError(f"no {name}{{{wanted}}} in the metrics")


# ------------------------------------------------------------------------------------------------
# Towards PostgreSQL
# ------------------------------------------------------------------------------------------------

def test_verify_full_to_a_hostssl_only_postgres(proxy, tls_pg, certs):
    px = proxy(metrics={"host": "127.0.0.1", "port": free_port()},
               **backend(tls_pg.port, mode="verify-full", ca_file=certs.path("ca"),
                         server_name="localhost"))
    assert scalar(px, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is True
    assert metric_value(metrics(px), "ouroboros_tls_handshakes_total", side="server",
                        result="ok") >= 1


def test_verify_full_checks_an_ip_address_against_the_certificate(proxy, tls_pg, certs):
    # No server_name: the host (127.0.0.1) is the name verified, against the IP SAN.
    px = proxy(**backend(tls_pg.port, mode="verify-full", ca_file=certs.path("ca")))
    assert scalar(px, "SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()") in (
        "TLSv1.2", "TLSv1.3")


def test_client_certificate_towards_postgres(proxy, tls_pg, certs):
    # pg_hba.conf says `cert` for certuser: no password, the certificate's CN is the user.
    px = proxy(auth={"users": {"certuser": {"password": "certuser_pw"}}},
               **backend(tls_pg.port, mode="verify-ca", ca_file=certs.path("ca"),
                         cert_file=certs.path("certuser"), key_file=certs.path("certuser", "key")))
    assert scalar(px, "SELECT current_user", user="certuser", password="certuser_pw") == "certuser"


def test_allow_and_prefer_and_disable_against_hostssl_only(proxy, tls_pg):
    px = proxy(**backend(tls_pg.port, mode="allow"))
    assert scalar(px, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is True
    assert "trying again with TLS (tls.mode allow)" in px.log_text()
    px = proxy(**backend(tls_pg.port, mode="prefer"))
    assert scalar(px, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()") is True
    px = proxy(**backend(tls_pg.port, mode="disable"))
    fields = login_error(px)
    assert fields["C"] == "28000", fields
    assert "no encryption" in fields["M"], fields


def test_prefer_falls_back_to_plain_text_and_require_refuses_it(proxy, pg):
    # The shared cluster has ssl = off: it answers the SSLRequest with 'N'.
    px = proxy(**backend(pg.port, mode="prefer"))
    assert scalar(px, "SELECT 1") == 1
    px = proxy(**backend(pg.port, mode="require"))
    fields = login_error(px)
    assert fields["C"] == "08006", fields
    assert fields["M"] == (f'SSL connection to server "127.0.0.1" port {pg.port} failed: the server '
                           "does not support SSL, but SSL was required"), fields


@pytest.mark.parametrize("case", ["unknown_ca", "wrong_name", "expired"])
def test_certificate_problems_reach_the_client_as_08006(request, proxy, tls_pg, certs, case):
    if case == "unknown_ca":
        port, settings = tls_pg.port, dict(ca_file=certs.path("foreign_ca"))
        # PostgreSQL sends its CA along (OpenSSL completes the chain from ssl_ca_file).
        expected = "certificate verify failed: self-signed certificate in certificate chain"
    elif case == "wrong_name":
        port, settings = tls_pg.port, dict(ca_file=certs.path("ca"), server_name="db.example.com")
        expected = ('certificate verify failed: hostname mismatch (the certificate is not for '
                    '"db.example.com")')
    else:
        fake = FakeTlsPostgres(certs.path("expired_server"), certs.path("expired_server", "key"))
        request.addfinalizer(fake.close)
        port, settings = fake.port, dict(ca_file=certs.path("ca"), server_name="localhost")
        expected = "certificate verify failed: certificate has expired"
    px = proxy(metrics={"host": "127.0.0.1", "port": free_port()},
               **backend(port, mode="verify-full", **settings))
    fields = login_error(px)
    assert fields["C"] == "08006", fields
    assert fields["M"] == f'SSL connection to server "127.0.0.1" port {port} failed: {expected}', \
        fields
    wait_for(lambda: expected in px.log_text(), 10, message="the failure in the proxy log")
    assert metric_value(metrics(px), "ouroboros_tls_handshakes_total", side="server",
                        result="failed") >= 1


@pytest.mark.parametrize("server_name, verified", [("localhost", True), ("db.example.com", False)])
def test_auth_query_lookup_follows_the_database_tls_settings(proxy, tls_pg, certs, server_name,
                                                             verified):
    # The lookup connection sends auth.query.password: it gets the database's tls settings (here
    # verify-full), not libpq's default (prefer, which verifies nothing).
    tls_pg.psql("DROP ROLE IF EXISTS aq_tls; CREATE ROLE aq_tls LOGIN PASSWORD 'aq_tls_pw'")
    px = proxy(auth={"type": "scram-sha-256",
                     "query": {"user": "postgres", "password": "postgres_pw", "cache_ttl": "60s"}},
               databases={"app": {"host": "127.0.0.1", "port": tls_pg.port, "dbname": "ouro",
                                  "tls": {"mode": "verify-full", "ca_file": certs.path("ca"),
                                          "server_name": server_name}},
                          "*": None})
    if verified:
        assert scalar(px, "SELECT current_user || ' ' || ssl FROM pg_stat_ssl "
                          "WHERE pid = pg_backend_pid()",
                      user="aq_tls", password="aq_tls_pw", dbname="app") == "aq_tls true"
        return
    with RawConn(px.host, px.port) as conn:
        with pytest.raises(ServerError) as failure:
            conn.startup("aq_tls", "aq_tls_pw", "app")
    assert failure.value.fields["C"] == "08006", failure.value.fields
    assert failure.value.fields["M"] == "authentication lookup failed", failure.value.fields
    wait_for(lambda: re.search(r'auth_query for user "aq_tls" failed: .*server certificate for '
                               r'"localhost" .*does not match host name "db.example.com"',
                               px.log_text()), 15, message="the lookup's certificate error in the log")


def test_sni_is_sent_for_names_and_not_for_ip_addresses(proxy, certs):
    named = FakeTlsPostgres(certs.path("server"), certs.path("server", "key"))
    by_address = FakeTlsPostgres(certs.path("server"), certs.path("server", "key"))
    try:
        # fail_fast: the closed connection is an error the pool would retry; the client need not
        # wait for that.
        px = proxy(pool={"fail_fast": True},
                   **backend(named.port, mode="verify-full", ca_file=certs.path("ca"),
                             server_name="localhost"))
        login_error(px)  # the fake server closes after the handshake
        wait_for(lambda: named.server_names, 10, message="a handshake")
        assert set(named.server_names) == {"localhost"}
        px = proxy(pool={"fail_fast": True}, **backend(by_address.port, mode="require"))
        login_error(px)
        wait_for(lambda: by_address.server_names, 10, message="a handshake")
        assert set(by_address.server_names) == {None}  # host 127.0.0.1: no SNI, as libpq
    finally:
        named.close()
        by_address.close()


# ------------------------------------------------------------------------------------------------
# From clients
# ------------------------------------------------------------------------------------------------

def listen_tls(certs, **settings):
    tls = {"mode": "require", "cert_file": certs.path("server"),
           "key_file": certs.path("server", "key")}
    tls.update(settings)
    return {"listen": {"host": "127.0.0.1", "port": 0, "tls": tls}}


def client_dsn(px, **extra):
    parts = dict(host="localhost", hostaddr="127.0.0.1", port=px.port, user="ouro",
                 password="ouro_pw", dbname="ouro", connect_timeout=10)
    parts.update(extra)
    return make_dsn(**parts)


def test_verify_full_client_through_the_proxy(proxy, certs):
    px = proxy(metrics={"host": "127.0.0.1", "port": free_port()}, **listen_tls(certs))
    with psycopg.connect(client_dsn(px, sslmode="verify-full", sslrootcert=certs.path("ca")),
                         autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1
        assert conn.pgconn.ssl_in_use
    # psql too.
    env = dict(os.environ, PGPASSWORD="ouro_pw")
    out = subprocess.run(["psql", "-X", "-A", "-t", "-c", "SELECT 42",
                          f"host=localhost hostaddr=127.0.0.1 port={px.port} user=ouro dbname=ouro "
                          f"sslmode=verify-full sslrootcert={certs.path('ca')}"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "42", out.stderr
    assert metric_value(metrics(px), "ouroboros_tls_handshakes_total", side="client",
                        result="ok") >= 2


def test_channel_binding_and_show_clients_servers(proxy, tls_pg, certs):
    # SCRAM-SHA-256-PLUS with tls-server-end-point: libpq insists on it with channel_binding=require.
    overrides = listen_tls(certs)
    overrides.update(backend(tls_pg.port, mode="verify-full", ca_file=certs.path("ca")))
    overrides["admin"] = {"users": ["ouro"]}
    px = proxy(**overrides)
    dsn = client_dsn(px, sslmode="verify-full", sslrootcert=certs.path("ca"),
                     channel_binding="require")
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1
        env = dict(os.environ, PGPASSWORD="ouro_pw")
        out = subprocess.run(["psql", "-X", "-A", "-t", "-c", "SELECT 'bound'", dsn.replace(
            " password=ouro_pw", "")], env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and out.stdout.strip() == "bound", out.stderr
        admin_dsn = client_dsn(px, dbname="ouroboros", sslmode="require")
        with psycopg.connect(admin_dsn, autocommit=True) as admin:
            cur = admin.execute("SHOW CLIENTS")
            names = [c.name for c in cur.description]
            rows = [dict(zip(names, row)) for row in cur.fetchall()]
            for row in rows:
                assert row["tls_version"] in ("TLSv1.2", "TLSv1.3"), row
                assert row["tls_cipher"], row
                assert row["tls"] == f"{row['tls_version']}/{row['tls_cipher']}", row
            cur = admin.execute("SHOW SERVERS")
            names = [c.name for c in cur.description]
            servers = [dict(zip(names, row)) for row in cur.fetchall()]
            assert servers and all(s["tls_version"] in ("TLSv1.2", "TLSv1.3") for s in servers)
    # Plain text: the columns are NULL and tls empty.
    px = proxy(admin={"users": ["ouro"]})
    with psycopg.connect(px.dsn(dbname="ouroboros"), autocommit=True) as admin:
        cur = admin.execute("SHOW CLIENTS")
        names = [c.name for c in cur.description]
        row = dict(zip(names, cur.fetchone()))
        assert row["tls"] == "" and row["tls_version"] is None and row["tls_cipher"] is None


def test_large_results_and_copy_stream_through_tls_on_both_legs(proxy, tls_pg, certs):
    # Many TLS records each way, with backpressure: a small high-water mark makes the relay stop
    # and resume reading often.
    overrides = listen_tls(certs)
    overrides.update(backend(tls_pg.port, mode="verify-full", ca_file=certs.path("ca")))
    overrides["limits"] = {"buffer_high_water": "64KB"}
    px = proxy(**overrides)
    with psycopg.connect(client_dsn(px, sslmode="verify-full", sslrootcert=certs.path("ca")),
                         autocommit=True) as conn:
        rows = conn.execute("SELECT i, repeat(md5(i::text), 64) FROM generate_series(1, 20000) i"
                            ).fetchall()
        assert len(rows) == 20000 and rows[-1][0] == 20000
        assert all(len(r[1]) == 2048 for r in rows)
        conn.execute("CREATE TEMP TABLE copied (i int, t text)")
        with conn.cursor().copy("COPY copied FROM STDIN") as copy:
            for i in range(20000):
                copy.write_row((i, "x" * 1000))
        assert conn.execute("SELECT count(*), sum(length(t)) FROM copied").fetchone() == (
            20000, 20000 * 1000)


def test_require_refuses_plain_text_clients(proxy, certs):
    px = proxy(metrics={"host": "127.0.0.1", "port": free_port()}, **listen_tls(certs))
    fields = login_error(px)
    assert fields["C"] == "28000", fields
    assert fields["M"] == "SSL required", fields
    with pytest.raises(psycopg.OperationalError, match="SSL required"):
        psycopg.connect(client_dsn(px, sslmode="disable"))
    assert metric_value(metrics(px), "ouroboros_client_connections_rejected_total",
                        reason="tls_required") >= 2


def test_allow_accepts_both_and_disable_answers_n(proxy, certs):
    px = proxy(**listen_tls(certs, mode="allow"))
    with psycopg.connect(client_dsn(px, sslmode="disable"), autocommit=True) as conn:
        assert not conn.pgconn.ssl_in_use
    with psycopg.connect(client_dsn(px, sslmode="require"), autocommit=True) as conn:
        assert conn.pgconn.ssl_in_use
    px = proxy()
    with pytest.raises(psycopg.OperationalError, match="server does not support SSL"):
        psycopg.connect(client_dsn(px, sslmode="require"))


def test_gssenc_request_is_answered_n_and_early_bytes_after_ssl_request_refused(proxy, certs):
    px = proxy(**listen_tls(certs, mode="allow"))
    with socket.create_connection((px.host, px.port), timeout=10) as sock:
        sock.sendall(GSSENC_REQUEST)
        assert sock.recv(1) == b"N"
    with RawConn(px.host, px.port) as conn:
        conn.send(SSL_REQUEST + startup_packet({"user": "ouro", "database": "ouro"}))
        error, eof = conn.read_until_eof_or_error()
        assert eof and error and error["C"] == "08P01", error
        assert error["M"] == "received unencrypted data after SSL request", error


def test_client_certificates(proxy, certs):
    px = proxy(metrics={"host": "127.0.0.1", "port": free_port()},
               **listen_tls(certs, ca_file=certs.path("ca"), client_certificate="required"))
    with psycopg.connect(client_dsn(px, sslmode="verify-full", sslrootcert=certs.path("ca"),
                                    sslcert=certs.path("client"),
                                    sslkey=certs.path("client", "key")), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1
    with pytest.raises(psycopg.OperationalError, match="certificate required"):
        psycopg.connect(client_dsn(px, sslmode="require", sslcert="/nonexistent.crt"))
    # A certificate from a CA the proxy does not trust.
    with pytest.raises(psycopg.OperationalError, match="unknown ca"):
        psycopg.connect(client_dsn(px, sslmode="require", sslcert=certs.path("foreign_server"),
                                   sslkey=certs.path("foreign_server", "key")))
    wait_for(lambda: "TLS handshake failed: peer did not return a certificate" in px.log_text(),
             10, message="the missing certificate in the log")
    assert metric_value(metrics(px), "ouroboros_tls_handshakes_total", side="client",
                        result="failed") >= 2


def _direct_tls(px, certs, alpn):
    context = ssl.create_default_context(cafile=certs.path("ca"))
    if alpn:
        context.set_alpn_protocols(alpn)
    sock = context.wrap_socket(socket.create_connection((px.host, px.port), timeout=10),
                               server_hostname="localhost")
    return sock


def test_direct_tls_with_alpn(proxy, certs):
    px = proxy(**listen_tls(certs))
    with _direct_tls(px, certs, ["postgresql"]) as sock:
        assert sock.selected_alpn_protocol() == "postgresql"
        sock.sendall(startup_packet({"user": "ouro", "database": "ouro"}))
        reply = sock.recv(1)
        assert reply == b"R"  # AuthenticationSASL: the login goes on inside TLS
    # Without ALPN the proxy closes after the handshake, as PostgreSQL 17 does.
    with _direct_tls(px, certs, None) as sock:
        sock.sendall(startup_packet({"user": "ouro", "database": "ouro"}))
        assert sock.recv(1) == b""
    with pytest.raises(ssl.SSLError, match="NO_APPLICATION_PROTOCOL|no application protocol"):
        _direct_tls(px, certs, ["http/1.1"])
    wait_for(lambda: 'direct TLS connection without ALPN "postgresql"' in px.log_text(), 10,
             message="the ALPN refusal in the log")


def _served_certificate(px):
    with socket.create_connection((px.host, px.port), timeout=10) as raw:
        raw.sendall(SSL_REQUEST)
        assert raw.recv(1) == b"S"
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        with context.wrap_socket(raw) as sock:
            return sock.getpeercert(binary_form=True)


def _pem_to_der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def test_certificates_reload_on_sighup(proxy, certs, tmp_path):
    cert, key = str(tmp_path / "live.crt"), str(tmp_path / "live.key")
    shutil.copyfile(certs.path("server"), cert)
    shutil.copyfile(certs.path("server", "key"), key)
    px = proxy(**listen_tls(certs, cert_file=cert, key_file=key))
    assert _served_certificate(px) == _pem_to_der(certs.path("server"))
    existing = psycopg.connect(client_dsn(px, sslmode="require"), autocommit=True)
    try:
        shutil.copyfile(certs.path("server2"), cert)
        shutil.copyfile(certs.path("server2", "key"), key)
        os.kill(px.pid, signal.SIGHUP)
        wait_for(lambda: _served_certificate(px) == _pem_to_der(certs.path("server2")), 20,
                 message="the renewed certificate on new connections")
        assert existing.execute("SELECT 1").fetchone()[0] == 1  # untouched by the reload
        with open(cert, "w") as f:
            f.write("not a certificate\n")
        os.kill(px.pid, signal.SIGHUP)
        wait_for(lambda: "listen.tls: cannot load certificate file" in px.log_text(), 20,
                 message="the bad file in the log")
        assert "the previous certificate stays in use" in px.log_text()
        assert _served_certificate(px) == _pem_to_der(certs.path("server2"))
        assert existing.execute("SELECT 2").fetchone()[0] == 2
    finally:
        existing.close()


def test_a_bad_certificate_file_at_start_is_fatal(proxy_bin, pg, tmp_path, certs):
    from ouro_testlib import ProxyProcess, deep_merge, default_config
    config = deep_merge(default_config(pg), listen_tls(certs, cert_file=str(tmp_path / "none.crt")))
    px = ProxyProcess(proxy_bin, config, str(tmp_path))
    with pytest.raises(AssertionError, match="exited with 1 before listening"):
        px.start()
    assert f'cannot load certificate file "{tmp_path / "none.crt"}"' in px.log_text()
    # --check-config loads the files too; a key that is not the certificate's is named.
    config = deep_merge(default_config(pg), backend(
        pg.port, mode="verify-full", cert_file=certs.path("client"),
        key_file=certs.path("server", "key")))
    path = tmp_path / "check.yaml"
    import yaml
    path.write_text(yaml.safe_dump(config))
    out = subprocess.run([proxy_bin, "--check-config", str(path)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 1, out
    assert (f'error: databases.ouro.tls: cannot load private key file '
            f'"{certs.path("server", "key")}": key values mismatch') in out.stderr, out.stderr
