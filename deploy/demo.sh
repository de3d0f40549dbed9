#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 and Ouroboros in front of it with config/ouroboros.yaml,
# prints how to connect, and stops both on Ctrl-C. Used by `make demo`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$root/build/src/app/ouroboros}
demo_dir=$root/.demo
python=/usr/bin/python3

export APP_PASSWORD=${APP_PASSWORD:-app_demo_password}
export OUROBOROS_LISTEN_PORT=${OUROBOROS_LISTEN_PORT:-6432}

cleanup() {
  trap - INT TERM EXIT
  echo
  echo "demo: stopping Ouroboros and PostgreSQL"
  if [ -n "${proxy_pid:-}" ] && kill -0 "$proxy_pid" 2>/dev/null; then
    kill -TERM "$proxy_pid" 2>/dev/null || true
    wait "$proxy_pid" 2>/dev/null || true
  fi
  "$python" "$root/tests/support/pgcluster.py" stop "$demo_dir/pg" >/dev/null 2>&1 || true
}
trap cleanup INT TERM EXIT

echo "demo: starting a throwaway PostgreSQL 15 in $demo_dir/pg"
"$python" "$root/tests/support/pgcluster.py" start "$demo_dir/pg"
pg_port=$("$python" -c "import json,sys; print(json.load(open(sys.argv[1]))['port'])" "$demo_dir/pg/conninfo.json")
export OUROBOROS_PG_PORT=$pg_port

# The demo's application role and database, as config/ouroboros.yaml expects them.
PGPASSWORD=postgres_pw psql -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
  -v pw="$APP_PASSWORD" <<'SQL'
CREATE ROLE app LOGIN PASSWORD :'pw';
CREATE DATABASE app OWNER app;
SQL

"$bin" --check-config "$root/config/ouroboros.yaml" >/dev/null
"$bin" --config "$root/config/ouroboros.yaml" 2> >(tee "$demo_dir/ouroboros.log" >&2) &
proxy_pid=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$demo_dir/ouroboros.log" 2>/dev/null && break
  kill -0 "$proxy_pid" 2>/dev/null || { echo "demo: ouroboros failed to start" >&2; exit 1; }
  sleep 0.1
done

cat <<INFO

  Ouroboros is running on 127.0.0.1:$OUROBOROS_LISTEN_PORT in front of PostgreSQL on 127.0.0.1:$pg_port.

  Connect through the proxy:
    PGPASSWORD=$APP_PASSWORD psql -h 127.0.0.1 -p $OUROBOROS_LISTEN_PORT -U app app

  Admin console (SHOW POOLS, SHOW QUERIES, PAUSE, RELOAD, ...; docs/admin-console.md):
    PGPASSWORD=$APP_PASSWORD psql -h 127.0.0.1 -p $OUROBOROS_LISTEN_PORT -U app ouroboros -c 'SHOW POOLS'

  Metrics: http://127.0.0.1:9930/metrics    (also /healthz and /readyz)

  Config: config/ouroboros.yaml    Log: .demo/ouroboros.log
  Press Ctrl-C to stop both.

INFO
wait "$proxy_pid"
