#!/usr/bin/env bash
# Builds the container image from the repository's Dockerfile on a machine without an image
# registry or a bridge network (what `make image` runs): starts dockerd when none answers
# (deploy/docker/dockerd.sh), makes the debian:bookworm base images when missing
# (deploy/docker/base-images.sh), then `docker build --network host`.
#
#   deploy/docker/image.sh [TAG]     default TAG: ouroboros:VERSION (VERSION from CMakeLists.txt)
#
# Environment: DOCKER (the docker client, as in dockerd.sh), DOCKER_BUILD_ARGS (extra words for
# `docker build`, e.g. "--no-cache").
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
docker=${DOCKER:-$(command -v /usr/bin/docker || command -v docker || echo docker)}
export DOCKER=$docker
version=$(sed -n 's/^project(Ouroboros VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
tag=${1:-ouroboros:${version:?no project VERSION in CMakeLists.txt}}

"$here/dockerd.sh"
"$here/base-images.sh"
start=$SECONDS
# The classic builder: it runs RUN steps in the host's network namespace with --network host
# (no bridge network exists), which BuildKit would only allow with an extra entitlement.
# shellcheck disable=SC2086  # DOCKER_BUILD_ARGS is a list of words
DOCKER_BUILDKIT=0 "$docker" build --network host ${DOCKER_BUILD_ARGS:-} -t "$tag" "$root"
echo "image: built $tag in $((SECONDS - start))s"
