"""Client authentication at the proxy (SCRAM-SHA-256, md5, trust, a stored SCRAM verifier) and the
errors a client gets for a wrong password, an unknown user or an unknown database.

psycopg/libpq does not expose the SQLSTATE of a failed connection attempt, so connection errors
are checked with asyncpg (a real driver that does) and with the raw protocol client."""
import hashlib

import psycopg
import pytest

from ouro_testlib import RawConn, ServerError, connect_error_sqlstate, startup_packet


def assert_good_client_works(px, **kw):
    with px.connect(**kw) as conn:
        assert conn.execute("SELECT current_user, current_database(), 1 + 1").fetchone() == \
            ("ouro", "ouro", 2)


def raw_error(px, user, password, dbname):
    with RawConn(px.host, px.port) as raw:
        with pytest.raises(ServerError) as e:
            raw.startup(user, password, dbname, ssl_request=True)
        assert e.value.fields.get("S") == "FATAL", e.value.fields
        return e.value.sqlstate


def test_scram_login_and_wrong_password(proxy):
    px = proxy()
    assert_good_client_works(px)
    assert connect_error_sqlstate(px.host, px.port, "ouro", "not_the_password", "ouro") == "28P01"
    assert raw_error(px, "ouro", "not_the_password", "ouro") == "28P01"
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(px.dsn(password="not_the_password"))
    assert_good_client_works(px)


def test_unknown_user_gets_28P01_like_wrong_password(proxy):
    px = proxy()
    assert connect_error_sqlstate(px.host, px.port, "nobody_here", "ouro_pw", "ouro") == "28P01"
    assert raw_error(px, "nobody_here", "ouro_pw", "ouro") == "28P01"
    assert_good_client_works(px)


def test_unknown_user_goes_through_a_scram_exchange(proxy):
    """Not revealing which users exist: an unknown user is offered SCRAM like a known one, and
    only the final proof fails."""
    px = proxy()
    for user in ("ouro", "nobody_here"):
        with RawConn(px.host, px.port) as raw:
            raw.send(startup_packet({"user": user, "database": "ouro"}))
            mtype, payload = raw.read_message()
            assert mtype == b"R" and payload[:4] == b"\0\0\0\x0a", (user, mtype, payload)
            assert b"SCRAM-SHA-256" in payload


def test_unknown_database_not_configured_gets_3D000(pg, proxy):
    px = proxy(databases={"*": None})  # only "ouro" is configured
    assert connect_error_sqlstate(px.host, px.port, "ouro", "ouro_pw", "no_such_db") == "3D000"
    assert raw_error(px, "ouro", "ouro_pw", "no_such_db") == "3D000"
    assert_good_client_works(px)


def test_unknown_database_via_wildcard_gets_3D000_from_postgres(proxy):
    px = proxy()  # "*" routes any name to the cluster, which has no such database
    assert connect_error_sqlstate(px.host, px.port, "ouro", "ouro_pw", "no_such_db") == "3D000"
    assert raw_error(px, "ouro", "ouro_pw", "no_such_db") == "3D000"
    assert_good_client_works(px)


def test_md5_auth_with_plain_password(proxy):
    px = proxy(auth={"type": "md5"})
    with RawConn(px.host, px.port) as raw:
        raw.send(startup_packet({"user": "ouro", "database": "ouro"}))
        mtype, payload = raw.read_message()
        assert mtype == b"R" and payload[:4] == b"\0\0\0\x05", "expected an MD5 password request"
    assert_good_client_works(px)
    assert raw_error(px, "ouro", "wrong", "ouro") == "28P01"
    assert connect_error_sqlstate(px.host, px.port, "ouro", "wrong", "ouro") == "28P01"
    assert raw_error(px, "nobody_here", "ouro_pw", "ouro") == "28P01"


def test_md5_auth_with_stored_md5_hash(pg, proxy):
    md5 = "md5" + hashlib.md5(b"ouro_pwouro").hexdigest()
    # The backend (SCRAM) cannot be logged into with an md5 hash: give the backend password.
    backend = {"host": pg.host, "port": pg.port, "password": "ouro_pw"}
    px = proxy(auth={"type": "md5", "users": {"ouro": {"password": md5}}},
               databases={"ouro": backend, "*": None})
    assert_good_client_works(px)
    assert raw_error(px, "ouro", "ouro_pw_nope", "ouro") == "28P01"


def test_trust_auth(proxy):
    px = proxy(auth={"type": "trust"})
    with psycopg.connect(px.dsn(password=None)) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("ouro",)
    with RawConn(px.host, px.port) as raw:
        raw.startup("ouro", "", "ouro")
        assert raw.simple_query("SELECT current_user, pg_backend_pid()") == \
            [["ouro", str(raw.backend_pid)]]


def test_scram_verifier_in_config(pg, proxy):
    verifier = pg.super_query("SELECT rolpassword FROM pg_authid WHERE rolname = 'ouro'")[0][0]
    assert verifier.startswith("SCRAM-SHA-256$")
    px = proxy(auth={"type": "scram-sha-256", "users": {"ouro": {"password": verifier}}})
    assert "ouro_pw" not in px.config_text()
    # The client logs in with the plain password; the proxy reaches PostgreSQL with the keys it
    # derived from the client's SCRAM proof (it never learns the password).
    assert_good_client_works(px)
    with RawConn(px.host, px.port) as raw:
        raw.startup("ouro", "ouro_pw", "ouro")
        assert raw.simple_query("SELECT current_user") == [["ouro"]]
    assert raw_error(px, "ouro", "wrong", "ouro") == "28P01"
    assert connect_error_sqlstate(px.host, px.port, "ouro", "wrong", "ouro") == "28P01"
    assert_good_client_works(px)
