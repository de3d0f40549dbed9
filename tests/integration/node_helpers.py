"""node-postgres for the integration tests: the `node_pg` fixture (node, with node-postgres in
tests/integration/node, which deploy/install-deps.sh installs) and run_node(), which runs a
script there against the proxy and returns the JSON line it prints last."""
import json
import os
import shutil
import subprocess

import pytest

from ouro_testlib import missing_dependency

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")


@pytest.fixture(scope="module")
def node_pg():
    """node, with node-postgres in tests/integration/node. Missing pieces fail under CI=true;
    elsewhere npm install is tried first."""
    node = shutil.which("node")
    if node is None:
        missing_dependency("node is not installed (Debian package nodejs)")
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "pg")):
        npm = shutil.which("npm")
        if npm is None:
            missing_dependency(f"node module pg missing in {NODE_DIR}/node_modules and npm is not "
                               "installed")
        proc = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent"], cwd=NODE_DIR,
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0 or not os.path.isdir(os.path.join(NODE_DIR, "node_modules", "pg")):
            missing_dependency(f"node module pg missing in {NODE_DIR}/node_modules and `npm install` "
                               f"failed (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    return node


def run_node(node, script, px, pg, dbname, timeout=120, **env):
    """Runs `script` with the proxy's connection in the PG* variables and `env` added; asserts it
    exits 0 and returns the JSON value of its last output line. A `script` ending in ".js" is a
    file in NODE_DIR; anything else is source code, run with `node -e`."""
    full_env = dict(os.environ, PGHOST=px.host, PGPORT=str(px.port), PGUSER=pg.user,
                    PGPASSWORD=pg.password, PGDATABASE=dbname, **{k: str(v) for k, v in env.items()})
    args = [node, os.path.join(NODE_DIR, script)] if script.endswith(".js") else [node, "-e", script]
    proc = subprocess.run(args, cwd=NODE_DIR, env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    report = f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}\nproxy log:\n{px.log_tail()}"
    assert proc.returncode == 0, report
    return json.loads(proc.stdout.strip().splitlines()[-1])
