#!/bin/sh
# failoverd prerm: stop the daemon before its files go away (not on upgrade).
set -e
# Installed into another root (dpkg --root, DPKG_ROOT set): the running
# systemd is not ours to touch.
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ] && [ "$1" = "remove" ]; then
	systemctl stop failoverd.service >/dev/null || true
	systemctl disable failoverd.service >/dev/null 2>&1 || true
fi
exit 0
