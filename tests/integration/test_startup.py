"""Startup negotiation and session parameters in session mode: SSLRequest/GSSENCRequest are
declined with 'N', the client's startup parameters reach its server connection (as startup
parameters: RESET ALL returns to them), and the client sees the real backend pid."""
import psycopg

from ouro_testlib import RawConn, raw_connect


def test_ssl_and_gssenc_requests_answered_N(proxy):
    px = proxy()
    with RawConn(px.host, px.port) as raw:
        raw.startup("ouro", "ouro_pw", "ouro", ssl_request=True)
        assert raw.simple_query("SELECT 'after SSLRequest'") == [["after SSLRequest"]]
    with RawConn(px.host, px.port) as raw:
        raw.startup("ouro", "ouro_pw", "ouro", gssenc_request=True, ssl_request=True)
        assert raw.simple_query("SELECT 'after GSSENCRequest'") == [["after GSSENCRequest"]]
    # libpq's own negotiation: sslmode=prefer falls back to plain, require fails cleanly.
    with psycopg.connect(px.dsn(sslmode="prefer", gssencmode="prefer")) as conn:
        assert conn.info.pgconn.ssl_in_use is False
        assert conn.execute("SELECT 1").fetchone() == (1,)
    try:
        psycopg.connect(px.dsn(sslmode="require")).close()
        raise AssertionError("sslmode=require succeeded against a proxy without TLS")
    except psycopg.OperationalError as e:
        assert "SSL" in str(e)


def test_startup_parameters_reach_the_server(proxy):
    px = proxy()
    params = {"application_name": "ouro_startup_app", "TimeZone": "Asia/Tokyo",
              "DateStyle": "German, DMY", "client_encoding": "LATIN1",
              "options": "-c search_path=ouro_schema,public -c work_mem=5MB",
              "extra_float_digits": "2"}
    with RawConn(px.host, px.port) as raw:
        raw.startup("ouro", "ouro_pw", "ouro", params)
        # ParameterStatus as PostgreSQL reports them for this session.
        assert raw.parameters["application_name"] == "ouro_startup_app"
        assert raw.parameters["TimeZone"] == "Asia/Tokyo"
        assert raw.parameters["DateStyle"] == "German, DMY"
        assert raw.parameters["client_encoding"] == "LATIN1"
        assert raw.parameters["server_version"].startswith("15")
        shown = raw.simple_query(
            "SELECT current_setting('application_name'), current_setting('TimeZone'), "
            "current_setting('DateStyle'), current_setting('client_encoding'), "
            "current_setting('search_path'), current_setting('work_mem'), "
            "current_setting('extra_float_digits'), to_char(date '2024-03-01', 'YYYY') ")
        assert shown == [["ouro_startup_app", "Asia/Tokyo", "German, DMY", "LATIN1",
                          "ouro_schema,public", "5MB", "2", "2024"]]
        assert raw.simple_query("SELECT date '2024-03-01'::text") == [["01.03.2024"]]

        # RESET ALL goes back to the startup values (they are the session defaults), not to the
        # server's defaults.
        raw.simple_query("SET application_name = 'changed'; SET TimeZone = 'UTC'; "
                         "SET DateStyle = 'ISO, MDY'; SET work_mem = '64kB'")
        assert raw.simple_query("SHOW application_name") == [["changed"]]
        raw.simple_query("RESET ALL")
        assert raw.simple_query(
            "SELECT current_setting('application_name'), current_setting('TimeZone'), "
            "current_setting('DateStyle'), current_setting('work_mem')") == \
            [["ouro_startup_app", "Asia/Tokyo", "German, DMY", "5MB"]]
        raw.terminate()


def test_psycopg_session_parameters_and_reset(proxy):
    px = proxy()
    with psycopg.connect(px.dsn(application_name="ouro_psycopg",
                                options="-c TimeZone=America/Sao_Paulo")) as conn:
        conn.autocommit = True
        assert conn.execute("SHOW application_name").fetchone() == ("ouro_psycopg",)
        assert conn.execute("SHOW TimeZone").fetchone() == ("America/Sao_Paulo",)
        assert conn.info.parameter_status("application_name") == "ouro_psycopg"
        conn.execute("SET application_name = 'other'")
        assert conn.info.parameter_status("application_name") == "other"
        conn.execute("SET TimeZone = 'Europe/Paris'")
        conn.execute("RESET ALL")
        assert conn.execute("SHOW application_name").fetchone() == ("ouro_psycopg",)
        assert conn.execute("SHOW TimeZone").fetchone() == ("America/Sao_Paulo",)


def test_backend_pid_is_the_real_one(pg, proxy):
    px = proxy()
    with px.connect(application_name="ouro_pid_check") as conn:
        pid = conn.info.backend_pid  # from BackendKeyData as libpq received it
        assert conn.execute("SELECT pg_backend_pid()").fetchone() == (pid,)
        seen = pg.super_query("SELECT application_name, usename, datname, client_addr::text "
                              "FROM pg_stat_activity WHERE pid = %s", (pid,))
        assert seen == [("ouro_pid_check", "ouro", "ouro", "127.0.0.1/32")]
    raw = raw_connect(px)
    assert raw.backend_pid is not None and raw.secret_key is not None
    assert raw.simple_query("SELECT pg_backend_pid()") == [[str(raw.backend_pid)]]
    raw.terminate()


def test_sessions_get_their_own_server_connections(pg, proxy):
    """Session mode: concurrent clients never share a backend, and a session keeps one backend
    (temp tables and session state survive between transactions)."""
    px = proxy(pool={"mode": "session", "size": 20})
    conns = [px.connect() for _ in range(5)]
    try:
        pids = [c.execute("SELECT pg_backend_pid()").fetchone()[0] for c in conns]
        assert len(set(pids)) == 5
        c = conns[0]
        c.execute("CREATE TEMP TABLE session_state (i int)")
        c.execute("PREPARE p AS SELECT count(*) FROM session_state")
        for _ in range(5):
            c.execute("INSERT INTO session_state VALUES (1)")
        assert c.execute("EXECUTE p").fetchone() == (5,)
        assert c.execute("SELECT pg_backend_pid()").fetchone() == (pids[0],)
    finally:
        for c in conns:
            c.close()



def test_database_defaults_to_user_name(proxy):
    """A startup packet without "database" means the database named like the user."""
    px = proxy(databases={"*": None})  # only "ouro" is configured
    with RawConn(px.host, px.port) as raw:
        raw.startup("ouro", "ouro_pw", None)
        assert raw.simple_query("SELECT current_database()") == [["ouro"]]


def test_bad_startup_parameter_fails_only_that_client(proxy):
    """PostgreSQL rejects a login whose startup parameters are invalid (22023). That is the
    client's own error: other clients logging in to the same pool at the same time must not
    receive it (nor be refused because of it). A client bound to a server at login gets it at
    login; one whose login completed without a server (the pool was busy) at its first query."""
    import threading
    from ouro_testlib import ServerError
    px = proxy()
    results = {}

    def attempt(name, params):
        try:
            with RawConn(px.host, px.port, timeout=30) as raw:
                raw.startup("ouro", "ouro_pw", "ouro", dict(params, application_name=name))
                results[name] = ("ok", raw.simple_query("SHOW application_name")[0][0])
        except ServerError as e:
            results[name] = ("error", e.sqlstate, e.fields.get("M"))

    attempt("bad_alone", {"options": "-c work_mem=bogus"})
    assert results["bad_alone"][:2] == ("error", "22023")
    threads = [threading.Thread(target=attempt, args=("bad", {"options": "-c work_mem=bogus"}))]
    threads += [threading.Thread(target=attempt, args=(f"good{i}", {})) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results["bad"][:2] == ("error", "22023")
    failed = {k: v for k, v in results.items() if k.startswith("good") and v != ("ok", k)}
    assert not failed, f"good clients got another client's login error: {failed}"
