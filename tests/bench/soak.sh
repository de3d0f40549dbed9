#!/usr/bin/env bash
# soak.sh -- a long run of Ouroboros under many clients, with a reload every 10 s and one
# PostgreSQL restart, sampling the proxy's RSS and open file descriptors.
#
# A benchmark, not a test: it reports and never asserts thresholds. It exits non-zero only when
# something breaks (the proxy dies, the clients cannot log in, an acknowledged row is lost or
# duplicated).
#
# Usage (the default takes about 32 minutes plus the logins):
#   tests/bench/soak.sh [OUT.md] [--duration 30m] [--clients 10000] [--writers 4]
#                       [--mean-interval 45] [--pool-size 20] [--logs DIR]
#
# In one run it
#   1. starts a private PostgreSQL 15 cluster (tests/support/pgcluster.py, loopback only) and
#      Ouroboros ($OUROBOROS_BIN, default build/src/app/ouroboros) in transaction mode, pool 20,
#      trust client authentication, metrics on a free loopback port;
#   2. logs in --clients connections (raw protocol v3, one Python process, asyncio) that each run
#      SELECT 1 every --mean-interval seconds on average, and --writers clients that INSERT
#      numbered rows into a ledger table as fast as they can (50 ms pause);
#   3. every 10 s rewrites the configuration (pool.query_wait_timeout and
#      logging.slow_query_threshold alternate) and sends SIGHUP; at half time runs
#      pg_ctl restart -m fast;
#   4. every 10 s samples the proxy's VmRSS, open fds and threads (/proc/PID), the client counters
#      (requests, errors, reconnects) and a few /metrics values;
#   5. after --duration stops the clients, checks that every acknowledged ledger row is in the
#      table exactly once, prints a Markdown report (and writes it to OUT.md);
#   6. stops and removes everything, also on errors and Ctrl-C.
#
# Needs: root or a user that can run PostgreSQL (see pgcluster.py), PostgreSQL 15, python3, a hard
# ulimit -n of at least clients + 200. See docs/performance.md ("Soak").
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# 10,000 clients need 10,000 descriptors in the client program and in the proxy.
hard="$(ulimit -Hn)"
want=65536
if [[ "$hard" != "unlimited" && "$hard" -lt "$want" ]]; then want="$hard"; fi
ulimit -n "$want" 2>/dev/null || true

# The Python driver owns every process it starts and cleans up in try/finally and on
# SIGINT/SIGTERM/SIGHUP, so exec keeps a single process for signals to reach.
exec /usr/bin/python3 "$here/soak.py" "$@"
