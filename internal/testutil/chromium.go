package testutil

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Chromium runs Debian's headless chromium (skipping or failing as
// RequireTool does when it is missing) on pageURL with extra flags, such as
// --dump-dom or --screenshot=FILE and --window-size=W,H, and returns its
// stdout. It has a fresh profile, no network of its own (the flags this
// closed machine needs), and the whole process group is killed when it is
// done.
func Chromium(t testing.TB, pageURL string, extra ...string) string {
	t.Helper()
	bin := RequireTool(t, "chromium", "chromium", "chromium-browser")
	profile := t.TempDir()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + profile, "--virtual-time-budget=5000",
	}
	args = append(append(args, extra...), pageURL)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+profile)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // helpers chromium left in its group
	}
	if err != nil {
		t.Fatalf("chromium %v: %v\nstderr:\n%s", extra, err, errb.String())
	}
	return out.String()
}
