"""Shared helpers of the observability tests (test_observability_*.py, test_metrics_*.py,
test_admin_*.py, test_dashboard_metrics.py): a metrics listener on a free port, scraping and
parsing /metrics, and reading the proxy's JSON/text query-log records. Holds no tests."""
import json
import re
import urllib.error
import urllib.request

from ouro_testlib import free_port, wait_for

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def metrics_settings():
    """A `metrics:` config block on a port nothing listens on now (bound, then closed)."""
    return {"host": "127.0.0.1", "port": free_port()}


def metrics_url(px, path="/metrics"):
    metrics = px.config["metrics"]
    assert metrics["port"], "this proxy has no metrics listener"
    wait_for(lambda: "metrics listening on" in px.log_text(), 15,
             message="the proxy to log 'metrics listening on'")
    return f"http://{metrics['host']}:{metrics['port']}{path}"


def http_get(px, path):
    """(status, body) of GET path on the proxy's metrics listener."""
    try:
        with urllib.request.urlopen(metrics_url(px, path), timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8")


def scrape_text(px):
    status, body = http_get(px, "/metrics")
    assert status == 200, f"/metrics answered {status}: {body[:500]}"
    return body


def parse_samples(text):
    """[(name, {label: value}, float value)] of a Prometheus text exposition."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE_RE.match(line.strip())
        assert m, f"unparseable sample line: {line!r}"
        labels = dict(LABEL_RE.findall(m.group(2) or ""))
        samples.append((m.group(1), labels, float(m.group(3))))
    return samples


_REQUIRED = object()


def metric_value(samples, name, default=_REQUIRED, **labels):
    """Sum of the samples of `name` whose labels include `labels`. A series that is not there
    fails the test (so `== 0` proves a zero was exported), unless `default` is given: the value
    to use for a series the proxy has not created yet (a counter before its first event)."""
    matching = [v for n, ls, v in samples
                if n == name and all(ls.get(k) == str(want) for k, want in labels.items())]
    if not matching:
        if default is _REQUIRED:
            names = sorted({n for n, _, _ in samples if n.startswith(name.rsplit("_", 1)[0])})
            raise AssertionError(f"no sample of {name} with labels {labels} on /metrics "
                                 f"(related series: {names[:20]})")
        return default
    return sum(matching)


def unlabelled_metrics(px):
    """{name: value} of the unlabelled samples on /metrics (waits for the metrics listener)."""
    return {n: v for n, ls, v in scrape(px) if not ls}


def scrape(px):
    return parse_samples(scrape_text(px))


def json_records(px, event=None):
    """The JSON-object lines of the proxy log (logging.format json), optionally one event only."""
    records = []
    for line in px.log_text().splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and (event is None or record.get("event") == event):
            records.append(record)
    return records


def wait_records(px, event, count=1, deadline=15, where=lambda r: True):
    """Waits until at least `count` records of `event` matching `where` are logged; returns them."""
    def found():
        matching = [r for r in json_records(px, event) if where(r)]
        return matching if len(matching) >= count else None
    return wait_for(found, deadline, message=f"{count}x {event} record(s) in the proxy log:\n"
                                             f"{px.log_tail()}")
