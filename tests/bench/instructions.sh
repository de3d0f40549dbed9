#!/usr/bin/env bash
# instructions.sh -- user-space instructions and system calls per transaction, and memory per idle
# client, of Ouroboros and PgBouncer.
#
# A benchmark, not a test: it reports and never asserts thresholds. It exits non-zero only when
# something breaks (a proxy or PostgreSQL does not start, the idle clients cannot log in).
# A run that fails for a protocol the proxy does not support (PgBouncer 1.18 and pgbench
# -M prepared in transaction mode) is reported in the table as "fails" with pgbench's error.
#
# Usage (one command; about 5 minutes on a busy 2-core VM):
#   tests/bench/instructions.sh [OUT.md] [--transactions 300] [--clients 20] [--pool-size 10]
#                               [--idle-clients 10000] [--modes simple,extended,prepared]
#                               [--logs DIR] [--profiles DIR]
#                               [--measures instructions,syscalls,memory] [--tls]
#
# In one run it
#   1. starts a private PostgreSQL 15 cluster (tests/support/pgcluster.py, loopback only, trust
#      for the proxies' server logins) and runs pgbench -i -s 1;
#   2. for each protocol (pgbench -S -M simple|extended|prepared, 20 clients, -j 2) and each proxy
#      (Ouroboros $OUROBOROS_BIN, default build/src/app/ouroboros; PgBouncer $PGBOUNCER_BIN,
#      default /usr/sbin/pgbouncer run as OS user postgres; both in transaction mode, pool 10,
#      trust client authentication) runs a fresh proxy twice, with 1 and with N transactions per
#      client, after opening all pool servers; per transaction = (run N - run 1) / (clients x (N-1)),
#      so start-up, logins and shutdown cancel out:
#        - instructions: the whole proxy process under valgrind --tool=callgrind (all threads);
#        - system calls: strace -c -f attached to the natively running proxy around pgbench;
#   3. starts each proxy natively and opens --idle-clients connections (tests/bench/idle_clients.py:
#      log in, then sit idle), reading VmRSS before, with them idle, and after one SELECT 1 each;
#   4. prints one Markdown table (and writes it to OUT.md), with ratios Ouroboros / PgBouncer;
#   5. stops and removes everything, also on errors and Ctrl-C.
# --tls puts TLS on both legs of both proxies as pgbench_compare --tls does (a throwaway CA and
# certificate, PostgreSQL ssl = on, pgbench sslmode=require) and checks in pg_stat_ssl that every
# server connection is encrypted; it measures no memory (the idle clients speak plain text).
# --measures picks a subset (e.g. instructions alone, the quickest).
#
# Needs: root or a user that can run PostgreSQL (see pgcluster.py), PostgreSQL 15 with pgbench,
# pgbouncer, valgrind, strace, python3 (deploy/install-deps.sh installs them), a hard ulimit -n of
# at least idle clients + 200. Instruction and system-call counts do not depend on the machine's
# load; wall-clock times in the report do. See docs/performance.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# 10,000 idle clients need 10,000 descriptors in the client program and in each proxy.
hard="$(ulimit -Hn)"
want=65536
if [[ "$hard" != "unlimited" && "$hard" -lt "$want" ]]; then want="$hard"; fi
ulimit -n "$want" 2>/dev/null || true

# The Python driver owns every process it starts and cleans up in try/finally and on
# SIGINT/SIGTERM/SIGHUP, so exec keeps a single process for signals to reach.
exec /usr/bin/python3 "$here/instructions.py" "$@"
