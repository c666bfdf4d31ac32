#!/usr/bin/env bash
# Installs, when missing, the Debian packages the tests drive for real:
# dig, a real syslog receiver, a real DNS secondary, a headless browser,
# systemd-analyze, prlimit (the attack suite's descriptor limit), curl and
# Python (the Memset surface's clients), the Dyn Go client go-dynect and the
# etcd server, and validators for signed zones (unbound, delv,
# ldns-verify-zone, dnssec-verify). Nothing is assumed to be on the machine already.
set -euo pipefail

declare -A need=(
  [dig]=bind9-dnsutils
  [rsyslogd]=rsyslog
  [knotd]=knot
  [chromium]=chromium
  [systemd-analyze]=systemd
  [curl]=curl
  [python3]=python3
  [prlimit]=util-linux
  [etcd]=etcd-server
  [unbound]=unbound
  [delv]=bind9-dnsutils
  [ldns-verify-zone]=ldnsutils
  [dnssec-verify]=bind9-utils
  [dnssec-keygen]=bind9-utils
)

missing=()
for cmd in "${!need[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || missing+=("${need[$cmd]}")
done
# A library, not a command: the Dyn surface's test builds against it.
[ -f /usr/share/gocode/src/github.com/nesv/go-dynect/dynect/client.go ] || missing+=(golang-github-nesv-go-dynect-dev)
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing test dependencies: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
$sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}"
