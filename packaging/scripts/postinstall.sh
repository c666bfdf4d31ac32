#!/bin/sh
# failoverd postinst: make systemd see the (new) unit; restart a running
# daemon on upgrade so the new binary takes over. Not enabled on first
# install: edit /etc/failoverd/failoverd.hcl, then
#   systemctl enable --now failoverd
set -e
# Installed into another root (dpkg --root, DPKG_ROOT set): the running
# systemd is not ours to touch.
if [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then
	systemctl daemon-reload >/dev/null || true
	if [ "$1" = "configure" ] && [ -n "$2" ]; then
		systemctl try-restart failoverd.service >/dev/null || true
	fi
fi
exit 0
