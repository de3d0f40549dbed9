#!/usr/bin/env python3
"""Unit tests of metric_names.py on a small fake repository and fake scrapes, plus a check of the
real dashboards and alert rules against the metric names agreed for the metrics endpoint (until a
real scrape test replaces it).

usage: test_metric_names.py REPO_ROOT
"""
import io
import os
import sys
import tempfile
import contextlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metric_names  # noqa: E402

# The names the metrics endpoint exports (labels database, user; see docs/operations.md).
AGREED = """
ouroboros_clients ouroboros_servers ouroboros_pool_size ouroboros_client_connections_total
ouroboros_client_connections_rejected_total ouroboros_transactions_total ouroboros_queries_total
ouroboros_received_bytes_total ouroboros_sent_bytes_total ouroboros_server_connection_attempts_total
ouroboros_server_connection_failures_total ouroboros_backoff_delay_seconds ouroboros_errors_total
ouroboros_retries_total ouroboros_slow_queries_total ouroboros_prepared_statements_client_parses_total
ouroboros_prepared_statements_server_parses_total ouroboros_prepared_statements_hits_total
ouroboros_prepared_statements_evictions_total ouroboros_query_duration_seconds
ouroboros_transaction_duration_seconds ouroboros_wait_duration_seconds
""".split()
HISTOGRAMS = {"ouroboros_query_duration_seconds", "ouroboros_transaction_duration_seconds",
              "ouroboros_wait_duration_seconds"}

failures = []


def check(condition, what):
    print(("ok: " if condition else "FAIL: ") + what)
    if not condition:
        failures.append(what)


def run(argv):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            rc = metric_names.main(argv)
        except SystemExit as e:
            rc = e.code
    return rc, out.getvalue()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def fake_scrape(names):
    lines = []
    for n in names:
        if n in HISTOGRAMS:
            lines += [f"# TYPE {n} histogram", f'{n}_bucket{{database="app",user="app",le="+Inf"}} 1',
                      f'{n}_sum{{database="app",user="app"}} 0.5', f'{n}_count{{database="app",user="app"}} 1']
        else:
            lines += [f"# HELP {n} help text", f"# TYPE {n} gauge", f'{n}{{database="app",user="app"}} 1']
    return "\n".join(lines) + "\n"


with tempfile.TemporaryDirectory() as root:
    write(f"{root}/deploy/grafana/dashboards/d.json",
          '{"targets": [{"expr": "sum(rate(ouroboros_queries_total[5m]))"},'
          ' {"expr": "histogram_quantile(0.99, sum by (le) (rate(ouroboros_wait_duration_seconds_bucket[5m])))"},'
          ' {"expr": "ouroboros_wait_duration_seconds_sum / ouroboros_wait_duration_seconds_count"}]}')
    write(f"{root}/deploy/grafana/provisioning/other.json", '{"expr": "ouroboros_clients{state=\\"waiting\\"}"}')
    write(f"{root}/deploy/prometheus/alerts.yml", "expr: ouroboros_pool_size > 0 and up{job=\"ouroboros\"}\n")
    write(f"{root}/deploy/prometheus/ignored.yaml", "expr: ouroboros_not_scanned\n")  # only *.yml

    used = metric_names.used_names(root)
    check(sorted(used) == ["ouroboros_clients", "ouroboros_pool_size", "ouroboros_queries_total",
                           "ouroboros_wait_duration_seconds"],
          f"names found in the fake repository, suffixes stripped: {sorted(used)}")

    rc, out = run(["--root", root, "--list"])
    check(rc == 0 and out.split() == sorted(used), "--list prints the names")

    scrape = os.path.join(root, "scrape.txt")
    write(scrape, fake_scrape(["ouroboros_clients", "ouroboros_pool_size", "ouroboros_queries_total",
                               "ouroboros_wait_duration_seconds", "ouroboros_unrelated"]))
    rc, out = run(["--root", root, scrape])
    check(rc == 0, "a scrape with every name passes")

    write(scrape, fake_scrape(["ouroboros_clients", "ouroboros_queries_total", "ouroboros_wait_duration_seconds"]))
    rc, out = run(["--root", root, scrape])
    check(rc == 1 and "ouroboros_pool_size" in out and "deploy/prometheus/alerts.yml" in out
          and "ouroboros_clients" not in out, "a missing name fails and is reported with the file using it")

    # Samples only, no # TYPE lines: a histogram's _bucket samples still count for the family.
    write(scrape, 'ouroboros_clients{state="idle"} 1\nouroboros_pool_size 20\nouroboros_queries_total 3\n'
                  'ouroboros_wait_duration_seconds_bucket{le="0.1"} 4\n')
    rc, out = run(["--root", root, scrape])
    check(rc == 0, "sample lines without # TYPE are understood")

    write(scrape, "")
    rc, out = run(["--root", root, scrape])
    check(rc == 1 and out.count("missing from the scrape") == 4, "an empty scrape misses every name")

    empty = os.path.join(root, "empty")
    os.makedirs(empty)
    rc, out = run(["--root", empty, "--list"])
    check(rc == 1, "no names at all is an error (wrong --root)")

# The real dashboards and alert rules use only agreed names, and the dashboard shows all of them.
repo = os.path.abspath(sys.argv[1])
used = metric_names.used_names(repo)
unknown = sorted(set(used) - set(AGREED))
check(not unknown, f"dashboards and alerts use only agreed metric names (unknown: {unknown})")
dashboard_names = {n for n, files in used.items() if any(f.endswith(".json") for f in files)}
unshown = sorted(set(AGREED) - dashboard_names)
check(not unshown, f"the dashboard shows every agreed metric (not shown: {unshown})")
with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
    f.write(fake_scrape(AGREED))
    f.flush()
    rc, out = run(["--root", repo, f.name])
    check(rc == 0, "the real repository passes against a scrape of the agreed names")

sys.exit(1 if failures else 0)
