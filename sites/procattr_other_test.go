//go:build !linux

package sites

import "os/exec"

// dieWithTest is a no-op where the parent's death cannot be signalled.
func dieWithTest(*exec.Cmd) {}
