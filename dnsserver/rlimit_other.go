//go:build !unix

package dnsserver

// RaiseOpenFileLimit does nothing where there is no RLIMIT_NOFILE; it
// returns 0 (unknown).
func RaiseOpenFileLimit() (uint64, error) { return 0, nil }

func openFileLimit() (soft, hard uint64) { return 0, 0 }
