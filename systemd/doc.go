// Package systemd holds failoverd's systemd unit, failoverd.service, which
// the Debian package installs, and its checks: the unit is verified with
// systemd-analyze and its sandboxing scored with systemd-analyze security.
// The package has no code of its own.
package systemd
