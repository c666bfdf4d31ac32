// Package systemd holds failoverd's systemd unit, failoverd.service, and
// its checks: the unit is verified with systemd-analyze and its sandboxing
// scored with systemd-analyze security. Unit returns the file's text so a
// binary can print or install it without the source tree.
package systemd

import _ "embed"

//go:embed failoverd.service
var unit string

// Unit returns the text of failoverd.service.
func Unit() string { return unit }
