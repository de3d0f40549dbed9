#!/usr/bin/python3
"""The container image, built and run for real (ctest label `container`).

Builds the image with deploy/docker/image.sh (what `make image` runs: dockerd and the debootstrap
base images when missing, `docker build --network host`), runs it with --network host against the
test PostgreSQL (OUROBOROS_PG_INFO) configured only through environment variables, and checks what
an operator would: the container turns healthy, /healthz and /readyz answer 200, the daemon runs as
uid 10001, psql works through it in transaction mode, and SIGTERM drains: an open transaction can
still COMMIT, new connections are refused, the container exits 0.

Removes the container and every image this run created; keeps debian:bookworm(-slim).
Needs root and Debian's docker.io + debootstrap (deploy/install-deps.sh). Without them it skips
(exit 77), except under CI=true, where it fails.

usage: test_container_image.py REPO_ROOT
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

ROOT = os.path.abspath(sys.argv[1])
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from ouro_testlib import PgInfo, free_port, make_dsn, wait_for  # noqa: E402

DOCKER = os.environ.get("DOCKER") or shutil.which("/usr/bin/docker") or shutil.which("docker")
RUN_ID = uuid.uuid4().hex[:8]
TAG = f"ouroboros-test:{RUN_ID}"
CONTAINER = f"ouroboros-test-{RUN_ID}"
APP_PASSWORD = f"app-{RUN_ID}"
TABLE = f"container_{RUN_ID}"
BUILD_LOG = os.path.abspath("container_image_build.log")


def step(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def docker(*args, check=True, timeout=120):
    r = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout.strip()


def preflight():
    """Exit 77 (skip) when this machine cannot run containers, unless in CI."""
    missing = [t for t in ("debootstrap", "dockerd") if not shutil.which(t)]
    if not DOCKER:
        missing.append("docker")
    if os.geteuid() != 0:
        missing.append("root (dockerd, debootstrap)")
    if not missing:
        return
    msg = ("needs " + ", ".join(missing)
           + " (deploy/install-deps.sh installs docker.io, debootstrap)")
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        sys.exit(f"FAIL: {msg}")
    print(f"SKIP: {msg}")
    sys.exit(77)


def all_images():
    return set(docker("images", "-a", "-q", "--no-trunc").split())


def build_image():
    started = time.monotonic()
    with open(BUILD_LOG, "w") as log:
        r = subprocess.run([os.path.join(ROOT, "deploy/docker/image.sh"), TAG], stdout=log,
                           stderr=subprocess.STDOUT, env=dict(os.environ, DOCKER=DOCKER),
                           timeout=1500)
    with open(BUILD_LOG) as log:
        lines = log.readlines()
    for line in lines:
        if line.startswith(("dockerd:", "base-images:", "image:")):
            print("  " + line.rstrip())
    assert r.returncode == 0, (f"deploy/docker/image.sh exited {r.returncode}; {BUILD_LOG} ends:\n"
                               + "".join(lines[-40:]))
    step(f"image {TAG} ready in {time.monotonic() - started:.0f}s (dockerd + base images + build)")


def container_state():
    out = docker("inspect", "-f", "{{json .State}}", CONTAINER)
    return json.loads(out)


def container_logs():
    r = subprocess.run([DOCKER, "logs", "--tail", "60", CONTAINER], capture_output=True, text=True,
                       timeout=60)
    return r.stdout + r.stderr


def http_status(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def psql(port, sql, password=APP_PASSWORD):
    """psql through the proxy as client user `app`; returns the CompletedProcess."""
    env = dict(os.environ, PGPASSWORD=password, PGCONNECT_TIMEOUT="10")
    return subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                           "-h", "127.0.0.1", "-p", str(port), "-U", "app", "-d", "app", "-c", sql],
                          capture_output=True, text=True, env=env, timeout=60)


def psql_ok(port, sql):
    r = psql(port, sql)
    assert r.returncode == 0, f"psql -c {sql!r} failed ({r.returncode}): {r.stderr.strip()}"
    return r.stdout.strip()


def connect_app(port, autocommit):
    import psycopg
    return psycopg.connect(make_dsn(host="127.0.0.1", port=port, user="app", password=APP_PASSWORD,
                                    dbname="app", connect_timeout=10), autocommit=autocommit)


def refused(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            return False
    except ConnectionRefusedError:
        return True


def run_container(pg, listen_port, metrics_port):
    env = {
        # Everything the image's /etc/ouroboros/ouroboros.yaml reads; nothing else configures it.
        "OUROBOROS_PG_HOST": pg.host,
        "OUROBOROS_PG_PORT": str(pg.port),
        "OUROBOROS_PG_DBNAME": pg.dbname,
        "OUROBOROS_PG_USER": pg.user,
        "DB_PASSWORD": pg.password,
        "APP_PASSWORD": APP_PASSWORD,
        # --network host: listen on the host's loopback only, on ports free right now.
        "OUROBOROS_LISTEN_HOST": "127.0.0.1",
        "OUROBOROS_LISTEN_PORT": str(listen_port),
        "OUROBOROS_METRICS_HOST": "127.0.0.1",
        "OUROBOROS_METRICS_PORT": str(metrics_port),
        "OUROBOROS_POOL_MODE": "transaction",
        "OUROBOROS_POOL_SIZE": "1",
        "OUROBOROS_SHUTDOWN_TIMEOUT": "120s",
        "OUROBOROS_LOG_FORMAT": "text",
    }
    args = ["run", "-d", "--name", CONTAINER, "--network", "host"]
    for k, v in env.items():
        args += ["-e", f"{k}={v}"]
    docker(*args, TAG)


def wait_healthy():
    def healthy():
        st = container_state()
        if not st["Running"]:
            raise AssertionError(f"container exited ({st['ExitCode']}) before turning healthy:\n"
                                 + container_logs())
        return st.get("Health", {}).get("Status") == "healthy"
    # The HEALTHCHECK's first probe runs one --interval (10s) after the start.
    wait_for(healthy, 120, interval=0.5, message="docker to report the container healthy")


def check_uid():
    st = container_state()
    with open(f"/proc/{st['Pid']}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    assert fields["Name"].strip() == "ouroboros", fields["Name"]
    uids = fields["Uid"].split()
    gids = fields["Gid"].split()
    assert set(uids) == {"10001"}, f"the daemon runs with uids {uids}, expected 10001"
    assert set(gids) == {"10001"}, f"the daemon runs with gids {gids}, expected 10001"
    assert docker("exec", CONTAINER, "id", "-u") == "10001"


def check_env_configuration(pg, listen_port, metrics_port):
    logs = container_logs()
    assert f"listening on 127.0.0.1:{listen_port}" in logs, logs
    assert f"metrics listening on 127.0.0.1:{metrics_port}" in logs, logs
    # The client password is APP_PASSWORD's: another one is refused.
    wrong = psql(listen_port, "SELECT 1", password="not-the-password")
    assert wrong.returncode != 0, "a wrong client password was accepted"
    assert "password authentication failed" in wrong.stderr, wrong.stderr
    # Clients ask for database `app`; the proxy serves it from OUROBOROS_PG_* as DB_PASSWORD's user.
    row = psql_ok(listen_port, "SELECT current_user || ' ' || current_database()"
                               " || ' ' || inet_server_port()")
    assert row == f"{pg.user} {pg.dbname} {pg.port}", row
    # OUROBOROS_POOL_MODE=transaction, OUROBOROS_POOL_SIZE=1: while one client stays connected
    # between transactions, another client runs on the same (only) server connection. In session
    # mode it would wait for the first client to disconnect.
    with connect_app(listen_port, autocommit=True) as idle:
        first = idle.execute("SELECT pg_backend_pid()").fetchone()[0]
        second = int(psql_ok(listen_port, "SELECT pg_backend_pid()"))
        assert first == second, (f"backend pids {first} and {second}: "
                                 "not one shared server connection")


def check_psql_transactions(port):
    psql_ok(port, f"BEGIN; INSERT INTO {TABLE} VALUES ('psql 1'), ('psql 2'); COMMIT;")
    psql_ok(port, f"BEGIN; INSERT INTO {TABLE} VALUES ('rolled back'); ROLLBACK;")
    rows = psql_ok(port, f"SELECT string_agg(v, ',' ORDER BY v) FROM {TABLE}")
    assert rows == "psql 1,psql 2", rows


def check_drain(pg, listen_port, metrics_port):
    conn = connect_app(listen_port, autocommit=False)
    conn.execute(f"INSERT INTO {TABLE} VALUES ('across SIGTERM')")  # opens a transaction
    docker("kill", "--signal", "TERM", CONTAINER)
    step("SIGTERM sent with a transaction open")
    wait_for(lambda: http_status(metrics_port, "/readyz") == 503, 60, interval=0.2,
             message="/readyz to answer 503 while draining")
    # New clients are refused while the open transaction keeps the proxy running.
    wait_for(lambda: refused(listen_port), 60, interval=0.2,
             message="new connections to be refused while draining")
    late = psql(listen_port, "SELECT 1")
    assert late.returncode != 0 and "refused" in late.stderr, f"psql while draining: {late.stderr}"
    assert container_state()["Running"], "the container exited with a transaction still open"
    conn.commit()
    conn.close()
    step("the open transaction committed after SIGTERM")
    wait_for(lambda: not container_state()["Running"], 60, interval=0.2,
             message="the container to exit after the last transaction")
    st = container_state()
    assert st["ExitCode"] == 0, f"exit code {st['ExitCode']}:\n{container_logs()}"
    assert not st["OOMKilled"]
    assert refused(listen_port), f"127.0.0.1:{listen_port} still accepts connections"
    rows = pg.super_query(f"SELECT v FROM {TABLE} WHERE v = 'across SIGTERM'")
    assert rows == [("across SIGTERM",)], rows


def untagged(images):
    """Those of images that carry no tag (the base images made during this run keep theirs)."""
    return {i for i in images
            if docker("image", "inspect", "-f", "{{len .RepoTags}}", i, check=False) == "0"}


def cleanup(images_before):
    docker("rm", "-f", CONTAINER, check=False)
    docker("rmi", TAG, check=False)
    # Intermediate images of this build, children before parents: retry until nothing moves.
    leftover = untagged(all_images() - images_before)
    while leftover:
        for image in sorted(leftover):
            docker("rmi", image, check=False)
        remaining = untagged(all_images() - images_before)
        if remaining == leftover:
            break
        leftover = remaining
    return sorted(leftover)


def main():
    preflight()
    pg = PgInfo.load(os.environ["OUROBOROS_PG_INFO"])
    subprocess.run([os.path.join(ROOT, "deploy/docker/dockerd.sh")], check=True, timeout=120,
                   env=dict(os.environ, DOCKER=DOCKER))
    images_before = all_images()
    pg.super_query(f"CREATE TABLE {TABLE} (v text)")
    pg.super_query(f"GRANT ALL ON {TABLE} TO {pg.user}")
    try:
        step(f"building {TAG}")
        build_image()
        listen_port, metrics_port = free_port(), free_port()
        run_container(pg, listen_port, metrics_port)
        started = time.monotonic()
        wait_healthy()
        step(f"healthy after {time.monotonic() - started:.0f}s")
        for path in ("/healthz", "/readyz"):
            assert http_status(metrics_port, path) == 200, f"GET {path} did not answer 200"
        r = subprocess.run([DOCKER, "exec", CONTAINER, "ouroboros-healthcheck", "/readyz"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"ouroboros-healthcheck /readyz: {r.stderr}"
        check_uid()
        step("/healthz, /readyz 200; runs as uid 10001")
        check_env_configuration(pg, listen_port, metrics_port)
        step("configuration from the environment: ports, passwords, database, "
             "transaction mode, pool size")
        check_psql_transactions(listen_port)
        step("psql transactions commit and roll back through the container")
        check_drain(pg, listen_port, metrics_port)
        step("drained: exit code 0, new connections refused")
    except BaseException:
        try:
            print("--- container logs (tail) ---\n" + container_logs())
        except Exception as e:  # the container may never have existed
            print(f"(no container logs: {e})")
        raise
    finally:
        leftover = cleanup(images_before)
        pg.super_query(f"DROP TABLE IF EXISTS {TABLE}")
    assert not leftover, f"could not remove the images this run made: {leftover}"
    print("ok")


if __name__ == "__main__":
    main()
