package store

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	berrors "go.etcd.io/bbolt/errors"
)

// A write the file cannot take (here: beyond MaxSize, as on a full disk)
// makes the store unhealthy until a later write succeeds.
func TestHealthReportsAFailedWriteUntilTheNextSuccessfulOne(t *testing.T) {
	reg := prometheus.NewRegistry()
	dir := filepath.Join(t.TempDir(), "state")
	s := openTemp(t, dir, Options{Registerer: reg, MaxSize: 1 << 20})
	healthy := func() float64 {
		t.Helper()
		return testutil.ToFloat64(s.metrics.healthy)
	}
	if err := s.Health(); err != nil || healthy() != 1 {
		t.Fatalf("fresh store: Health() = %v, gauge %v", err, healthy())
	}
	if n, err := testutil.GatherAndCount(reg, "failoverd_store_healthy"); err != nil || n != 1 {
		t.Fatalf("failoverd_store_healthy registered %d times: %v", n, err)
	}

	tooBig := bytes.Repeat([]byte("x"), 4<<20)
	werr := s.SaveEngineState(tooBig)
	if werr == nil {
		t.Fatal("a 4 MiB write into a 1 MiB state file succeeded")
	}
	if !errors.Is(werr, berrors.ErrMaxSizeReached) {
		t.Fatalf("write failed for another reason: %v", werr)
	}
	herr := s.Health()
	if herr == nil || herr.Error() != werr.Error() {
		t.Errorf("after a failed write: Health() = %v, want %v", herr, werr)
	}
	if healthy() != 0 {
		t.Errorf("after a failed write: failoverd_store_healthy = %v, want 0", healthy())
	}
	// Reads do not clear it: only a write proves the disk takes data again.
	if _, err := s.EngineState(); err != nil {
		t.Fatal(err)
	}
	if s.Health() == nil {
		t.Error("a read cleared the failed write")
	}

	if err := s.SetSerial("example.com.", 2026112301); err != nil {
		t.Fatalf("small write after the failure: %v", err)
	}
	if err := s.Health(); err != nil || healthy() != 1 {
		t.Errorf("after a successful write: Health() = %v, gauge %v", err, healthy())
	}
	if got, ok, err := s.Serial("example.com."); err != nil || !ok || got != 2026112301 {
		t.Errorf("serial after recovery = %d %v %v", got, ok, err)
	}
}
