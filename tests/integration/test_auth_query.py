"""auth_query: users not in auth.users are looked up in PostgreSQL.

- A live user with a SCRAM password logs in through a database entry without `user:`: the proxy
  logs in to PostgreSQL as that user with the keys from the client's proof; the answer is cached
  (a second login runs no query). A live user with an md5 password logs in with auth.type md5
  (and cannot with scram-sha-256, as in PostgreSQL); the proxy logs in to PostgreSQL with the md5
  hash (a private cluster with an md5 line for that user).
- A wrong password, an expired VALID UNTIL (with the right password), a missing user and a NULL
  password are refused identically (SQLSTATE, severity, message, and the same SCRAM exchange up
  to the final message); the proxy log says which it was.
- A user dropped after its lookup: still accepted while cached (cache_ttl), refused once the entry
  expired (polled, no sleeps).
- A custom auth.query.sql through a SECURITY DEFINER function run by an unprivileged role.
- The lookup connection failing (wrong auth.query.password): 08006 for the client, the reason in the log.
"""
import os
import re
import struct

import psycopg
import pytest

from ouro_testlib import RawConn, ScramClient, ServerError, message, parse_fields, startup_packet, wait_for
from pooling_helpers import private_cluster, wait_log  # noqa: F401
from test_observability_support import metric_value, metrics_settings, scrape

USERS = {
    "aq_scram": ("scram-sha-256", "scram_pw", ""),
    "aq_md5": ("md5", "md5_pw", ""),
    "aq_expired": ("scram-sha-256", "expired_pw", "VALID UNTIL '2001-01-01'"),
    "aq_future": ("scram-sha-256", "future_pw", "VALID UNTIL 'infinity'"),
}


@pytest.fixture(scope="module")
def roles(pg):
    with pg.connect_super() as conn:
        for name in list(USERS) + ["aq_nopw", "aq_lookup", "aq_dropped"]:
            conn.execute(f"DROP ROLE IF EXISTS {name}")
        for name, (encryption, password, extra) in USERS.items():
            conn.execute(f"SET password_encryption = '{encryption}'")
            conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}' {extra}")
        conn.execute("RESET password_encryption")
        conn.execute("CREATE ROLE aq_nopw LOGIN")  # pg_shadow.passwd is NULL
        conn.execute("CREATE ROLE aq_lookup LOGIN PASSWORD 'lookup_pw'")
        conn.execute("""
            CREATE OR REPLACE FUNCTION public.ouro_user_lookup(name text,
                OUT usename name, OUT passwd text, OUT valuntil timestamptz)
            RETURNS SETOF record LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS
            $$ SELECT usename, passwd, valuntil FROM pg_shadow WHERE usename = name $$""")
        conn.execute("REVOKE ALL ON FUNCTION public.ouro_user_lookup(text) FROM PUBLIC")
        conn.execute("GRANT EXECUTE ON FUNCTION public.ouro_user_lookup(text) TO aq_lookup")
    yield
    with pg.connect_super() as conn:
        conn.execute("DROP FUNCTION IF EXISTS public.ouro_user_lookup(text)")


def aq_proxy(pg, proxy, auth_type="scram-sha-256", backend_host=None, **query):
    settings = {"user": pg.superuser, "password": pg.superuser_password, "cache_ttl": "60s"}
    settings.update(query)
    backend = {"host": backend_host or pg.host, "port": pg.port, "dbname": pg.dbname}
    return proxy(auth={"type": auth_type, "query": settings},
                 databases={"app": backend}, logging={"level": "debug"}, metrics=metrics_settings())


def lookups(px, user):
    return len(re.findall(rf'auth_query: looking up user "{user}"', px.log_text()))


def test_scram_user_logs_in_as_itself_and_is_cached(pg, proxy, roles):
    px = aq_proxy(pg, proxy)
    for _ in range(2):
        with psycopg.connect(px.dsn(user="aq_scram", password="scram_pw", dbname="app"), autocommit=True) as conn:
            # PostgreSQL saw aq_scram itself: the proxy logged in with the keys from the proof.
            assert conn.execute("SELECT current_user, session_user").fetchone() == ("aq_scram", "aq_scram")
    assert lookups(px, "aq_scram") == 1  # the second login came from the cache
    samples = scrape(px)
    assert metric_value(samples, "ouroboros_auth_query_lookups_total", result="answered") == 1
    assert metric_value(samples, "ouroboros_auth_query_lookups_total", result="cached") == 1
    assert metric_value(samples, "ouroboros_auth_query_lookups_total", result="failed") == 0
    # A VALID UNTIL in the future ('infinity') lets the user in.
    with psycopg.connect(px.dsn(user="aq_future", password="future_pw", dbname="app"), autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "aq_future"


def test_md5_user_logs_in(pg, proxy, roles):
    # PostgreSQL's TCP lines ask for scram-sha-256, which an md5-stored password cannot do: the
    # proxy reaches PostgreSQL through its Unix socket (trust) and checks the md5 hash itself.
    px = aq_proxy(pg, proxy, auth_type="md5", backend_host=pg.socket_dir)
    with RawConn(px.host, px.port) as conn:
        conn.send(startup_packet({"user": "aq_md5", "database": "app"}))
        mtype, payload = conn.read_message()
        assert mtype == b"R" and struct.unpack("!I", payload[:4])[0] == 5  # md5 requested
    with psycopg.connect(px.dsn(user="aq_md5", password="md5_pw", dbname="app"), autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "aq_md5"
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(px.dsn(user="aq_md5", password="wrong", dbname="app"))
    # auth.type md5 with a SCRAM secret: SCRAM is done instead, as PostgreSQL does.
    with psycopg.connect(px.dsn(user="aq_scram", password="scram_pw", dbname="app"), autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "aq_scram"


def test_md5_hash_logs_in_to_postgresql(proxy, private_cluster):
    # A cluster of this test's own whose TCP line for the user asks for md5: the proxy answers
    # PostgreSQL's md5 request with the hash auth_query found (it never had the password).
    cluster = private_cluster
    cluster.psql("SET password_encryption = 'md5'; CREATE ROLE aq_md5_backend LOGIN PASSWORD 'md5_backend_pw'")
    hba_path = os.path.join(cluster.data_dir, "pg_hba.conf")
    with open(hba_path) as f:
        rules = f.read()
    with open(hba_path, "w") as f:
        f.write("host all aq_md5_backend 127.0.0.1/32 md5\n" + rules)
    cluster.psql("SELECT pg_reload_conf()")
    wait_for(lambda: cluster.psql("SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'md5'")
             .strip().endswith("1"), 30, message="PostgreSQL reloaded its pg_hba.conf")
    info = cluster.pginfo
    px = aq_proxy(info, proxy, auth_type="md5")
    with psycopg.connect(px.dsn(user="aq_md5_backend", password="md5_backend_pw", dbname="app"),
                         autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "aq_md5_backend"
    wait_log(px, r"server \d+: connected to 127\.0\.0\.1")


def test_md5_secret_cannot_do_a_scram_login(pg, proxy, roles):
    # As in PostgreSQL: a scram-sha-256 login cannot be checked against an md5 hash.
    px = aq_proxy(pg, proxy)
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "aq_md5"'):
        psycopg.connect(px.dsn(user="aq_md5", password="md5_pw", dbname="app"))
    wait_log(px, r'user "aq_md5": the stored password is an md5 hash, which cannot check a SCRAM login')


def scram_refusal(px, user, password):
    """Runs the SCRAM exchange by hand; returns (what the client saw, the error fields)."""
    seen = []
    with RawConn(px.host, px.port) as conn:
        conn.send(startup_packet({"user": user, "database": "app"}))
        mtype, payload = conn.read_message()
        seen.append((mtype, struct.unpack("!I", payload[:4])[0], sorted(m for m in payload[4:].split(b"\0") if m)))
        scram = ScramClient(password)
        first = scram.client_first()
        conn.send(message(b"p", b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first))
        mtype, payload = conn.read_message()
        code = struct.unpack("!I", payload[:4])[0]
        server_first = dict(p.split(b"=", 1) for p in payload[4:].split(b","))
        seen.append((mtype, code, sorted(server_first), len(server_first[b"s"]), server_first[b"i"]))
        conn.send(message(b"p", scram.client_final(payload[4:])))
        mtype, payload = conn.read_message()
        assert mtype == b"E", (mtype, payload)
        fields = parse_fields(payload)
        _, eof = conn.read_until_eof_or_error()
        assert eof
    return seen, fields


def test_refusals_are_indistinguishable(pg, proxy, roles):
    px = aq_proxy(pg, proxy)
    cases = {
        "wrong password": ("aq_scram", "not_it", r"client \d+ .*user \"aq_scram\": SCRAM: "),
        "expired": ("aq_expired", "expired_pw", r"user \"aq_expired\": auth_query: the password has expired"),
        "missing": ("aq_nobody", "whatever", r"user \"aq_nobody\": auth_query: no such user"),
        "null password": ("aq_nopw", "whatever", r"user \"aq_nopw\": auth_query: the user has no password"),
    }
    results = {}
    for case, (user, password, log_pattern) in cases.items():
        seen, fields = scram_refusal(px, user, password)
        # The user's own name is in PostgreSQL's message; everything else must be equal.
        fields = dict(fields, M=fields["M"].replace(f'"{user}"', '"USER"'))
        results[case] = (seen, {k: v for k, v in fields.items() if k in "SVCMDH"})
        wait_log(px, log_pattern)
    expected = results["wrong password"]
    assert expected[1] == {"S": "FATAL", "V": "FATAL", "C": "28P01",
                           "M": 'password authentication failed for user "USER"'}
    for case, got in results.items():
        assert got == expected, f"{case} differs from a wrong password: {got} vs {expected}"
    # The expired user is refused even with its right password: with psycopg too.
    with pytest.raises(psycopg.OperationalError, match='password authentication failed for user "aq_expired"'):
        psycopg.connect(px.dsn(user="aq_expired", password="expired_pw", dbname="app"))


def test_dropped_user_is_accepted_while_cached_then_refused(pg, proxy, roles):
    with pg.connect_super() as conn:
        conn.execute("SET password_encryption = 'scram-sha-256'")
        conn.execute("CREATE ROLE aq_dropped LOGIN PASSWORD 'drop_pw'")
    px = aq_proxy(pg, proxy, cache_ttl="10s")
    dsn = px.dsn(user="aq_dropped", password="drop_pw", dbname="app")
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "aq_dropped"
    # The pool keeps the server logged in as aq_dropped; PostgreSQL lets the role go under it.
    pg.super_query("DROP ROLE aq_dropped")
    # Within cache_ttl the proxy still knows the password: the login succeeds on the pooled server.
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone()[0] == 1
    assert lookups(px, "aq_dropped") == 1

    def refused_by_the_proxy():
        try:
            with psycopg.connect(dsn, autocommit=True):
                return False
        except psycopg.OperationalError as e:
            assert 'password authentication failed for user "aq_dropped"' in str(e), str(e)
            return True
    wait_for(refused_by_the_proxy, 60, interval=0.5, message="the dropped user refused after cache_ttl")
    assert lookups(px, "aq_dropped") == 2
    wait_log(px, r'user "aq_dropped": auth_query: no such user')


def test_custom_sql_with_an_unprivileged_lookup_role(pg, proxy, roles):
    px = aq_proxy(pg, proxy, user="aq_lookup", password="lookup_pw",
                  sql="SELECT * FROM public.ouro_user_lookup($1);", database=pg.dbname)
    with psycopg.connect(px.dsn(user="aq_scram", password="scram_pw", dbname="app"), autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "aq_scram"


def test_lookup_connection_failure(pg, proxy, roles):
    px = aq_proxy(pg, proxy, user="aq_lookup", password="not_the_password")
    with RawConn(px.host, px.port) as raw:
        with pytest.raises(ServerError) as info:
            raw.startup("aq_scram", "scram_pw", "app")
    assert info.value.sqlstate == "08006"
    assert info.value.fields["M"] == "authentication lookup failed"
    wait_log(px, r'auth_query for user "aq_scram" failed: .*password authentication failed for user "aq_lookup"')
    samples = scrape(px)
    assert metric_value(samples, "ouroboros_auth_query_lookups_total", result="failed") == 1
    assert metric_value(samples, "ouroboros_auth_query_lookups_total", result="answered") == 0
    px.assert_alive()


def test_lookup_by_host_name(pg, proxy, roles):
    # A database host given by name: the proxy resolves it on libuv's thread pool (libpq would
    # block the loop doing it) and hands libpq every address it got, as host + hostaddr lists.
    px = aq_proxy(pg, proxy, backend_host="localhost")
    with psycopg.connect(px.dsn(user="aq_scram", password="scram_pw", dbname="app"), autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "aq_scram"
    assert lookups(px, "aq_scram") == 1

