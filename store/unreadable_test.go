package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// helperEnv names the state directory TestHelperOpenProcess opens when the
// test binary is re-executed as an unprivileged user.
const helperEnv = "FAILOVERD_STORE_TEST_HELPER_DIR"

// TestHelperOpenProcess is not a test: run by TestUnreadableStateDirectoryFailsClearly
// in a child process, it opens the directory and prints the error.
func TestHelperOpenProcess(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	s, err := Open(dir, Options{})
	if err == nil {
		_ = s.Close()
		fmt.Println("OPENED")
		return
	}
	fmt.Println("ERROR:", err)
}

func TestUnreadableStateDirectoryFailsClearly(t *testing.T) {
	// A world-traversable base, so an unprivileged child can reach state/.
	base, err := os.MkdirTemp("", "failoverd-store-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "state")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{"state file " + filepath.Join(dir, FileName) + " cannot be opened read-write", "permission denied", "must own server.state_dir"}

	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		s, err := Open(dir, Options{})
		if err == nil {
			_ = s.Close()
			t.Fatal("Open of an unreadable state directory succeeded")
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not contain %q", err, w)
			}
		}
		return
	}

	// Root reads everything: re-run this test binary as nobody against the
	// root-owned 0700 directory.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "store.test")
	if err := copyFile(self, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestHelperOpenProcess$", "-test.count=1")
	cmd.Dir = base
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.EPERM) {
		t.Skipf("cannot run a child as uid 65534 here: %v", err)
	}
	if err != nil {
		t.Fatalf("helper as uid 65534: %v\n%s", err, out)
	}
	t.Logf("helper as uid 65534: %s", out)
	if !strings.Contains(string(out), "ERROR:") {
		t.Fatalf("helper opened a state directory it cannot read:\n%s", out)
	}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Errorf("helper output %q does not contain %q", out, w)
		}
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
