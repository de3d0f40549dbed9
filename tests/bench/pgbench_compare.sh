#!/usr/bin/env bash
# pgbench_compare.sh -- throughput, latency and proxy CPU of Ouroboros vs PgBouncer vs direct.
#
# A benchmark, not a test: it never asserts speed. It exits non-zero only when something breaks
# (a target fails to start, pgbench errors, a proxy dies or hangs), and reports that precisely.
#
# Usage:
#   tests/bench/pgbench_compare.sh [--clients "20 100 500"] [--seconds 15] [--rounds 2]
#                                  [--pool-size 20] [--out FILE] [--threads 2] [--scale 10]
#                                  [--logs DIR] [--tls]
#
# In one run it
#   1. starts a private PostgreSQL 15 cluster (tests/support/pgcluster.py) in a temp dir, raises
#      max_connections (ALTER SYSTEM + restart) so the direct runs fit, and runs pgbench -i -s 10;
#   2. starts Ouroboros ($OUROBOROS_BIN, default build/src/app/ouroboros; transaction pooling,
#      pool size N, md5 client auth, logging level warn) and PgBouncer ($PGBOUNCER_BIN, default
#      /usr/sbin/pgbouncer, run as OS user postgres; pool_mode=transaction, default_pool_size=N,
#      auth_type=md5), both on 127.0.0.1;
#   3. for each client count C, for R rounds, runs against direct / ouroboros / pgbouncer
#          pgbench -n -S -M simple -c C -j 2 -T SECONDS
#      (round order alternates: odd rounds run the targets in reverse, so drift cancels) and
#      reads each proxy's utime and stime from /proc/<pid>/stat before and after the run;
#   4. prints a table (clients | target | tps | avg latency ms | proxy CPU ms/1k tx, then that
#      CPU split into user and sys ms/1k tx) and the Ouroboros/PgBouncer ratios (also of user
#      and of sys CPU), as plain text and as markdown (also written to --out FILE);
#   5. stops and removes everything (also on errors and Ctrl-C).
#
# --tls puts TLS on both legs: a CA and a server certificate are made with the openssl CLI in the
# run's temp dir; PostgreSQL runs with ssl = on; Ouroboros gets listen.tls mode require (that
# certificate) and databases.<db>.tls mode require; PgBouncer gets client_tls_sslmode = require
# (client_tls_cert_file/client_tls_key_file) and server_tls_sslmode = require; pgbench (and the
# direct runs) use PGSSLMODE=require. Before measuring, a query through each target checks
# pg_stat_ssl that the server leg is encrypted too.
#
# Needs: root or a user that can run PostgreSQL (see pgcluster.py), pgbench and psql from
# PostgreSQL 15, pgbouncer, python3 with PyYAML. Numbers from a shared/noisy machine are only
# comparable within one run: compare the ratios, not absolute tps. See docs/performance.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# 500 clients need >500 descriptors in pgbench and in each proxy (children inherit the limit).
hard="$(ulimit -Hn)"
want=65536
if [[ "$hard" != "unlimited" && "$hard" -lt "$want" ]]; then want="$hard"; fi
ulimit -n "$want" 2>/dev/null || true

# The Python driver owns every process it starts and cleans up in try/finally and on
# SIGINT/SIGTERM/SIGHUP, so exec keeps a single process for signals to reach.
exec /usr/bin/python3 "$here/pgbench_compare.py" "$@"
