"""`pgbench -M prepared` through a transaction pool much smaller than the client count: named
prepared statements must follow every client to whichever server runs its next transaction, and
the servers must prepare each statement about once, not once per client."""
import os
import re
import subprocess

from ouro_testlib import free_port
from test_observability_support import unlabelled_metrics
from pooling_helpers import scratch_db  # noqa: F401

CLIENTS, TRANSACTIONS, POOL = 50, 50, 5
# pgbench's built-in tpcb-like script: BEGIN, 3 UPDATEs, SELECT, INSERT, END, all prepared.
SCRIPT_STATEMENTS = 7


def _env(password):
    return dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="30")


def test_pgbench_prepared_50_clients_on_5_servers(pg, proxy, scratch_db):
    init = subprocess.run([pg.bin("pgbench"), "-i", "-s", "1", "-q", "-h", pg.host, "-p", str(pg.port),
                           "-U", pg.user, scratch_db], env=_env(pg.password), capture_output=True,
                          text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    # A metrics port of our choosing (port 0 means "no metrics listener" in the config).
    px = proxy(pool={"mode": "transaction", "size": POOL, "query_wait_timeout": "60s"},
               metrics={"host": "127.0.0.1", "port": free_port()})
    # -j equal to -c: pgbench prepares with a synchronous PQprepare, so a thread serving several
    # clients can block on one whose server is busy with another of its clients (a deadlock
    # under any transaction pooler).
    proc = subprocess.run([pg.bin("pgbench"), "-n", "-M", "prepared", "-c", str(CLIENTS), "-j", str(CLIENTS),
                           "-t", str(TRANSACTIONS), "-h", px.host, "-p", str(px.port), "-U", pg.user,
                           scratch_db], env=_env(pg.password), capture_output=True, text=True, timeout=180)
    report = f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}\nproxy log:\n{px.log_tail()}"
    assert proc.returncode == 0, report
    assert "query mode: prepared" in proc.stdout, report
    total = CLIENTS * TRANSACTIONS
    assert f"number of transactions actually processed: {total}/{total}" in proc.stdout, report
    m = re.search(r"number of failed transactions: (\d+)", proc.stdout)
    assert m and m.group(1) == "0", report
    assert "ERROR" not in proc.stderr, report
    assert pg.super_query("SELECT count(*) FROM pgbench_history", dbname=scratch_db) == [(total,)]

    counts = unlabelled_metrics(px)
    print("prepared-statement counters:", {k: v for k, v in counts.items() if "prepared" in k})
    client_parses = counts["ouroboros_prepared_statements_client_parses_total"]
    server_parses = counts["ouroboros_prepared_statements_server_parses_total"]
    hits = counts["ouroboros_prepared_statements_hits_total"]
    # Every client prepares each statement of the script once.
    assert client_parses >= CLIENTS * SCRIPT_STATEMENTS, counts
    # Each of the 5 servers prepares each statement at most once (nothing is evicted).
    assert server_parses <= POOL * SCRIPT_STATEMENTS, counts
    assert server_parses * 5 <= client_parses, counts
    assert hits > 0, counts
    assert counts["ouroboros_prepared_statements_evictions_total"] == 0, counts
    px.assert_alive()
