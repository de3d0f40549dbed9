"""Self-checks of the test harness itself (no proxy needed): the PostgreSQL cluster fixture, the
pgcluster lifecycle, the raw protocol client and the config writer."""
import os

import psycopg
import pytest
import yaml

from ouro_testlib import PgInfo, RawConn, ServerError, default_config, deep_merge


def test_pg_fixture_ordinary_user_over_scram(pg):
    with psycopg.connect(pg.dsn()) as conn:
        user, db, su = conn.execute(
            "SELECT current_user, current_database(), "
            "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)").fetchone()
    assert (user, db, su) == ("ouro", "ouro", False)
    rows = pg.super_query("SELECT rolpassword FROM pg_authid WHERE rolname = 'ouro'")
    assert rows[0][0].startswith("SCRAM-SHA-256$")
    assert pg.super_query("SHOW max_connections") == [("300",)]


def test_raw_client_against_postgres(pg):
    with RawConn(pg.host, pg.port) as raw:
        raw.startup(pg.user, pg.password, pg.dbname, {"application_name": "raw_check"},
                    ssl_request=False)
        assert raw.parameters["application_name"] == "raw_check"
        assert raw.simple_query("SELECT pg_backend_pid()") == [[str(raw.backend_pid)]]
        with pytest.raises(ServerError) as e:
            raw.simple_query("SELECT 1/0")
        assert e.value.sqlstate == "22012"
        assert raw.simple_query("SELECT 'still', NULL") == [["still", None]]
    with RawConn(pg.host, pg.port) as raw, pytest.raises(ServerError) as e:
        raw.startup(pg.user, "wrong", pg.dbname)
    assert e.value.sqlstate == "28P01"


def test_pgcluster_lifecycle(tmp_path):
    from pgcluster import PgCluster
    import tempfile
    base = tempfile.mkdtemp(prefix="ouro-pgtest-")
    os.chmod(base, 0o755)
    cluster = PgCluster(os.path.join(base, "c"))
    try:
        cluster.start()
        port = cluster.port
        info = PgInfo.load(cluster.conninfo_path)
        assert info.port == port
        assert cluster.psql("SELECT 1").strip() == "1"
        cluster.stop()
        assert not cluster.is_running()
        cluster.stop()  # tolerant when already stopped
        again = PgCluster(cluster.base_dir)  # picks the port up from conninfo.json
        again.start_again()
        assert again.port == port and again.is_running()
        again.restart()
        with psycopg.connect(info.dsn()) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("ouro",)
        PgCluster(cluster.base_dir).start()  # start over an existing one: replaces it
        assert PgCluster(cluster.base_dir).is_running()
    finally:
        PgCluster(cluster.base_dir).destroy()
        os.rmdir(base)
    assert not os.path.exists(cluster.base_dir)


def test_config_rendering(pg, tmp_path):
    cfg = deep_merge(default_config(pg), {"auth": {"type": "md5"}, "databases": {"*": None},
                                          "limits": {"max_client_connections": 5}})
    text = yaml.safe_dump(cfg, default_flow_style=False, sort_keys=False)
    back = yaml.safe_load(text)
    assert back["auth"] == {"type": "md5", "users": {"ouro": {"password": "ouro_pw"}}}
    assert list(back["databases"]) == ["ouro"]
    assert back["databases"]["ouro"] == {"host": "127.0.0.1", "port": pg.port}
    assert back["limits"]["max_client_connections"] == 5
    assert back["limits"]["max_message_size"] == "64MB"
