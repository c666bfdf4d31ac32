package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/prepare")

// binary is failoverd built once for the tests that run it.
var binary string

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "failoverd-cmd-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "failoverd")
	code := 1
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building failoverd:", err)
	} else {
		code = m.Run()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

const fixtureDir = "testdata/prepare"

// fixture copies testdata/prepare into a temporary directory with the
// placeholder {{STATE}} filled in (a state directory that does not exist
// yet) and returns the copy of name. Relative state_dir paths resolve
// against the working directory, the package's.
func fixture(t *testing.T, name string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	entries, err := os.ReadDir(fixtureDir)
	if err != nil {
		t.Fatal(err)
	}
	repl := strings.NewReplacer("{{STATE}}", filepath.Join(dir, "state"))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(fixtureDir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(e.Name(), ".hcl") {
			b = []byte(repl.Replace(string(b)))
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, name), dir
}

// fixtures are the configurations of testdata/prepare; the valid ones are
// named valid-*.
func fixtures(t *testing.T) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(fixtureDir, "*.hcl"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for i, n := range names {
		names[i] = filepath.Base(n)
	}
	return names
}

// Every check that run makes before it binds a port is reported by
// validate, with FILE:LINE:COL: one golden file per check.
func TestValidate_ReportsWhatRunWouldRefuse(t *testing.T) {
	for _, name := range fixtures(t) {
		t.Run(strings.TrimSuffix(name, ".hcl"), func(t *testing.T) {
			path, dir := fixture(t, name)
			var stdout, stderr bytes.Buffer
			code := run([]string{"validate", "-config", path}, &stdout, &stderr)
			cwd, err := os.Getwd()
			if err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(stdout.String(), dir, fixtureDir)
			got = strings.ReplaceAll(got, cwd+string(filepath.Separator), "")
			wantCode := 1
			if strings.HasPrefix(name, "valid-") {
				wantCode = 0
			}
			if code != wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, wantCode, got, stderr.String())
			}
			golden := filepath.Join(fixtureDir, strings.TrimSuffix(name, ".hcl")+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("validate output differs from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
			if _, err := os.Stat(filepath.Join(dir, "state")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("validate touched the state directory: %v", err)
			}
		})
	}
}

// For every fixture, validate fails if and only if run refuses to start;
// run refuses with the same diagnostics and before it has opened the state
// directory or bound a port, and a configuration validate accepts runs.
func TestValidate_FailsIffRunRefusesToStart(t *testing.T) {
	for _, name := range fixtures(t) {
		t.Run(strings.TrimSuffix(name, ".hcl"), func(t *testing.T) {
			path, dir := fixture(t, name)
			validate := exec.Command(binary, "validate", "-config", path)
			vout, verr := validate.Output()
			validateFails := exitCode(t, verr) != 0

			var out syncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			daemon := exec.CommandContext(ctx, binary, "run", "-config", path)
			daemon.Stdout, daemon.Stderr = &out, &out
			if err := daemon.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- daemon.Wait() }()
			t.Cleanup(func() { daemon.Process.Kill() })

			if validateFails {
				var err error
				select {
				case err = <-exited:
				case <-time.After(20 * time.Second):
					t.Fatalf("validate failed but run is still running:\n%s\nvalidate said:\n%s", out.String(), vout)
				}
				if exitCode(t, err) == 0 {
					t.Fatalf("validate failed but run exited 0:\n%s", out.String())
				}
				if !strings.Contains(out.String(), string(vout)) {
					t.Errorf("run refused with other diagnostics than validate:\nrun:\n%s\nvalidate:\n%s", out.String(), vout)
				}
				if strings.Contains(out.String(), "failoverd ready") {
					t.Errorf("run bound its ports before refusing:\n%s", out.String())
				}
				if _, err := os.Stat(filepath.Join(dir, "state")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("run opened the state directory before refusing: %v", err)
				}
				return
			}
			// validate passed: run must start, and stop cleanly on SIGTERM.
			deadline := time.Now().Add(20 * time.Second)
			for !strings.Contains(out.String(), "failoverd ready") {
				select {
				case err := <-exited:
					t.Fatalf("validate passed but run exited (%v):\n%s", err, out.String())
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("validate passed but run did not get ready within 20s:\n%s", out.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			daemon.Process.Signal(syscall.SIGTERM)
			if err := <-exited; err != nil {
				t.Fatalf("run did not stop cleanly: %v\n%s", err, out.String())
			}
		})
	}
}

// syncBuffer is the daemon's output, written by exec's copying goroutine
// while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}
