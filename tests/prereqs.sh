#!/usr/bin/env bash
# Installs what building and testing Legate needs on Debian, if it is missing:
#   prereqs.sh build   cmake (pingora's zlib-ng build needs it)
#   prereqs.sh test    the above, plus sipp (sip-tester) and socat (the TLS side of sipp peers)
set -euo pipefail
want=(cmake)
[ "${1:-build}" = "test" ] && want+=(sip-tester socat kamailio)

missing=()
for pkg in "${want[@]}"; do
  case "$pkg" in
    sip-tester) command -v sipp >/dev/null 2>&1 || missing+=("$pkg") ;;
    *) command -v "$pkg" >/dev/null 2>&1 || missing+=("$pkg") ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
