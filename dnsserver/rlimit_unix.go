//go:build unix

package dnsserver

import (
	"fmt"
	"syscall"
)

// RaiseOpenFileLimit raises the soft open-file limit (RLIMIT_NOFILE) to
// the hard limit and returns the soft limit now in force. The daemon calls
// it at start, before the DNS server derives its TCP connection cap from
// it (DefaultMaxTCPConns).
func RaiseOpenFileLimit() (uint64, error) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, fmt.Errorf("getrlimit nofile: %w", err)
	}
	if rl.Cur >= rl.Max {
		return uint64(rl.Cur), nil
	}
	raised := rl
	raised.Cur = rl.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
		return uint64(rl.Cur), fmt.Errorf("setrlimit nofile %d: %w", raised.Cur, err)
	}
	return uint64(raised.Cur), nil
}

// openFileLimit returns the soft and hard open-file limits.
func openFileLimit() (soft, hard uint64) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, 0
	}
	return uint64(rl.Cur), uint64(rl.Max)
}
