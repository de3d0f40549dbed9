"""Host-based rules (auth.hba_file, pg_hba.conf syntax) with real clients.

- Every rule type a non-TLS client can meet: host, hostnossl, local (through listen.unix_socket_dir
  with psql -h DIR), reject and no matching line (SQLSTATE 28000 with PostgreSQL's words), and the
  methods trust, md5 and scram-sha-256 (the authentication request the client receives is checked).
- hostssl and cert only as far as a plain-text client goes: such a line never matches it (TLS
  clients: test_hba_tls.py).
- A bad line stops the proxy from starting, naming file:line; a reload changes the rules; a reload
  with a bad line keeps the running rules and logs the error.
"""
import os
import signal
import socket
import struct
import subprocess

import psycopg
import pytest

from ouro_testlib import RawConn, ServerError, parse_fields, startup_packet, wait_for
from pooling_helpers import wait_log

HBA = """\
# TYPE    DATABASE  USER      ADDRESS        METHOD
host      blockdb   all       127.0.0.1/32   reject
hostssl   all       all       127.0.0.1/32   cert
hostnossl trustdb   all       127.0.0.1/32   trust
host      md5db     all       127.0.0.1/32   md5
host      "ouro"    ouro      127.0.0.1      255.255.255.255   scram-sha-256
local     all       all                      md5
"""


def _write(path, text):
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


@pytest.fixture
def hba_proxy(pg, proxy, tmp_path):
    hba = tmp_path / "hba.conf"
    _write(hba, HBA)
    backend = {"host": pg.host, "port": pg.port, "dbname": pg.dbname}
    sockdir = tmp_path / "sock"
    sockdir.mkdir()
    px = proxy(auth={"hba_file": str(hba)},
               listen={"unix_socket_dir": str(sockdir)},
               databases={"blockdb": backend, "trustdb": backend, "md5db": backend},
               logging={"level": "debug"})
    px.hba_path = hba
    px.sockdir = str(sockdir)
    return px


def first_auth_request(host, port, user, dbname):
    """The authentication code the proxy asks for first (0 = ok, 5 = md5, 10 = SASL), or the
    ErrorResponse as ServerError."""
    with RawConn(host, port) as conn:
        conn.send(startup_packet({"user": user, "database": dbname}))
        mtype, payload = conn.read_message()
        if mtype == b"E":
            raise ServerError(parse_fields(payload))
        assert mtype == b"R", (mtype, payload)
        return struct.unpack("!I", payload[:4])[0]


def refusal(px, user, dbname, password="ouro_pw"):
    with pytest.raises(ServerError) as info:
        with RawConn(px.host, px.port) as conn:
            conn.startup(user, password, dbname)
    return info.value.fields


def test_methods_follow_the_matching_line(pg, hba_proxy):
    px = hba_proxy
    # hostnossl ... trust: logged in without any password request.
    assert first_auth_request(px.host, px.port, "ouro", "trustdb") == 0
    with psycopg.connect(px.dsn(password="wrong", dbname="trustdb"), autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "ouro"
    # host ... md5 (the user's secret is a plain password, so md5 can check it).
    assert first_auth_request(px.host, px.port, "ouro", "md5db") == 5
    with psycopg.connect(px.dsn(dbname="md5db"), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1
    with RawConn(px.host, px.port) as conn:
        conn.startup("ouro", "ouro_pw", "md5db")
    # host with an address and a mask column ... scram-sha-256.
    assert first_auth_request(px.host, px.port, "ouro", "ouro") == 10
    with psycopg.connect(px.dsn(dbname="ouro"), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1
    # A wrong password on the md5 line is still a wrong password (28P01).
    fields = refusal(px, "ouro", "md5db", password="wrong")
    assert fields["C"] == "28P01"
    px.assert_alive()


def test_reject_line_uses_postgresqls_words(hba_proxy):
    fields = refusal(hba_proxy, "ouro", "blockdb")
    assert fields["S"] == "FATAL"
    assert fields["C"] == "28000"
    assert fields["M"] == ('pg_hba.conf rejects connection for host "127.0.0.1", user "ouro", '
                           'database "blockdb", no encryption')
    wait_log(hba_proxy, r"refused by host-based rules for user \"ouro\", database \"blockdb\": "
                      + r".*hba\.conf:2 \(reject\)")


def test_no_matching_line_refuses(hba_proxy):
    # "ouro" is quoted in the file: a name, and only user ouro may use it from TCP.
    fields = refusal(hba_proxy, "someone", "ouro")
    assert fields["C"] == "28000"
    assert fields["M"] == ('no pg_hba.conf entry for host "127.0.0.1", user "someone", '
                           'database "ouro", no encryption')
    # The SQLSTATE comes before any password request: no authentication request was sent.
    with pytest.raises(ServerError):
        first_auth_request(hba_proxy.host, hba_proxy.port, "someone", "ouro")


def test_hostssl_and_cert_never_match_a_plain_text_client(hba_proxy):
    # Line 3 (hostssl ... cert) would match every database; the plain-text client falls through
    # to the later lines (here: no line for database "postgres").
    fields = refusal(hba_proxy, "ouro", "postgres")
    assert fields["M"].startswith('no pg_hba.conf entry for host "127.0.0.1"')


def test_local_lines_apply_to_unix_socket_clients(pg, hba_proxy):
    px = hba_proxy
    env = dict(os.environ, PGPASSWORD="ouro_pw", PGCONNECT_TIMEOUT="10")
    # `local all all md5` holds for any database over the socket, including blockdb, which
    # TCP clients are refused.
    out = subprocess.run([pg.bin("psql"), "-h", px.sockdir, "-p", str(px.port), "-U", "ouro",
                          "-d", "blockdb", "-Atc", "SELECT current_user"],
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr + px.log_tail()
    assert out.stdout.strip() == "ouro"
    path = os.path.join(px.sockdir, f".s.PGSQL.{px.port}")
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(startup_packet({"user": "ouro", "database": "blockdb"}))
        head = s.recv(9)
        assert head[:1] == b"R" and struct.unpack("!I", head[5:9])[0] == 5  # md5, from the local line
    wait_log(px, r"client \d+ \(unix\): host-based rule .*hba\.conf:7 \(md5\)")


def test_a_bad_line_stops_the_start_with_file_and_line(pg, proxy_bin, tmp_path):
    hba = tmp_path / "bad_hba.conf"
    _write(hba, "local all all trust\nhost all all 127.0.0.1/32 password\n")
    config = tmp_path / "bad.yaml"
    config.write_text(
        "listen: {host: 127.0.0.1, port: 0}\n"
        f"auth: {{type: trust, hba_file: {hba}}}\n"
        f"databases: {{ouro: {{host: {pg.host}, port: {pg.port}}}}}\n"
        "metrics: {port: 0}\n")
    out = subprocess.run([proxy_bin, "--config", str(config)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out.stdout + out.stderr
    assert (f"error: {hba}:2: auth.hba_file: authentication method \"password\" is not supported by "
            "the proxy") in out.stderr
    assert "listening on" not in out.stderr


def test_reload_changes_the_rules_and_keeps_them_on_a_bad_file(pg, hba_proxy):
    px = hba_proxy
    assert refusal(px, "ouro", "blockdb")["C"] == "28000"
    _write(px.hba_path, "host all all 127.0.0.1/32 trust\n")
    os.kill(px.pid, signal.SIGHUP)

    def blockdb_open():
        try:
            return first_auth_request(px.host, px.port, "ouro", "blockdb") == 0
        except ServerError:
            return False
    wait_for(blockdb_open, 30, message="blockdb accepted after the reload")
    with psycopg.connect(px.dsn(password="anything", dbname="blockdb"), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1

    # A bad line: the reload is refused, the rules in force stay.
    _write(px.hba_path, "host all all 127.0.0.1/32 trust\nhost all all not-an-address md5\n")
    os.kill(px.pid, signal.SIGHUP)
    wait_log(px, r"reload: .*hba\.conf:2: auth\.hba_file: invalid IP address \"not-an-address\"")
    wait_log(px, r"keeping the running configuration")
    assert first_auth_request(px.host, px.port, "ouro", "blockdb") == 0
    px.assert_alive()
