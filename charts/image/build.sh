#!/usr/bin/env bash
# Builds Legate's container image from binaries built on this machine, with no registry: the
# root filesystem is laid out by rootfs.sh and handed to charts/image/Dockerfile in place of
# its `build` stage (`--build-context build=…`), so the image is the one a from-source build
# makes, without downloading a Rust image.
#
#   build.sh [--debug | --binaries LEGATE CONTROL_PLANE] [--tag NAME] [--keep-debug]
#            [-- PODMAN_BUILD_ARGS...]
#
# By default it builds the release binaries first (cargo build --release). --debug packs
# target/debug/legate and target/debug/legate-control-plane as they are; --binaries packs the
# two given. The image is tagged localhost/legate:<workspace version> unless --tag says
# otherwise. PODMAN is the command to run (default `podman`; say
# PODMAN="podman --root DIR --runroot DIR" for storage of your own); CONTAINERS_CONF and the
# rest of podman's environment are passed on.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
tag="localhost/legate:$version"
mode=release
legate="" control_plane=""
rootfs_options=()
while [ $# -gt 0 ]; do
  case "$1" in
    --debug) mode=debug; shift ;;
    --binaries) mode=given; legate="$2"; control_plane="$3"; shift 3 ;;
    --tag) tag="$2"; shift 2 ;;
    --keep-debug) rootfs_options+=(--keep-debug); shift ;;
    --) shift; break ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

case "$mode" in
  release)
    cargo build --release --locked -p legate -p legate-control-plane
    legate=target/release/legate control_plane=target/release/legate-control-plane ;;
  debug)
    legate=target/debug/legate control_plane=target/debug/legate-control-plane ;;
esac
for binary in "$legate" "$control_plane"; do
  if [ ! -x "$binary" ]; then
    echo "build.sh: $binary is missing; build it first" >&2
    exit 1
  fi
done

read -r -a podman <<<"${PODMAN:-podman}"
revision=unknown
source_url=""
if git rev-parse --git-dir >/dev/null 2>&1; then
  revision=$(git rev-parse HEAD)
  git diff --quiet HEAD -- 2>/dev/null || revision="$revision-modified"
  source_url=$(git remote get-url origin 2>/dev/null || true)
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/legate-image.XXXXXX")
trap 'rm -rf "$stage"' EXIT
bash charts/image/rootfs.sh "${rootfs_options[@]}" "$legate" "$control_plane" "$stage/rootfs"

# --pull=never: the only base is scratch; nothing is fetched.
"${podman[@]}" build --pull=never --file charts/image/Dockerfile --tag "$tag" \
  --build-context "build=$stage" \
  --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
  --build-arg "SOURCE=$source_url" \
  "$@" .

size=$("${podman[@]}" image inspect --format '{{.Size}}' "$tag")
echo "built $tag: $((size / 1000000)) MB ($size bytes; $mode binaries)"
