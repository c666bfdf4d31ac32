#!/bin/sh
# failoverd postrm: forget the unit; on purge also drop the state directory
# (operator overrides, serials, history) that systemd created for the
# DynamicUser under /var/lib/private.
set -e
# Installed into another root (dpkg --root, DPKG_ROOT set): the running
# systemd is not ours to touch.
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
fi
if [ "$1" = "purge" ]; then
	rm -rf "${DPKG_ROOT:-}/var/lib/private/failoverd" "${DPKG_ROOT:-}/var/lib/failoverd"
fi
exit 0
