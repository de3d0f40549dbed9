#!/usr/bin/python3
"""Client library benchmark: 100,000 rows inserted one by one, pipelined and with COPY, against
PostgreSQL directly and through Ouroboros in transaction mode. A benchmark, not a test: it
reports, it never judges.

  tests/bench/client_bulk_insert.py [--build BUILD_DIR] [--rows N] [--batch N]

Needs the build's client library (src/client/libouroboros-client.a) and proxy (src/app/ouroboros);
starts a throwaway PostgreSQL 15 (tests/support/pgcluster.py) and the proxy, then removes both.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "support"))
import pgcluster  # noqa: E402


def start_proxy(binary, cluster, work):
    config = os.path.join(work, "proxy.yaml")
    with open(config, "w") as f:
        f.write(f"""listen: {{ host: 127.0.0.1, port: 0 }}
auth:
  type: scram-sha-256
  users:
    "{pgcluster.USER}": {{ password: "{pgcluster.PASSWORD}" }}
pool: {{ mode: transaction, size: 4, max_prepared_statements: 100 }}
databases:
  "*": {{ host: "{cluster.host}", port: {cluster.port} }}
metrics: {{ port: 0 }}
""")
    log_path = os.path.join(work, "proxy.log")
    proxy = subprocess.Popen([binary, "--config", config], stdout=open(log_path, "w"),
                             stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and proxy.poll() is None:
        m = re.search(r"listening on [\d.]+:(\d+)", open(log_path).read())
        if m:
            return proxy, int(m.group(1))
        time.sleep(0.05)  # polling the log for readiness, bounded by the deadline
    proxy.kill()
    sys.exit("the proxy did not start:\n" + open(log_path).read())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default=os.path.join(SOURCE_DIR, "build"))
    parser.add_argument("--rows", type=int, default=100000)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    library = os.path.join(args.build, "src", "client", "libouroboros-client.a")
    binary = os.path.join(args.build, "src", "app", "ouroboros")
    for path in (library, binary):
        if not os.path.exists(path):
            sys.exit(f"{path} is missing: build ouroboros_client and ouroboros first")
    with tempfile.TemporaryDirectory(prefix="ouro-bulk-") as work:
        os.chmod(work, 0o755)  # the cluster inside runs as the postgres OS user
        program = os.path.join(work, "client_bulk_insert")
        subprocess.check_call(["g++", "-std=c++20", "-O2", "-I",
                               os.path.join(SOURCE_DIR, "src", "client", "include"),
                               os.path.join(HERE, "client_bulk_insert.cpp"), library,
                               "-I/usr/include/postgresql", "-lpq", "-pthread", "-o", program])
        cluster = pgcluster.PgCluster(os.path.join(work, "pg")).start()
        proxy = None
        try:
            proxy, port = start_proxy(binary, cluster, work)
            targets = {
                "direct": cluster.dsn(),
                "ouroboros (transaction mode)": (
                    f"host=127.0.0.1 port={port} user={pgcluster.USER} "
                    f"password={pgcluster.PASSWORD} dbname={pgcluster.DBNAME}"),
            }
            print(f"{args.rows} rows (bigint, text, numeric) in one transaction per method; "
                  f"pipeline batches of {args.batch}")
            for name, dsn in targets.items():
                print(f"\n{name}:")
                sys.stdout.flush()
                subprocess.check_call([program, dsn, str(args.rows), str(args.batch)])
        finally:
            if proxy is not None:
                proxy.send_signal(signal.SIGTERM)
                try:
                    proxy.wait(30)
                except subprocess.TimeoutExpired:
                    proxy.kill()
            cluster.destroy()


if __name__ == "__main__":
    main()
