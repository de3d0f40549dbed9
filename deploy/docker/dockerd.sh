#!/usr/bin/env bash
# Makes sure a Docker engine answers: reuses a running one, otherwise starts Debian's dockerd
# without a bridge network or iptables rules (`dockerd --bridge=none --iptables=false`), so
# containers run with `--network host` and all their traffic stays on the host's interfaces.
# The daemon it starts keeps running after this script (later runs reuse it); stop it with
# `kill "$(cat /var/run/docker.pid)"`.
#
#   deploy/docker/dockerd.sh
#
# Environment: DOCKER (the docker client; default Debian's /usr/bin/docker, else `docker` on
# PATH), DOCKERD_LOG (default /var/log/ouroboros-dockerd.log), DOCKERD_START_DEADLINE (seconds
# to wait for a started daemon to answer, default 60).
set -euo pipefail

docker=${DOCKER:-$(command -v /usr/bin/docker || command -v docker || echo docker)}
log=${DOCKERD_LOG:-/var/log/ouroboros-dockerd.log}
deadline=${DOCKERD_START_DEADLINE:-60}
pidfile=/var/run/docker.pid

answers() { "$docker" info >/dev/null 2>&1; }

if answers; then
  echo "dockerd: reusing the running engine"
  exit 0
fi
command -v dockerd >/dev/null || { echo "dockerd: no dockerd (Debian package docker.io: deploy/install-deps.sh)" >&2; exit 1; }

# One starter at a time: a second caller waits here, then finds the first one's daemon.
exec 9>/var/run/ouroboros-dockerd.lock
flock 9
if ! answers; then
  # A dockerd that is running but not answering yet (just started) is waited for, not replaced.
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = dockerd ]; then
    echo "dockerd: waiting for the running dockerd (pid $pid)"
  else
    # A pid file left by a daemon that died would make dockerd refuse to start.
    rm -f "$pidfile"
    echo "dockerd: starting dockerd --bridge=none --iptables=false (log: $log)"
    # Its own session and no inherited descriptors: it outlives this script and whatever runs
    # it (ctest waits for its children's output pipes to close).
    setsid dockerd --bridge=none --iptables=false >>"$log" 2>&1 </dev/null &
    pid=$!
  fi
  end=$((SECONDS + deadline))
  until answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$log" >&2 || true
      echo "dockerd: dockerd exited during start-up (log: $log)" >&2
      exit 1
    fi
    if [ "$SECONDS" -ge "$end" ]; then
      tail -n 30 "$log" >&2 || true
      echo "dockerd: no answer after ${deadline}s (log: $log)" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "dockerd: started (pid $pid)"
fi
