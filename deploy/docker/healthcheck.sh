#!/usr/bin/env bash
# Container health probe: GET /healthz (or the path given as $1) on Ouroboros' metrics listener,
# using bash's /dev/tcp because the slim image has no curl or wget.
# Exit 0 when the status line says 200, 1 otherwise (refused, timeout, 503, garbage).
#
#   healthcheck.sh            GET /healthz   (the image's HEALTHCHECK)
#   healthcheck.sh /readyz    GET /readyz
#
# Environment: OUROBOROS_HEALTH_HOST (default 127.0.0.1), OUROBOROS_METRICS_PORT (default 9930,
# the same variable deploy/docker/ouroboros.yaml reads), OUROBOROS_HEALTH_TIMEOUT (seconds to wait
# for the answer, default 2). The metrics listener must be enabled (metrics.port not 0).
set -u
# A peer that closes early must make the probe fail, not kill it with SIGPIPE.
trap '' PIPE

host=${OUROBOROS_HEALTH_HOST:-127.0.0.1}
port=${OUROBOROS_METRICS_PORT:-9930}
path=${1:-/healthz}
timeout=${OUROBOROS_HEALTH_TIMEOUT:-2}

if ! { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null; then
  echo "unhealthy: cannot connect to $host:$port" >&2
  exit 1
fi
printf 'GET %s HTTP/1.0\r\nHost: %s:%s\r\nConnection: close\r\n\r\n' "$path" "$host" "$port" >&3 2>/dev/null
status=""
IFS= read -r -t "$timeout" status <&3
# Read the rest (until the server closes, as HTTP/1.0 asks) so it is not cut off mid-answer.
[ -n "$status" ] && IFS= read -r -d '' -t 1 _ <&3
exec 3<&- 3>&-
status=${status%$'\r'}

case "$status" in
  "HTTP/"*" 200" | "HTTP/"*" 200 "*) exit 0 ;;
esac
echo "unhealthy: GET $path on $host:$port answered '${status:-nothing}'" >&2
exit 1
