#!/usr/bin/env bash
# Installs every build, run and test dependency of Ouroboros from Debian 12 packages
# (and node `pg` from npm for the driver tests). Idempotent: a second run installs nothing.
# Used by the Makefile (make demo / make test), CI and the Dockerfile build stage.
#
#   deploy/install-deps.sh            build + run + test dependencies
#   deploy/install-deps.sh --build    only what the Docker build stage needs
#   deploy/install-deps.sh --runtime  only the shared libraries the daemon needs at run time
#   deploy/install-deps.sh --container  only what `make image` needs (Docker engine, debootstrap)
set -euo pipefail

BUILD_PKGS=(
  build-essential cmake ninja-build pkg-config
  libuv1-dev libpq-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  prometheus-cpp-dev doctest-dev libssl-dev
  libpg-query-dev libprotobuf-c-dev
)
# libpq5: loaded by the daemon at run time when auth.query is set (src/io/libpq_api.cpp).
RUNTIME_PKGS=(
  libuv1 libpq5 libyaml-cpp0.7 libspdlog1.10 libfmt9
  libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libssl3 ca-certificates
)
TEST_PKGS=(
  postgresql-15 postgresql-client-15 postgresql-contrib pgbouncer
  python3 python3-pytest python3-psycopg python3-psycopg2 python3-asyncpg python3-yaml
  prometheus
  clang libclang-rt-14-dev
  procps iproute2
  openssl
  valgrind strace
)
# `make image` and the container_image test: Debian's Docker engine (unless one is installed
# already, see below) and debootstrap for the base images (deploy/docker/base-images.sh).
CONTAINER_PKGS=(debootstrap)

mode=${1:-all}
case "$mode" in
  --build) pkgs=("${BUILD_PKGS[@]}") ;;
  --runtime) pkgs=("${RUNTIME_PKGS[@]}") ;;
  --container) pkgs=("${CONTAINER_PKGS[@]}") ;;
  all|--all) pkgs=("${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" "${CONTAINER_PKGS[@]}") ;;
  *) echo "usage: $0 [--build|--runtime|--container|--all]" >&2; exit 2 ;;
esac

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Machines that already ship a Node.js with npm (e.g. from nodesource) keep it: Debian's npm conflicts with it.
if [ "$mode" = all ] || [ "$mode" = --all ]; then
  command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
fi
# Likewise a machine with a Docker engine (e.g. Docker's docker-ce) keeps it: docker.io conflicts.
case "$mode" in
  all|--all|--container) command -v dockerd >/dev/null 2>&1 || pkgs+=(docker.io) ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # Debian's postgresql-common would create and start a default cluster; the tests start their own.
  if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    $SUDO mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# node-postgres for the driver tests, installed into the test tree (not global).
if [ "$mode" = all ] || [ "$mode" = --all ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  if [ ! -d "$here/tests/integration/node/node_modules/pg" ] && [ -f "$here/tests/integration/node/package.json" ]; then
    (cd "$here/tests/integration/node" && npm install --no-audit --no-fund --silent)
  fi
fi
echo "install-deps: ok"
