#!/usr/bin/python3
"""Runs the client library's integration suite through the proxy.

Starts $OUROBOROS_BIN in front of the shared test cluster ($OUROBOROS_PG_INFO), points the suite at
it with OUROBOROS_CLIENT_TEST_DSN, and exits with the suite's exit code.

  through_proxy.py SUITE                      session mode, the whole suite except one test
  through_proxy.py SUITE --mode transaction   transaction mode (statement cache on), only the
                                              doctest suite "transaction_mode"

The whole suite runs in session mode because it checks session-level behaviour (backend
termination, prepared statements per connection) that a transaction pooler changes by design; the
tests in the "transaction_mode" suite hold in both modes.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

suite = sys.argv[1]
mode = "transaction" if sys.argv[2:4] == ["--mode", "transaction"] else "session"
binary = os.environ["OUROBOROS_BIN"]
info = json.load(open(os.environ["OUROBOROS_PG_INFO"]))

with tempfile.TemporaryDirectory(prefix="ouro-client-proxy-") as work:
    config = os.path.join(work, "proxy.yaml")
    pool_settings = ("{ mode: transaction, size: 8, max_prepared_statements: 200 }"
                     if mode == "transaction" else "{ mode: session, size: 40 }")
    with open(config, "w") as f:
        f.write(f"""listen: {{ host: 127.0.0.1, port: 0 }}
auth:
  type: scram-sha-256
  users:
    "{info['user']}": {{ password: "{info['password']}" }}
    "{info['superuser']}": {{ password: "{info['superuser_password']}" }}
pool: {pool_settings}
databases:
  "*": {{ host: "{info['host']}", port: {info['port']} }}
metrics: {{ port: 0 }}
""")
    log_path = os.path.join(work, "proxy.log")
    log = open(log_path, "w")
    proxy = subprocess.Popen([binary, "--config", config], stderr=log, stdout=log)
    port = None
    deadline = time.monotonic() + 15
    while port is None and time.monotonic() < deadline and proxy.poll() is None:
        m = re.search(r"listening on [\d.]+:(\d+)", open(log_path).read())
        if m:
            port = int(m.group(1))
        else:
            time.sleep(0.05)  # polling the log for readiness, bounded by the deadline
    if port is None:
        print(open(log_path).read(), file=sys.stderr)
        sys.exit("proxy did not start")
    env = dict(os.environ, OUROBOROS_CLIENT_TEST_DSN=(
        f"host=127.0.0.1 port={port} user={info['user']} password={info['password']} dbname={info['dbname']}"))
    # Through a pooler a new connection may get the backend an earlier one used (after the proxy
    # cleaned it): the test that checks for a *new* backend pid holds only for direct connections.
    if mode == "transaction":
        selection = ["--test-suite=transaction_mode"]
    else:
        selection = ["--test-case-exclude=a broken idle connection is replaced*"]
    try:
        rc = subprocess.call([suite] + selection, env=env)
    finally:
        proxy.send_signal(signal.SIGTERM)
        try:
            proxy.wait(30)
        except subprocess.TimeoutExpired:
            proxy.kill()
            rc = rc or 1
    if rc != 0 or proxy.returncode != 0:
        print(open(log_path).read()[-4000:], file=sys.stderr)
    sys.exit(rc or (proxy.returncode != 0))
