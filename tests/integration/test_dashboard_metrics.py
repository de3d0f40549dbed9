"""The Grafana dashboards (deploy/grafana) and Prometheus alert rules (deploy/prometheus) against a
real scrape: every ouroboros_* name they use is exported (tests/packaging/metric_names.py), the
labels they select and group by exist on those series, and the alerts' inputs move when the
thing they alert on happens."""
import glob
import json
import os
import re
import subprocess
import sys

import psycopg
import pytest
import yaml

from ouro_testlib import SOURCE_DIR, connect_error_sqlstate, wait_for
from test_observability_support import metric_value, metrics_settings, scrape, scrape_text

METRIC_NAMES = os.path.join(SOURCE_DIR, "tests", "packaging", "metric_names.py")
# Labels Prometheus or Kubernetes add, not the proxy.
TARGET_LABELS = {"job", "instance", "namespace", "pod"}
SELECTOR_RE = re.compile(r"(ouroboros_[a-z_]+)\s*(\{[^}]*\})?")
MATCHER_RE = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
GROUPING_RE = re.compile(r"\bby\s*\(([^)]*)\)")  # `without` needs no label to exist


@pytest.fixture
def busy_proxy(pg, proxy):
    """A transaction-mode proxy that has served transactions, a failed query and a prepared
    statement, so every family has samples."""
    px = proxy(pool={"mode": "transaction"}, metrics=metrics_settings())
    with psycopg.connect(px.dsn(dbname=pg.dbname), autocommit=True) as conn:
        conn.execute("SELECT 1").fetchall()
        with conn.transaction():
            conn.execute("SELECT 2").fetchall()
        conn.execute("SELECT %s::int", (3,), prepare=True).fetchall()
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT * FROM obs_dashboard_missing")
    wait_for(lambda: metric_value(scrape(px), "ouroboros_transactions_total",
                                  database=pg.dbname, user="ouro") >= 2, 10,
             message="the transactions to be counted")
    return px


def deploy_expressions():
    """[(file, PromQL expression)] of the dashboards' targets and the alert rules."""
    out = []
    for path in sorted(glob.glob(os.path.join(SOURCE_DIR, "deploy", "grafana", "**", "*.json"),
                                 recursive=True)):
        with open(path) as f:
            doc = json.load(f)

        def walk(node):
            if isinstance(node, dict):
                if isinstance(node.get("expr"), str):
                    out.append((os.path.relpath(path, SOURCE_DIR), node["expr"]))
                if isinstance(node.get("query"), str) and "ouroboros_" in node["query"]:
                    out.append((os.path.relpath(path, SOURCE_DIR), node["query"]))
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)
        walk(doc)
    for path in sorted(glob.glob(os.path.join(SOURCE_DIR, "deploy", "prometheus", "*.yml"))):
        with open(path) as f:
            doc = yaml.safe_load(f) or {}
        for group in doc.get("groups") or []:
            for rule in group.get("rules") or []:
                if "expr" in rule:
                    out.append((os.path.relpath(path, SOURCE_DIR), str(rule["expr"])))
    return out


def series_labels(samples):
    """{family name: set of label names seen on its samples} (histogram suffixes folded)."""
    labels = {}
    for name, ls, _ in samples:
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix):
                labels.setdefault(name[: -len(suffix)], set()).update(set(ls) - {"le"})
        labels.setdefault(name, set()).update(ls)
    return labels


def test_metric_names_of_dashboards_and_alerts_are_exported(busy_proxy, tmp_path):
    text = scrape_text(busy_proxy)
    path = tmp_path / "scrape.txt"
    path.write_text(text)
    proc = subprocess.run([sys.executable, METRIC_NAMES, "--root", SOURCE_DIR, str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"{proc.stdout}{proc.stderr}"
    assert re.search(r"all \d+ metric names used by the dashboards and alert rules are in the "
                     r"scrape", proc.stdout), proc.stdout
    # The same straight from the endpoint (the script fetches http:// URLs itself).
    url = f"http://{busy_proxy.config['metrics']['host']}:{busy_proxy.config['metrics']['port']}" \
          "/metrics"
    proc = subprocess.run([sys.executable, METRIC_NAMES, "--root", SOURCE_DIR, url],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"{proc.stdout}{proc.stderr}"
    listed = subprocess.run([sys.executable, METRIC_NAMES, "--root", SOURCE_DIR, "--list"],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and listed.stdout.split(), listed
    # Every name used has samples (not just a # TYPE line) once traffic has passed.
    sampled = {n for n, _, _ in scrape(busy_proxy)}
    families = {re.sub(r"_(bucket|sum|count)$", "", n) for n in sampled} | sampled
    assert not [n for n in listed.stdout.split() if n not in families], listed.stdout


def test_dashboard_and_alert_labels_exist_on_the_series(busy_proxy):
    labels = series_labels(scrape(busy_proxy))
    problems = []
    for path, expr in deploy_expressions():
        grouping = set()
        for group in GROUPING_RE.findall(expr):
            grouping |= {g.strip() for g in group.split(",") if g.strip()}
        for name, selector in SELECTOR_RE.findall(expr):
            family = re.sub(r"_(bucket|sum|count)$", "", name)
            if family not in labels:
                continue  # a missing name is the other test's business
            used = set(MATCHER_RE.findall(selector or "")) | grouping
            used -= TARGET_LABELS | {"le"}
            missing = used - labels[family]
            if missing:
                problems.append(f"{path}: {name} has no label(s) {sorted(missing)} "
                                f"(has {sorted(labels[family])}) in: {expr.strip()[:160]}")
    assert not problems, "\n".join(sorted(set(problems)))


def test_backend_login_failure_counts_as_class_28_error(pg, proxy):
    # The proxy knows "obs_badpw" with a password PostgreSQL has never heard of.
    px = proxy(metrics=metrics_settings(),
               auth={"users": {"ouro": {"password": "ouro_pw"},
                               "obs_badpw": {"password": "not-the-real-one"}}})
    assert connect_error_sqlstate(px.host, px.port, "obs_badpw", "not-the-real-one",
                                  pg.dbname) == "28P01"
    samples = scrape(px)
    assert metric_value(samples, "ouroboros_server_connection_failures_total",
                        database=pg.dbname, user="obs_badpw") >= 1
    assert metric_value(samples, "ouroboros_errors_total", database=pg.dbname,
                        user="obs_badpw", sqlstate_class="28") >= 1


def test_client_password_failure_counts_as_class_28_error(pg, proxy):
    px = proxy(metrics=metrics_settings())
    with px.connect(dbname=pg.dbname) as conn:  # the pool exists
        conn.execute("SELECT 1")
    assert connect_error_sqlstate(px.host, px.port, "ouro", "wrong-password",
                                  pg.dbname) == "28P01"
    samples = scrape(px)
    assert metric_value(samples, "ouroboros_client_connections_rejected_total",
                        reason="authentication") == 1
    assert metric_value(samples, "ouroboros_errors_total", database=pg.dbname, user="ouro",
                        sqlstate_class="28") >= 1


def test_error_rate_alert_inputs(pg, busy_proxy):
    """OuroborosErrorRateHigh divides class 08/53/57/58/XX errors by queries; a query cancelled
    by the server (57014) moves the numerator of its pool."""
    px = busy_proxy
    before = scrape(px)
    with psycopg.connect(px.dsn(dbname=pg.dbname), autocommit=True,
                         prepare_threshold=None) as conn:
        conn.execute("SET statement_timeout = '50ms'")
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT pg_sleep(5)")
    after = wait_for(lambda: (s := scrape(px)) and metric_value(
        s, "ouroboros_errors_total", database=pg.dbname, user="ouro", sqlstate_class="57") >
        metric_value(before, "ouroboros_errors_total", database=pg.dbname, user="ouro",
                     sqlstate_class="57") and s, 10, message="a class 57 error to be counted")
    assert metric_value(after, "ouroboros_queries_total", database=pg.dbname, user="ouro") > \
        metric_value(before, "ouroboros_queries_total", database=pg.dbname, user="ouro")
    assert metric_value(after, "ouroboros_errors_total", database=pg.dbname, user="ouro",
                        sqlstate_class="42") >= 1  # the busy_proxy's missing table
