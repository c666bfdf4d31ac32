package store

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"
)

// killHelperEnv names the state directory TestHelperCommitThenWait writes to.
const killHelperEnv = "FAILOVERD_STORE_TEST_KILL_DIR"

// TestHelperCommitThenWait is not a test: run by
// TestCommittedStateSurvivesKill9 in a child process, it commits a batch,
// says so, and waits to be killed while holding the lock.
func TestHelperCommitThenWait(t *testing.T) {
	dir := os.Getenv(killHelperEnv)
	if dir == "" {
		t.Skip("helper process only")
	}
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("ERROR:", err)
		return
	}
	job := &Job{Action: "deactivate", Target: "app.example.com.", Created: t0}
	if err := s.Commit(Batch{
		EngineState: []byte(`{"active":{"app.example.com.":false}}`),
		Serials:     map[string]uint32{"example.com.": 2026112301},
		Job:         job,
	}); err != nil {
		fmt.Println("ERROR:", err)
		return
	}
	fmt.Printf("COMMITTED %d\n", job.ID)
	// Bounded: the parent kills us long before this.
	time.Sleep(30 * time.Second)
}

func TestCommittedStateSurvivesKill9(t *testing.T) {
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "-test.run=^TestHelperCommitThenWait$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), killHelperEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := make(chan string, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "COMMITTED") || strings.HasPrefix(l, "ERROR") {
				lines <- l
				break
			}
		}
		// Drain so the child never blocks on a full pipe.
		for sc.Scan() {
		}
	}()
	var line string
	select {
	case line = <-lines:
	case <-time.After(20 * time.Second):
		t.Fatal("helper did not commit within 20s")
	}
	if !strings.HasPrefix(line, "COMMITTED") {
		t.Fatalf("helper: %s", line)
	}
	// Holding the lock, the child keeps others out.
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", cmd.Process.Pid)) {
		t.Fatalf("Open while the child holds the lock: %v", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	killed = true

	s := openTemp(t, dir, Options{})
	if b, err := s.EngineState(); err != nil || string(b) != `{"active":{"app.example.com.":false}}` {
		t.Errorf("engine state after kill -9 = %s, %v", b, err)
	}
	if v, ok, err := s.Serial("example.com."); err != nil || !ok || v != 2026112301 {
		t.Errorf("serial after kill -9 = %d %v %v", v, ok, err)
	}
	var id uint64
	if _, err := fmt.Sscanf(line, "COMMITTED %d", &id); err != nil {
		t.Fatal(err)
	}
	want := Job{ID: id, Action: "deactivate", Target: "app.example.com.", Status: JobStatusComplete, Created: t0}
	if got, ok, err := s.Job(id); err != nil || !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("job after kill -9 = %+v %v %v", got, ok, err)
	}
}
