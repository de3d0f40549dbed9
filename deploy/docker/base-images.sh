#!/usr/bin/env bash
# Makes the Dockerfile's base images locally, for machines without an image registry:
# debian:bookworm and debian:bookworm-slim, both one `debootstrap --variant=minbase bookworm`
# root file system imported with `docker import`. Does nothing when both tags already exist.
# Needs root, debootstrap and a running Docker engine (deploy/docker/dockerd.sh).
#
#   deploy/docker/base-images.sh
#
# Environment: DEBIAN_MIRROR (default http://deb.debian.org/debian, the mirror of Debian 12's
# default sources), DEBIAN_SECURITY_MIRROR (default http://deb.debian.org/debian-security),
# DOCKER (the docker client; default Debian's /usr/bin/docker, else `docker` on PATH),
# ROOTFS_PARENT (where the temporary root file system goes, default /var/tmp).
set -euo pipefail

mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
docker=${DOCKER:-$(command -v /usr/bin/docker || command -v docker || echo docker)}
base=debian:bookworm
slim=debian:bookworm-slim

has_image() { "$docker" image inspect "$1" >/dev/null 2>&1; }

if has_image "$base" && has_image "$slim"; then
  echo "base-images: $base and $slim present"
  exit 0
fi
if ! has_image "$base"; then
  if ! command -v debootstrap >/dev/null; then
    echo "base-images: debootstrap missing (deploy/install-deps.sh --container)" >&2
    exit 1
  fi
  rootfs=$(mktemp -d "${ROOTFS_PARENT:-/var/tmp}/ouroboros-rootfs.XXXXXX")
  log=$(mktemp "${ROOTFS_PARENT:-/var/tmp}/ouroboros-debootstrap.XXXXXX")
  trap 'rm -rf "$rootfs" "$log"' EXIT
  echo "base-images: debootstrap --variant=minbase bookworm from $mirror"
  start=$SECONDS
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "base-images: debootstrap failed" >&2
    exit 1
  fi
  # Debian 12's default sources, so images built on it get updates and security fixes.
  printf 'deb %s bookworm main\ndeb %s bookworm-updates main\ndeb %s bookworm-security main\n' \
    "$mirror" "$mirror" "$security_mirror" >"$rootfs/etc/apt/sources.list"
  rm -rf "${rootfs:?}"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb
  tar -C "$rootfs" --numeric-owner -c . |
    "$docker" import --change 'CMD ["bash"]' - "$base" >/dev/null
  echo "base-images: imported $base in $((SECONDS - start))s"
fi
# The runtime stage's slim image is the same root file system.
"$docker" tag "$base" "$slim"
echo "base-images: tagged $slim"
