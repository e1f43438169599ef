#!/usr/bin/env bash
# Installs what building and testing Legate needs on Debian, if it is missing:
#   prereqs.sh build   cmake (pingora's zlib-ng build needs it)
#   prereqs.sh test    the above, plus sipp (sip-tester), socat (the TLS side of sipp peers),
#                      kamailio, and OpenLDAP's slapd and ldap-utils (the directory tests start
#                      their own slapd on a free loopback port; the system one is not used)
set -euo pipefail
want=(cmake)
[ "${1:-build}" = "test" ] && want+=(sip-tester socat kamailio slapd ldap-utils)

missing=()
for pkg in "${want[@]}"; do
  case "$pkg" in
    sip-tester) command -v sipp >/dev/null 2>&1 || missing+=("$pkg") ;;
    # Debian puts the server tools in /usr/sbin, which is not on every user's PATH.
    slapd) [ -x /usr/sbin/slapd ] || command -v slapd >/dev/null 2>&1 || missing+=("$pkg") ;;
    ldap-utils) command -v ldapsearch >/dev/null 2>&1 || missing+=("$pkg") ;;
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

# The package may start a system slapd on port 389; the tests never use it, so stop it.
if [[ " ${missing[*]} " == *" slapd "* ]] && command -v service >/dev/null 2>&1; then
  $sudo service slapd stop >/dev/null 2>&1 || true
fi
