//go:build unix

package dnsserver

import (
	"syscall"
	"testing"
)

func TestRaiseOpenFileLimitReachesTheHardLimit(t *testing.T) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Skipf("no open-file limit here: %v", err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl) })
	lowered := rl
	lowered.Cur = min(rl.Max/2, 4096) // Go raised it at start; lower it again
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lowered); err != nil {
		t.Fatal(err)
	}
	soft, err := RaiseOpenFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	cur, hard := openFileLimit()
	if soft != hard || cur != hard || hard != uint64(rl.Max) {
		t.Fatalf("soft limit %d (returned %d), hard %d", cur, soft, hard)
	}
}
