"""hostssl, hostnossl and the `cert` method (auth.hba_file) with real TLS clients.

Certificates are made with the openssl CLI (tls_helpers.Certificates: `client` has CN ouro,
`certuser` CN certuser, both signed by the CA the proxy trusts). The proxy listens with
listen.tls mode allow (so plain-text clients reach the hba check) and client_certificate optional.
The raw-socket checks read the ErrorResponse fields (SQLSTATE and message) a client gets; psycopg
checks what a libpq user sees.
"""
import ssl
import struct

import psycopg
import pytest

from ouro_testlib import RawConn, ServerError, make_dsn, parse_fields, startup_packet, wait_for
from tls_helpers import Certificates

SSL_REQUEST = struct.pack("!II", 8, 80877103)

HBA = """\
# TYPE    DATABASE  USER  ADDRESS        METHOD
hostssl   certdb    all   127.0.0.1/32   cert
hostssl   all       all   127.0.0.1/32   scram-sha-256
hostnossl all       all   127.0.0.1/32   reject
"""


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return Certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture
def px(pg, proxy, certs, tmp_path):
    hba = tmp_path / "hba.conf"
    hba.write_text(HBA)
    backend = {"host": pg.host, "port": pg.port, "dbname": pg.dbname}
    return proxy(auth={"hba_file": str(hba)},
                 listen={"host": "127.0.0.1", "port": 0,
                         "tls": {"mode": "allow", "cert_file": certs.path("server"),
                                 "key_file": certs.path("server", "key"),
                                 "ca_file": certs.path("ca"), "client_certificate": "optional"}},
                 databases={"certdb": backend},
                 logging={"level": "debug"})


def dsn(px, certs, dbname, cert=None, **extra):
    parts = dict(host="localhost", hostaddr="127.0.0.1", port=px.port, user="ouro",
                 dbname=dbname, connect_timeout=10, sslmode="verify-full",
                 sslrootcert=certs.path("ca"), passfile="/dev/null")
    if cert:
        parts.update(sslcert=certs.path(cert), sslkey=certs.path(cert, "key"))
    else:
        parts.update(sslcert="/nonexistent.crt")  # libpq sends no certificate
    parts.update(extra)
    return make_dsn(**parts)


def tls_login_error(px, certs, dbname, cert=None, user="ouro"):
    """The ErrorResponse fields a TLS client (SSLRequest, then a handshake with `cert` or no
    certificate) gets in answer to its startup packet."""
    context = ssl.create_default_context(cafile=certs.path("ca"))
    if cert:
        context.load_cert_chain(certs.path(cert), certs.path(cert, "key"))
    with RawConn(px.host, px.port) as conn:
        conn.send(SSL_REQUEST)
        assert conn.read_byte() == b"S"
        conn.sock = context.wrap_socket(conn.sock, server_hostname="localhost")
        conn.send(startup_packet({"user": user, "database": dbname}))
        mtype, payload = conn.read_message()
        assert mtype == b"E", (mtype, payload)
        return parse_fields(payload)


def test_a_certificate_whose_cn_is_the_user_logs_in_without_a_password(px, certs):
    with psycopg.connect(dsn(px, certs, "certdb", cert="client"), autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "ouro"
        assert conn.pgconn.ssl_in_use
        assert not conn.pgconn.used_password  # the proxy never asked for one
    wait_for(lambda: "hba.conf:2 (cert)" in px.log_text(), 10,
             message="the cert line named in the log")


def test_a_certificate_with_another_cn_is_refused(px, certs):
    fields = tls_login_error(px, certs, "certdb", cert="certuser")
    assert fields["C"] == "28000", fields
    assert fields["M"] == 'certificate authentication failed for user "ouro"', fields
    with pytest.raises(psycopg.OperationalError,
                       match='certificate authentication failed for user "ouro"'):
        psycopg.connect(dsn(px, certs, "certdb", cert="certuser"))
    wait_for(lambda: 'certificate CN "certuser" is not the user' in px.log_text(), 10,
             message="the CN mismatch in the log")


def test_a_tls_client_without_a_certificate_is_refused_on_a_cert_line(px, certs):
    fields = tls_login_error(px, certs, "certdb")
    assert fields["C"] == "28000", fields
    assert fields["M"] == 'certificate authentication failed for user "ouro"', fields
    with pytest.raises(psycopg.OperationalError,
                       match='certificate authentication failed for user "ouro"'):
        psycopg.connect(dsn(px, certs, "certdb"))
    wait_for(lambda: "(cert): no client certificate" in px.log_text(), 10,
             message="the missing certificate in the log")


def test_a_tls_client_on_the_hostssl_scram_line_needs_its_password(px, certs):
    with psycopg.connect(dsn(px, certs, "ouro", password="ouro_pw"), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1
        assert conn.pgconn.ssl_in_use
        assert conn.pgconn.used_password
    # A certificate does not replace the password on a scram-sha-256 line.
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(dsn(px, certs, "ouro", cert="client", password="wrong"))


def test_a_plain_text_client_matches_hostnossl_and_is_refused(px, certs):
    for dbname in ("ouro", "certdb"):
        with RawConn(px.host, px.port) as conn:
            with pytest.raises(ServerError) as info:
                conn.startup("ouro", "ouro_pw", dbname)
        fields = info.value.fields
        assert fields["C"] == "28000", fields
        assert fields["M"] == ('pg_hba.conf rejects connection for host "127.0.0.1", user "ouro", '
                               f'database "{dbname}", no encryption'), fields
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(dsn(px, certs, "ouro", sslmode="disable", password="ouro_pw"))
    wait_for(lambda: "hba.conf:4 (reject)" in px.log_text(), 10,
             message="the reject line named in the log")
