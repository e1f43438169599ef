#!/usr/bin/env bash
# Lays out the root filesystem of Legate's container image in OUT: the two binaries in /usr/bin,
# exactly the shared libraries they link (and the loader, at the path the binaries name), the
# users, name resolution, the trusted roots and the state folder. The Dockerfile's build stage
# runs it on the binaries it built; charts/image/build.sh runs it on binaries built here, so
# both images are laid out alike.
#
#   rootfs.sh [--keep-debug] [--ca-bundle FILE] LEGATE CONTROL_PLANE OUT
#
# --keep-debug   keep the binaries' debug information (by default it is stripped: the release
#                profile keeps line tables, which would make up most of the image)
# --ca-bundle    the PEM bundle installed as /etc/ssl/certs/ca-certificates.crt (default: this
#                machine's, from Debian's ca-certificates); `none` leaves the image without one
set -euo pipefail

keep_debug=false
ca_bundle=/etc/ssl/certs/ca-certificates.crt
while [ $# -gt 0 ]; do
  case "$1" in
    --keep-debug) keep_debug=true; shift ;;
    --ca-bundle) ca_bundle="$2"; shift 2 ;;
    --) shift; break ;;
    -*) echo "rootfs.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
if [ $# -ne 3 ]; then
  echo "usage: rootfs.sh [--keep-debug] [--ca-bundle FILE|none] LEGATE CONTROL_PLANE OUT" >&2
  exit 2
fi
legate=$1 control_plane=$2 out=$3

# The user Legate runs as: a number of its own, outside the ranges distributions hand out.
uid=65532
gid=65532

if [ -e "$out" ] && [ -n "$(ls -A "$out")" ]; then
  echo "rootfs.sh: $out is not empty" >&2
  exit 1
fi
mkdir -p "$out"

# Binaries.
install -d -m 0755 "$out/usr/bin"
for binary in "$legate" "$control_plane"; do
  target="$out/usr/bin/$(basename "$binary")"
  if $keep_debug; then
    install -m 0755 "$binary" "$target"
  else
    strip --strip-debug -o "$target" "$binary"
    chmod 0755 "$target"
  fi
done

# Shared libraries, as the loader resolves them here: `name => /path (address)` lines, and the
# loader's own `/path (address)` line. A library that is not found stops the build rather than
# giving an image that cannot start. A statically linked binary needs none.
libraries() {
  local output
  output=$(ldd "$1" 2>&1) || {
    case "$output" in
      *"not a dynamic executable"* | *"statically linked"*) return 0 ;;
      *) echo "rootfs.sh: ldd $1: $output" >&2; return 1 ;;
    esac
  }
  if grep -q 'not found' <<<"$output"; then
    echo "rootfs.sh: $1 links a library this machine lacks:" >&2
    grep 'not found' <<<"$output" >&2
    return 1
  fi
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$output"
}
{ libraries "$legate"; libraries "$control_plane"; } | sort -u | while read -r library; do
  install -d -m 0755 "$out$(dirname "$library")"
  # -L: the file itself, never the distribution's symbolic link to it.
  cp -L "$library" "$out$library"
  chmod 0755 "$out$library"
done

# Users and groups: Legate's own, and root and nobody, which files and tools expect to resolve.
install -d -m 0755 "$out/etc"
cat >"$out/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
legate:x:$uid:$gid:legate:/var/lib/legate:/sbin/nologin
PASSWD
cat >"$out/etc/group" <<GROUP
root:x:0:
nogroup:x:65534:
legate:x:$gid:
GROUP
chmod 0644 "$out/etc/passwd" "$out/etc/group"

# Name resolution: glibc has had the files and dns modules inside libc since 2.34, so this,
# with the /etc/hosts and /etc/resolv.conf the container engine mounts, is all it needs.
cat >"$out/etc/nsswitch.conf" <<'NSS'
passwd: files
group: files
hosts: files dns
NSS
chmod 0644 "$out/etc/nsswitch.conf"

# Trusted roots, for the TLS clients that use the system's: an https:// audit webhook, and
# PostgreSQL with sslmode=require or an https:// OTLP collector when no CA of theirs is named.
if [ "$ca_bundle" != none ]; then
  install -D -m 0644 "$ca_bundle" "$out/etc/ssl/certs/ca-certificates.crt"
fi

# Where configuration is mounted (read-only) and where state is kept (the one writable folder:
# the last good snapshot, the audit spool, an SQLite audit file). The Dockerfile sets the state
# folder's owner too, so the layout does not depend on who runs this script.
install -d -m 0755 "$out/etc/legate"
install -d -m 0750 "$out/var/lib/legate"
if [ "$(id -u)" -eq 0 ]; then
  chown "$uid:$gid" "$out/var/lib/legate"
fi
