"""The HTTP endpoints of the metrics listener (config `metrics:`): /metrics scraped during and
after a pgbench run in transaction mode (counters agree with pgbench, the exposition passes
`promtool check metrics`), /healthz, and /readyz following the backend (503 while it is
unreachable) and the proxy's lifecycle (503 during a graceful shutdown)."""
import os
import re
import signal
import socket
import subprocess
import threading

import psycopg

from ouro_testlib import missing_dependency, wait_for
from pooling_helpers import (Runner, backend_entry, client_dsn, connect,  # noqa: F401
                             private_cluster, scratch_db)
from test_observability_support import (http_get, metric_value, metrics_settings, parse_samples,
                                        scrape, scrape_text)

PROMTOOL = "/usr/bin/promtool"
CLIENTS, TRANSACTIONS = 5, 200


def promtool_check(text):
    if not os.access(PROMTOOL, os.X_OK):
        missing_dependency(f"{PROMTOOL} is not installed (Debian package prometheus)")
    proc = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, (f"promtool check metrics failed ({proc.returncode}):\n"
                                  f"{proc.stdout}{proc.stderr}")


def pool_value(samples, name, dbname, **labels):
    return metric_value(samples, name, database=dbname, user="ouro", **labels)


def test_metrics_during_and_after_pgbench(pg, proxy, scratch_db):
    env = dict(os.environ, PGPASSWORD=pg.password, PGCONNECT_TIMEOUT="10")
    init = subprocess.run([pg.bin("pgbench"), "-i", "-s", "1", "-q", "-h", pg.host, "-p",
                           str(pg.port), "-U", pg.user, scratch_db], env=env,
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    px = proxy(pool={"mode": "transaction", "size": 5}, metrics=metrics_settings())
    # One transaction first so the pool (and its series) exists before pgbench.
    with connect(px, scratch_db) as conn:
        conn.execute("SELECT 1").fetchall()
    before = scrape(px)
    assert pool_value(before, "ouroboros_transactions_total", scratch_db) >= 1

    stop = threading.Event()
    scrapes = []

    def scraper():
        while not stop.is_set():
            scrapes.append(scrape_text(px))
            stop.wait(0.1)

    sampler = Runner(scraper, name="scraper")
    sampler.start()
    try:
        bench = subprocess.run([pg.bin("pgbench"), "-n", "-c", str(CLIENTS), "-j", str(CLIENTS),
                                "-t", str(TRANSACTIONS), "-h", px.host, "-p", str(px.port),
                                "-U", "ouro", scratch_db],
                               env=dict(env, PGPASSWORD="ouro_pw"), capture_output=True,
                               text=True, timeout=240)
    finally:
        stop.set()
    sampler.join_result(30)
    report = f"stdout:\n{bench.stdout}\nstderr:\n{bench.stderr}\nproxy log:\n{px.log_tail()}"
    assert bench.returncode == 0, report
    m = re.search(r"number of transactions actually processed: (\d+)", bench.stdout)
    assert m, report
    processed = int(m.group(1))
    assert processed == CLIENTS * TRANSACTIONS, report

    assert scrapes, "no scrape was taken while pgbench ran"
    for text in (scrapes[0], scrapes[len(scrapes) // 2], scrapes[-1]):
        promtool_check(text)
    final_text = scrape_text(px)
    promtool_check(final_text)
    after = parse_samples(final_text)

    def delta(name, **labels):
        return pool_value(after, name, scratch_db, **labels) - \
            pool_value(before, name, scratch_db, **labels)

    assert delta("ouroboros_transactions_total") >= processed
    # TPC-B: 7 statements per transaction, each answered with its own ReadyForQuery.
    assert delta("ouroboros_queries_total") >= 7 * processed
    assert delta("ouroboros_query_duration_seconds_count") >= 7 * processed
    assert delta("ouroboros_transaction_duration_seconds_count") >= processed
    assert delta("ouroboros_query_duration_seconds_sum") > 0
    assert pool_value(after, "ouroboros_query_duration_seconds_bucket", scratch_db, le="+Inf") \
        == pool_value(after, "ouroboros_query_duration_seconds_count", scratch_db)
    assert delta("ouroboros_received_bytes_total") > 0
    assert delta("ouroboros_sent_bytes_total") > 0
    assert pool_value(after, "ouroboros_received_bytes_total", scratch_db) > 0
    assert pool_value(after, "ouroboros_sent_bytes_total", scratch_db) > 0
    assert pool_value(after, "ouroboros_pool_size", scratch_db) == 5
    assert pool_value(after, "ouroboros_errors_total", scratch_db) == 0
    assert metric_value(after, "ouroboros_client_connections_total") >= CLIENTS + 1
    # Counters never go backwards between scrapes.
    series = [parse_samples(t) for t in scrapes] + [after]
    counts = [pool_value(s, "ouroboros_transactions_total", scratch_db) for s in series]
    assert counts == sorted(counts), counts
    # The same numbers as the admin console would see: SHOW STATS is checked in test_admin_*.
    assert http_get(px, "/healthz")[0] == 200
    assert http_get(px, "/readyz") == (200, "ready\n")
    status, body = http_get(px, "/nope")
    assert status == 404, (status, body)


def test_readyz_follows_the_backend(proxy, private_cluster):
    cluster = private_cluster
    px = proxy(pool={"mode": "transaction", "size": 2, "query_wait_timeout": "60s",
                     "backoff": {"initial": "100ms", "max": "500ms"}},
               databases={"ouro": backend_entry(cluster.host, cluster.port), "*": None},
               metrics=metrics_settings())
    assert http_get(px, "/healthz") == (200, "ok\n")
    with connect(px, "ouro") as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert http_get(px, "/readyz") == (200, "ready\n")
    assert metric_value(scrape(px), "ouroboros_ready") == 1

    cluster.stop()

    def attempt():
        with psycopg.connect(client_dsn(px, "ouro", connect_timeout=60), autocommit=True,
                             prepare_threshold=None) as conn:
            return conn.execute("SELECT 'after the outage'").fetchone()[0]

    waiting = Runner(attempt, name="client during the outage")
    waiting.start()
    wait_for(lambda: http_get(px, "/readyz")[0] == 503, 20,
             message=f"/readyz to answer 503 while the backend is down:\n{px.log_tail()}")
    status, body = http_get(px, "/readyz")
    assert (status, body) == (503, "backend unreachable\n"), (status, body)
    assert http_get(px, "/healthz") == (200, "ok\n")  # alive, just not ready
    samples = scrape(px)
    assert metric_value(samples, "ouroboros_ready") == 0
    assert metric_value(samples, "ouroboros_pool_reachable", database="ouro", user="ouro") == 0
    assert metric_value(samples, "ouroboros_server_connection_failures_total",
                        database="ouro", user="ouro") >= 1
    assert waiting.is_alive(), "the client did not wait for the backend"

    cluster.start_again()
    assert waiting.join_result(60) == "after the outage"
    wait_for(lambda: http_get(px, "/readyz")[0] == 200, 20,
             message="/readyz to answer 200 once the backend is back")
    samples = scrape(px)
    assert metric_value(samples, "ouroboros_ready") == 1
    assert metric_value(samples, "ouroboros_pool_reachable", database="ouro", user="ouro") == 1


def test_readyz_is_503_during_graceful_shutdown(pg, proxy):
    px = proxy(pool={"mode": "transaction"}, timeouts={"shutdown_timeout": "30s"},
               metrics=metrics_settings())
    assert http_get(px, "/readyz") == (200, "ready\n")
    conn = psycopg.connect(px.dsn(dbname=pg.dbname), autocommit=False, prepare_threshold=None)
    try:
        assert conn.execute("SELECT 'in a transaction'").fetchone() == ("in a transaction",)
        px.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: http_get(px, "/readyz")[0] == 503, 15,
                 message=f"/readyz to answer 503 after SIGTERM:\n{px.log_tail()}")
        assert http_get(px, "/readyz") == (503, "shutting down\n")
        assert metric_value(scrape(px), "ouroboros_ready") == 0
        # The open transaction still finishes through the draining proxy.
        assert conn.execute("SELECT 'still served'").fetchone() == ("still served",)
        conn.commit()
    finally:
        conn.close()
    wait_for(lambda: px.proc.poll() is not None, 30, message="the proxy to exit after the drain")
    px.stopped = True
    assert px.proc.returncode == 0, f"exit code {px.proc.returncode}; log:\n{px.log_tail()}"
    assert not px.sanitizer_reports(), "\n".join(px.sanitizer_reports())


def raw_http(px, data, deadline=10):
    """Sends raw bytes to the metrics listener; returns everything it answers until it closes."""
    metrics = px.config["metrics"]
    with socket.create_connection((metrics["host"], metrics["port"]), timeout=deadline) as s:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                return out
            out += chunk
        return out


def test_odd_http_requests(pg, proxy):
    px = proxy(metrics=metrics_settings())
    assert http_get(px, "/healthz")[0] == 200
    cases = [
        (b"GARBAGE\r\n\r\n", b"HTTP/1.1 400 "),
        (b"\x00" * 1000 + b"\r\n\r\n", b"HTTP/1.1 400 "),
        (b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 200000 + b"\r\n\r\n", b"HTTP/1.1 431 "),
        (b"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello", b"HTTP/1.1 405 "),
        (b"GET /healthz HTTP/1.0\r\n\r\n", b"HTTP/1.1 200 "),
        (b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n", b"HTTP/1.1 200 "),
    ]
    for request, status in cases:
        answer = raw_http(px, request)
        assert answer.startswith(status), (request[:40], answer[:200])
        px.assert_alive()
    head = raw_http(px, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert head.endswith(b"\r\n\r\n"), head  # HEAD: headers only
    assert b"version=0.0.4" in head, head
    # A client that sends half a request and stalls does not block the others.
    metrics = px.config["metrics"]
    with socket.create_connection((metrics["host"], metrics["port"]), timeout=10) as stalled:
        stalled.sendall(b"GET /metr")
        assert http_get(px, "/healthz") == (200, "ok\n")
        promtool_check(scrape_text(px))
    px.assert_alive()
