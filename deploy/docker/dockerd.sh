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
containerd_pidfile=/var/run/docker/containerd/containerd.pid

answers() { "$docker" info >/dev/null 2>&1; }
# A process with this pid exists and is not a zombie (a killed daemon nobody has reaped yet).
is_alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ]
}
is_dockerd() { [ -n "$1" ] && is_alive "$1" && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = dockerd ]; }

if answers; then
  echo "dockerd: reusing the running engine"
  exit 0
fi
if ! command -v dockerd >/dev/null; then
  echo "dockerd: no dockerd (Debian package docker.io: deploy/install-deps.sh --container)" >&2
  exit 1
fi

# One starter at a time: a second caller waits here, then finds the first one's daemon.
exec 9>/var/run/ouroboros-dockerd.lock
flock 9
if answers; then
  echo "dockerd: reusing the engine another caller started"
else
  # A dockerd that is running but not answering yet (just started) is waited for, not replaced.
  pid=$(cat "$pidfile" 2>/dev/null || true)
  if is_dockerd "$pid"; then
    echo "dockerd: waiting for the running dockerd (pid $pid)"
  else
    # A pid file left by a daemon that died would make dockerd refuse to start. Its containerd's
    # pid file, when that process is gone or a zombie (killed with it, not reaped yet), would
    # make the new dockerd wait for that containerd instead of starting its own.
    rm -f "$pidfile"
    is_alive "$(cat "$containerd_pidfile" 2>/dev/null || echo none)" || rm -f "$containerd_pidfile"
    echo "dockerd: starting dockerd --bridge=none --iptables=false (log: $log)"
    # Its own session, working directory / and none of our descriptors (not the lock either):
    # it outlives this script and whatever runs it (ctest waits for its children's output
    # pipes to close), and does not hold the lock after we are gone.
    (cd / && exec setsid dockerd --bridge=none --iptables=false >>"$log" 2>&1 </dev/null 9>&-) &
    pid=$!
  fi
  end=$((SECONDS + deadline))
  until answers; do
    if ! is_alive "$pid"; then
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
