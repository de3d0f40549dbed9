"""pgbench through the proxy in session mode, with each query protocol."""
import os
import re
import subprocess

import pytest

CLIENTS, THREADS, TRANSACTIONS = 10, 2, 200


def _env(password):
    return dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="10")


@pytest.fixture(scope="module")
def pgbench_tables(pg):
    """pgbench -i straight on PostgreSQL (not through the proxy), small scale."""
    proc = subprocess.run([pg.bin("pgbench"), "-i", "-s", "2", "-q", "-h", pg.host, "-p",
                           str(pg.port), "-U", pg.user, pg.dbname], env=_env(pg.password),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return pg


@pytest.mark.parametrize("mode", ["simple", "extended", "prepared"])
def test_pgbench_through_proxy(pgbench_tables, proxy, mode):
    pg = pgbench_tables
    px = proxy(pool={"mode": "session", "size": 20})
    pg.super_query("TRUNCATE pgbench_history", dbname=pg.dbname)
    before = pg.super_query("SELECT sum(abalance), sum(bbalance), sum(tbalance) FROM "
                            "(SELECT sum(abalance) abalance FROM pgbench_accounts) a, "
                            "(SELECT sum(bbalance) bbalance FROM pgbench_branches) b, "
                            "(SELECT sum(tbalance) tbalance FROM pgbench_tellers) t",
                            dbname=pg.dbname)[0]
    proc = subprocess.run([pg.bin("pgbench"), "-n", "-c", str(CLIENTS), "-j", str(THREADS),
                           "-t", str(TRANSACTIONS), "-M", mode, "-h", px.host, "-p",
                           str(px.port), "-U", "ouro", "ouro"],
                          env=_env("ouro_pw"), capture_output=True, text=True, timeout=240)
    report = f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}\nproxy log:\n{px.log_tail()}"
    assert proc.returncode == 0, report
    assert f"query mode: {mode}" in proc.stdout, report
    total = CLIENTS * TRANSACTIONS
    assert f"number of transactions actually processed: {total}/{total}" in proc.stdout, report
    m = re.search(r"number of failed transactions: (\d+)", proc.stdout)
    assert m and m.group(1) == "0", report
    # Every transaction really happened on the server, and the books still balance.
    assert pg.super_query("SELECT count(*) FROM pgbench_history", dbname=pg.dbname) == [(total,)]
    delta = pg.super_query("SELECT sum(delta) FROM pgbench_history", dbname=pg.dbname)[0][0]
    after = pg.super_query("SELECT sum(abalance), sum(bbalance), sum(tbalance) FROM "
                           "(SELECT sum(abalance) abalance FROM pgbench_accounts) a, "
                           "(SELECT sum(bbalance) bbalance FROM pgbench_branches) b, "
                           "(SELECT sum(tbalance) tbalance FROM pgbench_tellers) t",
                           dbname=pg.dbname)[0]
    assert [a - b for a, b in zip(after, before)] == [delta, delta, delta]
    px.assert_alive()
