package testutil

import (
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// process is a server a runner started: it keeps the server's output for
// the log of a failed test.
type process struct {
	mu  sync.Mutex
	out strings.Builder
}

// Output is what the server logged so far.
func (p *process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// Write implements io.Writer: the server's output.
func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.Write(b)
}

// start runs cmd with its output kept in p; Cleanup kills it and, when the
// test failed, logs its configuration conf and its output under name.
func (p *process) start(t testing.TB, name, conf string, cmd *exec.Cmd) {
	t.Helper()
	cmd.Stdout, cmd.Stderr = p, p
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("%s configuration:\n%s\n%s output:\n%s", name, conf, name, p.Output())
		}
	})
}
