#!/bin/sh
# failoverd prerm: stop the daemon before its files go away (not on upgrade).
set -e
if [ -d /run/systemd/system ] && [ "$1" = "remove" ]; then
	systemctl stop failoverd.service >/dev/null || true
	systemctl disable failoverd.service >/dev/null 2>&1 || true
fi
exit 0
