#!/bin/sh
# failoverd postrm: forget the unit; on purge also drop the state directory
# (operator overrides, serials, history) that systemd created for the
# DynamicUser under /var/lib/private.
set -e
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
fi
if [ "$1" = "purge" ]; then
	rm -rf /var/lib/private/failoverd /var/lib/failoverd
fi
exit 0
