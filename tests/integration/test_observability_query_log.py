"""The query log (src/proxy/query_log.cpp): one `query_failed` record per failed statement and one
`slow_query` record per statement slower than logging.slow_query_threshold, with the statement's
literals redacted (unless logging.log_literals; passwords always), its context (database, user,
application_name, client, duration) and the trace id of a sqlcommenter traceparent comment."""
import re

import psycopg
import pytest

from ouro_testlib import raw_connect, ServerError, wait_for
from pooling_helpers import (connect, rewrite_config, scratch_db,  # noqa: F401
                             sighup, wait_log)
from test_observability_support import (json_records, metric_value, metrics_settings, scrape,
                                        wait_records)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"/*traceparent='00-{TRACE_ID}-00f067aa0ba902b7-01'*/"
MISSING = "SELECT * FROM obs_missing_table WHERE name = 'secret-literal'"
JSON_LOG = {"format": "json"}
# Slow means 1s: a statement that sleeps 1.2s always passes it; a round trip of SELECT 1 (some
# milliseconds, even on a loaded machine under ASan) is far from it.
SLOW_LOG = {"format": "json", "slow_query_threshold": "1s"}
SLEEP = "pg_sleep(1.2)"


def run_failing(conn, sql, prepare=None):
    with pytest.raises(psycopg.Error) as info:
        conn.execute(sql, prepare=prepare)
    return info.value


def settled(px, conn, event, count):
    """Waits for `count` records of event, then runs one more round trip and returns all records
    of event (a duplicate written late would show up)."""
    wait_records(px, event, count)
    assert conn.execute("SELECT 1").fetchone() == (1,)
    return json_records(px, event)


def test_failed_query_record_is_redacted(pg, proxy):
    px = proxy(logging=JSON_LOG)
    with connect(px, pg.dbname, application_name="obs-failed") as conn:
        error = run_failing(conn, MISSING)
        assert error.sqlstate == "42P01"
        records = settled(px, conn, "query_failed", 1)
    assert len(records) == 1, records
    r = records[0]
    assert r["sqlstate"] == "42P01", r
    assert r["severity"] == "ERROR", r
    assert 'relation "obs_missing_table" does not exist' in r["error"], r
    assert "secret-literal" not in r["statement"], r
    assert r["statement"] == "SELECT * FROM obs_missing_table WHERE name = ?", r
    assert r["database"] == pg.dbname and r["user"] == "ouro", r
    assert r["application_name"] == "obs-failed", r
    assert re.fullmatch(r"127\.0\.0\.1:\d+", r["client"]), r
    assert isinstance(r["duration_ms"], (int, float)) and r["duration_ms"] >= 0, r
    assert r["level"] == "warning" or r["level"] == "warn", r
    assert "statement_name" not in r and "trace_id" not in r, r
    # The literal appears nowhere in the log.
    assert "secret-literal" not in px.log_text()


def test_failed_query_with_log_literals(pg, proxy):
    px = proxy(logging={"format": "json", "log_literals": True})
    with connect(px, pg.dbname) as conn:
        run_failing(conn, MISSING)
        records = settled(px, conn, "query_failed", 1)
    assert len(records) == 1, records
    assert records[0]["statement"] == MISSING, records


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_failed_prepared_statement_has_its_name(pg, proxy, mode):
    # In transaction mode the proxy maps client statement names onto its server-side cache; the
    # record names the client's statement.
    px = proxy(logging=JSON_LOG, pool={"mode": mode})
    with psycopg.connect(px.dsn(dbname=pg.dbname), autocommit=True) as conn:
        # Prepares fine (Parse creates the name) and fails when executed with 0.
        assert conn.execute("SELECT 7 / %s::int", (1,), prepare=True).fetchone() == (7,)
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute("SELECT 7 / %s::int", (0,), prepare=True)
        records = settled(px, conn, "query_failed", 1)
    assert len(records) == 1, records
    r = records[0]
    assert r["sqlstate"] == "22012", r
    assert r["statement"] == "SELECT ? / $1::int", r  # $1 stays: its value is not in the text
    assert re.fullmatch(r"_pg3_\d+", r.get("statement_name", "")), r


@pytest.mark.parametrize("sql, sqlstate", [
    ("ALTER ROLE obs_no_such_role PASSWORD 'pw-literal'", "42704"),
    ("CREATE USER MAPPING FOR obs_no_such_role SERVER obs_no_such_server "
     "OPTIONS (\"password\" 'pw-literal')", "42704"),
    ("DO $$BEGIN EXECUTE 'ALTER ROLE obs_no_such_role PASSWORD ''pw-literal'''; END$$", "42704"),
    ("SELECT obs_no_such_dblink_connect('host=db password=pw-literal')", "42883"),
    ("SELECT * FROM obs_missing_table WHERE c = 'postgresql://app:pw-literal@db/app'", "42P01"),
], ids=["alter-role", "user-mapping", "do-body", "conninfo", "uri"])
def test_password_is_redacted_even_with_log_literals(pg, proxy, sql, sqlstate):
    px = proxy(logging={"format": "json", "log_literals": True})
    with connect(px, pg.dbname) as conn:
        error = run_failing(conn, sql)
        assert error.sqlstate == sqlstate, error
        records = settled(px, conn, "query_failed", 1)
    assert len(records) == 1, records
    assert records[0]["sqlstate"] == sqlstate, records
    assert "pw-literal" not in records[0]["statement"], records
    assert "pw-literal" not in px.log_text()


def test_slow_query_record_and_counter(pg, proxy):
    px = proxy(logging=SLOW_LOG, metrics=metrics_settings())
    with connect(px, pg.dbname, application_name="obs-slow") as conn:
        conn.execute("SELECT 1").fetchall()  # fast: no record
        conn.execute(f"SELECT {SLEEP}").fetchall()
        records = settled(px, conn, "slow_query", 1)
    assert records[0].get("rows") == 1 and isinstance(records[0]["wait_ms"], (int, float)), \
        records
    assert len(records) == 1, records
    r = records[0]
    assert r["statement"] == "SELECT pg_sleep(?)", r
    assert r["duration_ms"] >= 1000, r  # the threshold the record claims to have passed
    assert r["application_name"] == "obs-slow" and r["database"] == pg.dbname, r
    assert "sqlstate" not in r, r
    assert json_records(px, "query_failed") == []
    assert metric_value(scrape(px), "ouroboros_slow_queries_total", database=pg.dbname,
                        user="ouro") == 1


def test_fast_queries_are_not_logged_as_slow(pg, proxy):
    """Fast queries, and a fast failing one, get no slow_query record: the slow statement run
    after them gets the only one (its record is written after theirs would have been)."""
    px = proxy(logging=SLOW_LOG)
    with connect(px, pg.dbname) as conn:
        for _ in range(5):
            conn.execute("SELECT 1").fetchall()
        # A failing fast query is logged as failed, not as slow.
        run_failing(conn, MISSING)
        wait_records(px, "query_failed", 1)
        conn.execute("SELECT 2").fetchall()
        conn.execute(f"SELECT 'sentinel', {SLEEP}").fetchall()
        slow = settled(px, conn, "slow_query", 1)
    assert [r["statement"] for r in slow] == ["SELECT ?, pg_sleep(?)"], slow


def test_traceparent_becomes_trace_id(pg, proxy):
    px = proxy(logging=SLOW_LOG)
    with connect(px, pg.dbname) as conn:
        run_failing(conn, f"{MISSING} {TRACEPARENT}")
        conn.execute(f"SELECT {SLEEP} {TRACEPARENT}").fetchall()
        failed = settled(px, conn, "query_failed", 1)
        slow = settled(px, conn, "slow_query", 1)
    assert len(failed) == 1 and len(slow) == 1, (failed, slow)
    assert failed[0]["trace_id"] == TRACE_ID, failed
    assert slow[0]["trace_id"] == TRACE_ID, slow
    # The comment stays in the (redacted) statement text; the literal does not.
    assert "secret-literal" not in failed[0]["statement"], failed


def test_simple_protocol_failure_is_logged_once(pg, proxy):
    px = proxy(logging=JSON_LOG)
    raw = raw_connect(px, dbname=pg.dbname, params={"application_name": "obs-raw"})
    try:
        with pytest.raises(ServerError) as info:
            raw.simple_query(MISSING)
        assert info.value.sqlstate == "42P01"
        wait_records(px, "query_failed", 1)
        assert raw.simple_query("SELECT 1") == [["1"]]
    finally:
        raw.terminate()
    records = json_records(px, "query_failed")
    assert len(records) == 1, records
    assert records[0]["application_name"] == "obs-raw", records
    assert records[0]["statement"] == "SELECT * FROM obs_missing_table WHERE name = ?", records


def test_text_format_failed_record(pg, proxy):
    px = proxy(logging={"format": "text"})
    with connect(px, pg.dbname, application_name="obs-text") as conn:
        run_failing(conn, MISSING)
        wait_log(px, r'query_failed sqlstate="42P01"')
        conn.execute("SELECT 1").fetchall()
    lines = [line for line in px.log_text().splitlines() if "query_failed" in line]
    assert len(lines) == 1, lines
    line = lines[0]
    assert 'query_failed sqlstate="42P01" severity="ERROR"' in line, line
    assert 'statement="SELECT * FROM obs_missing_table WHERE name = ?"' in line, line
    assert 'application_name="obs-text"' in line and 'user="ouro"' in line, line
    assert re.search(r'duration_ms="\d+\.\d{3}"', line), line
    assert "secret-literal" not in px.log_text()
    assert json_records(px) == []  # text format: no JSON lines


def test_json_escaping_keeps_the_statement_exact(pg, proxy):
    px = proxy(logging={"format": "json", "log_literals": True})
    literal = "tab\there \"dq\" back\\slash\nnew line \x01\x7f é ☃"
    sql = f"SELECT '{literal}' FROM obs_missing_table"
    app = 'app "quoted"\\'
    with connect(px, pg.dbname, application_name=app) as conn:
        run_failing(conn, sql)
        records = settled(px, conn, "query_failed", 1)
    assert len(records) == 1, records
    assert records[0]["statement"] == sql, records
    assert records[0]["application_name"] == app, records
    # One record, one line.
    assert len([line for line in px.log_text().splitlines() if "query_failed" in line]) == 1


def test_text_format_keeps_a_multiline_statement_on_one_line(pg, proxy):
    px = proxy(logging={"format": "text", "log_literals": True})
    with connect(px, pg.dbname) as conn:
        run_failing(conn, "SELECT 'two\nlines'\nFROM obs_missing_table")
        wait_log(px, r'query_failed sqlstate="42P01"')
    lines = [line for line in px.log_text().splitlines() if "query_failed" in line]
    assert len(lines) == 1, lines
    assert r'''statement="SELECT 'two\nlines'\nFROM obs_missing_table"''' in lines[0], lines


def test_multi_statement_query_gets_one_record(pg, proxy):
    px = proxy(logging=SLOW_LOG)
    raw = raw_connect(px, dbname=pg.dbname)
    try:
        with pytest.raises(ServerError):
            raw.simple_query(f"SELECT {SLEEP}; SELECT * FROM obs_missing_table "
                             "WHERE name = 'secret-literal'")
        wait_records(px, "query_failed", 1)
        wait_records(px, "slow_query", 1)  # slow and failed: both records
        assert raw.simple_query("SELECT 1") == [["1"]]
    finally:
        raw.terminate()
    failed, slow = json_records(px, "query_failed"), json_records(px, "slow_query")
    assert len(failed) == 1 and len(slow) == 1, (failed, slow)
    expected = "SELECT pg_sleep(?); SELECT * FROM obs_missing_table WHERE name = ?"
    assert failed[0]["statement"] == expected and slow[0]["statement"] == expected, failed
    assert failed[0].get("rows") == 1, failed  # the first statement's "SELECT 1" tag
    assert "secret-literal" not in px.log_text()


def test_unique_violation_has_detail(pg, proxy, scratch_db):
    with psycopg.connect(pg.dsn(dbname=scratch_db), autocommit=True) as conn:
        conn.execute("CREATE TABLE u (id int PRIMARY KEY)")
    px = proxy(logging={"format": "json"})
    with connect(px, scratch_db) as conn:
        conn.execute("INSERT INTO u VALUES (1)")
        run_failing(conn, "INSERT INTO u VALUES (1)")
        records = settled(px, conn, "query_failed", 1)
    assert len(records) == 1, records
    r = records[0]
    assert r["sqlstate"] == "23505" and r["detail"].startswith("Key (id)="), r
    assert r["statement"] == "INSERT INTO u VALUES (?)", r
    assert isinstance(r["wait_ms"], (int, float)), r


def test_log_level_and_reload(pg, proxy):
    """query_failed needs level warn or lower; a reload (SIGHUP) switches the level and
    log_literals (confirmed through the admin console's SHOW CONFIG)."""
    px = proxy(logging={"format": "json"}, admin={"users": ["ouro"]})

    def reload_to(**logging):
        rewrite_config(px, dict(px.config, logging=dict({"format": "json"}, **logging)))
        sighup(px)
        want = {f"logging.{k}": ("yes" if v is True else "no" if v is False else str(v))
                for k, v in logging.items()}

        def applied():
            admin = raw_connect(px, dbname="ouroboros")
            try:
                config = {k: v for k, v, _, _ in admin.simple_query("SHOW CONFIG")}
            finally:
                admin.terminate()
            return all(config.get(k) in (v, v.replace("yes", "true").replace("no", "false"))
                       for k, v in want.items())
        wait_for(applied, 15, message=f"the reload to apply {logging}")

    with connect(px, pg.dbname) as conn:
        reload_to(level="error")
        run_failing(conn, MISSING)
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert json_records(px, "query_failed") == []
        reload_to(level="info", log_literals=True)
        run_failing(conn, MISSING)
        records = settled(px, conn, "query_failed", 1)
    assert len(records) == 1 and records[0]["statement"] == MISSING, records
