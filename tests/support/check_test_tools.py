#!/usr/bin/python3
"""Every tool and module the test suite uses is installed (deploy/install-deps.sh installs them).
Exits 0 when all are there; otherwise lists what is missing and exits 77, which ctest reports as
skipped here and tests/support/run_ctest.sh turns into a failure under CI=true. The tests that
need a missing tool say so themselves too."""
import importlib.util
import os
import shutil
import sys

PG_BIN_DIR = os.environ.get("OUROBOROS_PG_BIN", "/usr/lib/postgresql/15/bin")
source_dir = sys.argv[1]

missing = []
for name, path in [("pg_ctl", f"{PG_BIN_DIR}/pg_ctl"), ("postgres", f"{PG_BIN_DIR}/postgres"),
                   ("psql", f"{PG_BIN_DIR}/psql"), ("pgbench", f"{PG_BIN_DIR}/pgbench")]:
    if not os.access(path, os.X_OK):
        missing.append(f"{name} ({path}; postgresql-15)")
for tool, package in [("promtool", "prometheus"), ("node", "nodejs"), ("npm", "npm"),
                      ("pgbouncer", "pgbouncer"), ("clang++", "clang")]:
    if shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
        missing.append(f"{tool} ({package})")
for module, package in [("pytest", "python3-pytest"), ("psycopg", "python3-psycopg"),
                        ("asyncpg", "python3-asyncpg"), ("yaml", "python3-yaml")]:
    if importlib.util.find_spec(module) is None:
        missing.append(f"python module {module} ({package})")
node_pg = os.path.join(source_dir, "tests", "integration", "node", "node_modules", "pg")
if not os.path.isdir(node_pg):
    missing.append(f"node-postgres in {node_pg} (npm install there)")

if missing:
    print("missing test dependencies (deploy/install-deps.sh installs them):\n  " + "\n  ".join(missing))
    sys.exit(77)
print("every test dependency is installed")
