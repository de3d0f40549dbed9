"""The psql binary through the proxy: queries and results, errors with SQLSTATE, COPY both ways,
NOTICE messages."""
import os
import subprocess
import uuid

import pytest


@pytest.fixture
def psql(pg, proxy):
    px = proxy()

    def run(*args, input=None, check=True, timeout=60):
        env = dict(os.environ, PGPASSWORD="ouro_pw", PGCONNECT_TIMEOUT="10")
        env.pop("PGSERVICE", None)
        cmd = [pg.bin("psql"), "-X", "-h", px.host, "-p", str(px.port), "-U", "ouro", "-d",
               "ouro", *args]
        proc = subprocess.run(cmd, input=input, env=env, capture_output=True, text=True,
                              timeout=timeout)
        if check:
            assert proc.returncode == 0, (f"{cmd} exited {proc.returncode}\nstdout:{proc.stdout}"
                                          f"\nstderr:{proc.stderr}\nproxy log:\n{px.log_tail()}")
        return proc

    run.proxy = px
    return run


def test_queries_and_results(psql):
    out = psql("-A", "-t", "-F", "|", "-c",
               "SELECT 1 AS one, 'héllo wörld ✓' AS txt, NULL::int AS n, 2.5::numeric * 4").stdout
    assert out == "1|héllo wörld ✓||10.0\n"
    out = psql("-A", "-t", "-c", "SELECT sum(i), count(*) FROM generate_series(1, 100000) i").stdout
    assert out == "5000050000|100000\n"
    script = """
        CREATE TEMP TABLE t (id int PRIMARY KEY, v text);
        BEGIN;
        INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, 50) i;
        SAVEPOINT s;
        DELETE FROM t;
        ROLLBACK TO s;
        COMMIT;
        SELECT count(*), min(v), max(id) FROM t;
        SELECT current_user, current_database();
    """
    out = psql("-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", input=script).stdout
    assert out.split() == ["50|v1|50", "ouro|ouro"]


def test_error_reports_sqlstate_and_session_survives(psql):
    proc = psql("-v", "VERBOSITY=verbose", "-c", "SELECT 1/0", check=False)
    assert proc.returncode == 1
    assert "ERROR:  22012: division by zero" in proc.stderr
    script = ("\\set VERBOSITY verbose\n"
              "SELECT * FROM no_such_table_xyz;\n"
              "SELECT 'after error';\n")
    proc = psql("-A", "-t", input=script, check=False)
    assert "ERROR:  42P01: relation \"no_such_table_xyz\" does not exist" in proc.stderr
    assert "after error" in proc.stdout


def test_copy_from_stdin_and_to_stdout_round_trip(psql):
    table = f"copy_rt_{uuid.uuid4().hex[:8]}"
    rows = "".join(f"{i}\trow number {i}\t{'x' * (i % 50)}\n" for i in range(1, 10001))
    psql("-c", f"CREATE TABLE {table} (id int, label text, pad text)")
    try:
        proc = psql("-c", f"COPY {table} FROM STDIN", input=rows)
        assert proc.stdout.strip() == "COPY 10000"
        out = psql("-c", f"COPY (SELECT * FROM {table} ORDER BY id) TO STDOUT").stdout
        assert out == rows
        assert psql("-A", "-t", "-c", f"SELECT count(*), sum(id) FROM {table}").stdout == \
            "10000|50005000\n"
    finally:
        psql("-c", f"DROP TABLE {table}")


def test_copy_from_stdin_bad_data_reports_error_and_session_survives(psql):
    script = ("\\set VERBOSITY verbose\n"
              "CREATE TEMP TABLE c (i int);\n"
              "COPY c FROM STDIN;\n1\n2\nnot-a-number\n4\n\\.\n"
              "SELECT 'usable', count(*) FROM c;\n")
    proc = psql("-A", "-t", input=script, check=False)
    assert "ERROR:  22P02: invalid input syntax for type integer" in proc.stderr, proc.stderr
    assert proc.stdout.strip().endswith("usable|0"), proc.stdout


def test_notice_reaches_client(psql):
    proc = psql("-c", "DO $$BEGIN RAISE NOTICE 'hello from %', 'plpgsql'; END$$")
    assert "NOTICE:  hello from plpgsql" in proc.stderr
    proc = psql("-v", "VERBOSITY=verbose", "-c",
                "DO $$BEGIN RAISE WARNING 'careful' USING ERRCODE = '01ABC'; END$$")
    assert "WARNING:  01ABC: careful" in proc.stderr
