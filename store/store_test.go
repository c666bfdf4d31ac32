package store

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

var t0 = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)

func openTemp(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestOpenCreatesPrivateStateDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "state")
	s := openTemp(t, dir, Options{})
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("state dir mode = %o, want 700", got)
	}
	fi, err = os.Stat(filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("state file mode = %o, want 600", got)
	}
	if s.Path() != filepath.Join(dir, FileName) || s.Dir() != dir {
		t.Errorf("Path/Dir = %s %s", s.Path(), s.Dir())
	}
	if s.Retention() != DefaultRetention {
		t.Errorf("default retention = %v, want %v", s.Retention(), DefaultRetention)
	}
}

func TestEngineStateIsNilUntilSavedAndRoundTrips(t *testing.T) {
	s := openTemp(t, t.TempDir(), Options{})
	got, err := s.EngineState()
	if err != nil || got != nil {
		t.Fatalf("EngineState on a new store = %q, %v; want nil, nil", got, err)
	}
	for _, want := range [][]byte{[]byte(`{"latches":["app.example.com./US East"]}`), []byte(`{}`), bytes.Repeat([]byte("x"), 1<<20)} {
		if err := s.SaveEngineState(want); err != nil {
			t.Fatal(err)
		}
		got, err := s.EngineState()
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("EngineState = %d bytes, %v; want %d bytes", len(got), err, len(want))
		}
	}
	if err := s.SaveEngineState(nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.EngineState(); err != nil || got != nil {
		t.Fatalf("EngineState after saving nil = %q, %v; want nil", got, err)
	}
}

func TestSerialsRoundTripPerZone(t *testing.T) {
	s := openTemp(t, t.TempDir(), Options{})
	if _, ok, err := s.Serial("example.com."); ok || err != nil {
		t.Fatalf("Serial of unknown zone: ok=%v err=%v", ok, err)
	}
	steps := []struct {
		zone   string
		serial uint32
	}{
		{"example.com.", 2026112300},
		{"example.net.", 1},
		{"example.com.", 2026112301},
		{"example.org.", ^uint32(0)},
	}
	want := map[string]uint32{}
	for _, st := range steps {
		if err := s.SetSerial(st.zone, st.serial); err != nil {
			t.Fatal(err)
		}
		want[st.zone] = st.serial
		got, ok, err := s.Serial(st.zone)
		if err != nil || !ok || got != st.serial {
			t.Fatalf("Serial(%s) = %d %v %v, want %d", st.zone, got, ok, err, st.serial)
		}
	}
	all, err := s.Serials()
	if err != nil || !reflect.DeepEqual(all, want) {
		t.Fatalf("Serials = %v, %v; want %v", all, err, want)
	}
	if err := s.SetSerial("", 1); err == nil {
		t.Error("SetSerial with an empty zone succeeded")
	}
}

func TestJobIDsIncreaseAndSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var last uint64
	for i := range 5 {
		j, err := s.NextJob("deactivate", "app.example.com.", t0.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		if j.ID <= last {
			t.Fatalf("job id %d after %d", j.ID, last)
		}
		if j.Status != JobStatusComplete {
			t.Errorf("job status %q, want %q", j.Status, JobStatusComplete)
		}
		last = j.ID
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTemp(t, dir, Options{})
	j, err := s.NextJob("enable", "c1/http/web1", t0)
	if err != nil {
		t.Fatal(err)
	}
	if j.ID <= last {
		t.Fatalf("job id after reopen %d, want > %d", j.ID, last)
	}
	got, ok, err := s.Job(last)
	if err != nil || !ok {
		t.Fatalf("Job(%d) = %v %v", last, ok, err)
	}
	want := Job{ID: last, Action: "deactivate", Target: "app.example.com.", Status: JobStatusComplete, Created: t0.Add(4 * time.Second)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Job(%d) = %+v, want %+v", last, got, want)
	}
	if _, ok, err := s.Job(last + 100); ok || err != nil {
		t.Fatalf("Job of unknown id: ok=%v err=%v", ok, err)
	}
}

func TestCommitAllocatesJobIDAndKeepsExplicitIDsAhead(t *testing.T) {
	s := openTemp(t, t.TempDir(), Options{})
	j := &Job{Action: "recover", Target: "app.example.com.", Created: t0}
	if err := s.Commit(Batch{Job: j, EngineState: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if j.ID != 1 || j.Status != JobStatusComplete {
		t.Fatalf("committed job = %+v, want id 1 complete", j)
	}
	if err := s.Commit(Batch{Job: &Job{ID: 40, Action: "set_weight", Target: "c/s/r", Created: t0}}); err != nil {
		t.Fatal(err)
	}
	next, err := s.NextJob("disable", "c/s/r", t0)
	if err != nil {
		t.Fatal(err)
	}
	if next.ID != 41 {
		t.Fatalf("id after explicit 40 = %d, want 41", next.ID)
	}
}

func TestCommitIsAllOrNothing(t *testing.T) {
	s := openTemp(t, t.TempDir(), Options{})
	j := &Job{Action: "deactivate", Target: "app.example.com.", Created: t0}
	err := s.Commit(Batch{
		EngineState: []byte(`{"x":1}`),
		Serials:     map[string]uint32{"example.com.": 7},
		Events: []Event{
			{Time: t0, Service: "app.example.com.", Kind: "ip"},
			{Time: t0, Kind: "ip"}, // no service: the whole batch fails
		},
		Served: map[string]ServedSnapshot{"app.example.com.": {Time: t0, Regions: map[string][]string{"global": {"192.0.2.1"}}}},
		Job:    j,
	})
	if err == nil {
		t.Fatal("Commit with an event without service succeeded")
	}
	if j.ID != 0 {
		t.Errorf("failed Commit wrote job id %d back", j.ID)
	}
	if b, _ := s.EngineState(); b != nil {
		t.Errorf("engine state written by a failed commit: %s", b)
	}
	if _, ok, _ := s.Serial("example.com."); ok {
		t.Error("serial written by a failed commit")
	}
	if evs, _ := s.Events("app.example.com.", time.Time{}, time.Time{}); len(evs) != 0 {
		t.Errorf("events written by a failed commit: %v", evs)
	}
	if _, ok, _ := s.ServedAt("app.example.com.", t0); ok {
		t.Error("served snapshot written by a failed commit")
	}
	if next, _ := s.NextJob("a", "b", t0); next.ID != 1 {
		t.Errorf("job id after failed commit = %d, want 1", next.ID)
	}
}

func TestEventsAreOldestFirstWithinInclusiveRange(t *testing.T) {
	s := openTemp(t, t.TempDir(), Options{})
	const svc = "app.example.com."
	// Appended out of time order, in two calls, with a tie at t0+2m.
	var evs []Event
	for _, m := range []int{3, 0, 2, 5} {
		evs = append(evs, Event{Time: t0.Add(time.Duration(m) * time.Minute), Service: svc, Kind: "ip", Region: "global",
			Address: "192.0.2.1", OldStatus: "up", NewStatus: "down", Message: fmt.Sprintf("m%d", m)})
	}
	if err := s.AppendEvents(evs); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendEvents([]Event{
		{Time: t0.Add(2 * time.Minute), Service: svc, Kind: "svc", Region: "global", OldStatus: "ok", NewStatus: "failover", Message: "m2b"},
		{Time: t0.Add(time.Minute), Service: "other.example.com.", Kind: "ip", Message: "other"},
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		start, end time.Time
		want       []string
	}{
		{"everything with zero bounds", time.Time{}, time.Time{}, []string{"m0", "m2", "m2b", "m3", "m5"}},
		{"start and end are inclusive", t0.Add(2 * time.Minute), t0.Add(3 * time.Minute), []string{"m2", "m2b", "m3"}},
		{"open end", t0.Add(time.Minute), time.Time{}, []string{"m2", "m2b", "m3", "m5"}},
		{"open start", time.Time{}, t0.Add(2*time.Minute - time.Nanosecond), []string{"m0"}},
		{"empty range", t0.Add(6 * time.Minute), t0.Add(7 * time.Minute), nil},
		{"end before start", t0.Add(5 * time.Minute), t0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Events(svc, tt.start, tt.end)
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, e := range got {
				msgs = append(msgs, e.Message)
			}
			if !reflect.DeepEqual(msgs, tt.want) {
				t.Fatalf("events = %v, want %v", msgs, tt.want)
			}
		})
	}
	got, err := s.Events(svc, t0, t0)
	if err != nil || len(got) != 1 {
		t.Fatalf("Events at t0 = %v, %v", got, err)
	}
	if want := evs[1]; !reflect.DeepEqual(got[0], want) {
		t.Fatalf("event round trip = %+v, want %+v", got[0], want)
	}
	if got, err := s.Events("unknown.example.com.", time.Time{}, time.Time{}); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Events of unknown service = %#v, %v; want empty non-nil", got, err)
	}
}

func TestEventTimesAreStoredInUTC(t *testing.T) {
	s := openTemp(t, t.TempDir(), Options{})
	local := t0.In(time.FixedZone("X", 3600))
	if err := s.AppendEvents([]Event{{Time: local, Service: "a.", Kind: "svc"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Events("a.", time.Time{}, time.Time{})
	if err != nil || len(got) != 1 {
		t.Fatal(got, err)
	}
	if got[0].Time.Location() != time.UTC || !got[0].Time.Equal(t0) {
		t.Fatalf("time = %v, want %v in UTC", got[0].Time, t0)
	}
}

func TestAppendRejectsIncompleteRecords(t *testing.T) {
	s := openTemp(t, t.TempDir(), Options{})
	tests := []struct {
		name string
		b    Batch
	}{
		{"event without service", Batch{Events: []Event{{Time: t0, Kind: "ip"}}}},
		{"event without time", Batch{Events: []Event{{Service: "a.", Kind: "ip"}}}},
		{"served without service", Batch{Served: map[string]ServedSnapshot{"": {Time: t0}}}},
		{"served without time", Batch{Served: map[string]ServedSnapshot{"a.": {}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Commit(tt.b); err == nil {
				t.Fatal("Commit succeeded")
			}
		})
	}
}

func TestServedAtReturnsLastSnapshotAtOrBefore(t *testing.T) {
	s := openTemp(t, t.TempDir(), Options{})
	const svc = "app.example.com."
	snap := func(min int, addrs ...string) ServedSnapshot {
		return ServedSnapshot{Time: t0.Add(time.Duration(min) * time.Minute), Regions: map[string][]string{"global": addrs, "US East": {"192.0.2.9"}}}
	}
	for _, sn := range []ServedSnapshot{snap(0, "192.0.2.1", "192.0.2.2"), snap(10, "192.0.2.2"), snap(20, "backup.example.net.")} {
		if err := s.AppendServed(svc, sn); err != nil {
			t.Fatal(err)
		}
	}
	// Two snapshots at the same time: the later write wins.
	if err := s.AppendServed(svc, snap(20, "192.0.2.3")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		at     time.Time
		ok     bool
		global []string
	}{
		{"before the first snapshot", t0.Add(-time.Second), false, nil},
		{"exactly at the first", t0, true, []string{"192.0.2.1", "192.0.2.2"}},
		{"between snapshots", t0.Add(15 * time.Minute), true, []string{"192.0.2.2"}},
		{"just before a change", t0.Add(10*time.Minute - time.Nanosecond), true, []string{"192.0.2.1", "192.0.2.2"}},
		{"same-time snapshots, last written", t0.Add(20 * time.Minute), true, []string{"192.0.2.3"}},
		{"after the last", t0.Add(1000 * time.Hour), true, []string{"192.0.2.3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := s.ServedAt(svc, tt.at)
			if err != nil || ok != tt.ok {
				t.Fatalf("ServedAt = %v, %v, %v", got, ok, err)
			}
			if ok && !reflect.DeepEqual(got.Regions["global"], tt.global) {
				t.Fatalf("global served = %v, want %v", got.Regions["global"], tt.global)
			}
			if ok && !reflect.DeepEqual(got.Regions["US East"], []string{"192.0.2.9"}) {
				t.Fatalf("US East served = %v", got.Regions["US East"])
			}
		})
	}
	if _, ok, err := s.ServedAt("unknown.", t0); ok || err != nil {
		t.Fatalf("ServedAt of unknown service: %v %v", ok, err)
	}
}

func TestPruneDropsHistoryOlderThanRetention(t *testing.T) {
	const day30 = 30 * 24 * 60 // minutes
	tests := []struct {
		name       string
		retention  time.Duration
		now        time.Time
		wantEvents []string // remaining event messages of svc
		wantServed []int    // minutes (since t0) of the remaining snapshots
		otherGone  bool     // the other service's only event is pruned
	}{
		{"default retention keeps a month", 0, t0.Add(29 * 24 * time.Hour), []string{"e0", "e30d"}, []int{0, day30, day30 + 1}, false},
		{"default retention drops older than 30 days", 0, t0.Add(30*24*time.Hour + time.Minute), []string{"e30d"}, []int{0, day30, day30 + 1}, true},
		{"retention is configurable", time.Hour, t0.Add(30*24*time.Hour + time.Hour + 30*time.Second), nil, []int{day30, day30 + 1}, true},
		{"everything expired keeps the newest snapshot", time.Hour, t0.Add(100 * 24 * time.Hour), nil, []int{day30 + 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTemp(t, t.TempDir(), Options{Retention: tt.retention})
			const svc = "app.example.com."
			if err := s.AppendEvents([]Event{
				{Time: t0, Service: svc, Kind: "ip", Message: "e0"},
				{Time: t0.Add(30 * 24 * time.Hour), Service: svc, Kind: "ip", Message: "e30d"},
				{Time: t0.Add(time.Second), Service: "other.", Kind: "svc", Message: "o"},
			}); err != nil {
				t.Fatal(err)
			}
			for _, m := range []int{0, day30, day30 + 1} {
				if err := s.AppendServed(svc, ServedSnapshot{Time: t0.Add(time.Duration(m) * time.Minute), Regions: map[string][]string{"global": {strconv.Itoa(m)}}}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Prune(tt.now); err != nil {
				t.Fatal(err)
			}
			evs, err := s.Events(svc, time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, e := range evs {
				msgs = append(msgs, e.Message)
			}
			if !reflect.DeepEqual(msgs, tt.wantEvents) {
				t.Errorf("events after prune = %v, want %v", msgs, tt.wantEvents)
			}
			other, _ := s.Events("other.", time.Time{}, time.Time{})
			if gone := len(other) == 0; gone != tt.otherGone {
				t.Errorf("other service's events gone = %v, want %v", gone, tt.otherGone)
			}
			// Read the snapshots back from newest to oldest.
			var served []int
			at := t0.Add(1000 * 24 * time.Hour)
			for range 10 {
				sn, ok, err := s.ServedAt(svc, at)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				m, _ := strconv.Atoi(sn.Regions["global"][0])
				served = append([]int{m}, served...)
				at = sn.Time.Add(-time.Nanosecond)
			}
			if !reflect.DeepEqual(served, tt.wantServed) {
				t.Errorf("served snapshots after prune = %v, want %v", served, tt.wantServed)
			}
		})
	}
}

func TestReopenAfterCloseKeepsEverything(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	job := &Job{Action: "force", Target: "pool.example.com.", Created: t0}
	b := Batch{
		EngineState: []byte(`{"removed":["192.0.2.1"]}`),
		Serials:     map[string]uint32{"example.com.": 2026112305},
		Events:      []Event{{Time: t0, Service: "pool.example.com.", Kind: "svc", Region: "global", OldStatus: "OK", NewStatus: "MANUAL"}},
		Served:      map[string]ServedSnapshot{"pool.example.com.": {Time: t0, Regions: map[string][]string{"global": {"192.0.2.99"}}}},
		Job:         job,
	}
	if err := s.Commit(b); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s = openTemp(t, dir, Options{})
	if got, _ := s.EngineState(); !bytes.Equal(got, b.EngineState) {
		t.Errorf("engine state = %s", got)
	}
	if got, ok, _ := s.Serial("example.com."); !ok || got != 2026112305 {
		t.Errorf("serial = %d %v", got, ok)
	}
	if got, _ := s.Events("pool.example.com.", time.Time{}, time.Time{}); !reflect.DeepEqual(got, b.Events) {
		t.Errorf("events = %+v, want %+v", got, b.Events)
	}
	if got, ok, _ := s.ServedAt("pool.example.com.", t0); !ok || !reflect.DeepEqual(got, b.Served["pool.example.com."]) {
		t.Errorf("served = %+v %v", got, ok)
	}
	if got, ok, _ := s.Job(job.ID); !ok || !reflect.DeepEqual(got, *job) {
		t.Errorf("job = %+v %v, want %+v", got, ok, *job)
	}
}

func TestSecondOpenWhileLockedFailsClearly(t *testing.T) {
	dir := t.TempDir()
	first := openTemp(t, dir, Options{})
	_, err := Open(dir, Options{})
	if err == nil {
		t.Fatal("second Open of a locked state directory succeeded")
	}
	if !errors.Is(err, ErrInUse) {
		t.Errorf("error does not wrap ErrInUse: %v", err)
	}
	for _, want := range []string{"state directory " + dir + " is in use by another failoverd", "pid " + strconv.Itoa(os.Getpid())} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	// The first store still works and, once closed, frees the directory.
	if err := first.SetSerial("example.com.", 1); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	openTemp(t, dir, Options{})
}

func TestCorruptStateFileFailsClearly(t *testing.T) {
	random := make([]byte, 64<<10)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	valid := func(t *testing.T) []byte {
		dir := t.TempDir()
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.AppendEvents([]Event{{Time: t0, Service: "a.", Kind: "ip"}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, FileName))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name    string
		content func(t *testing.T) []byte
	}{
		{"random bytes", func(*testing.T) []byte { return random }},
		{"a few bytes of text", func(*testing.T) []byte { return []byte("not a database\n") }},
		{"zeros", func(*testing.T) []byte { return make([]byte, 32<<10) }},
		{"meta pages overwritten", func(t *testing.T) []byte {
			b := valid(t)
			copy(b, random[:8192])
			return b
		}},
		{"truncated to one page", func(t *testing.T) []byte { return valid(t)[:4096] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, FileName)
			if err := os.WriteFile(path, tt.content(t), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(dir, Options{})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open of a corrupt state file succeeded")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("error does not wrap ErrCorrupt: %v", err)
			}
			for _, want := range []string{path, "not a valid failoverd state file", "move the file aside"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestUnusableStateDirectoryFailsClearly(t *testing.T) {
	// Tests run as root, for which chmod 000 is no obstacle: a path under a
	// regular file cannot be created by anyone.
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	dbIsDir := filepath.Join(base, "dbdir")
	if err := os.MkdirAll(filepath.Join(dbIsDir, FileName), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
		want []string
	}{
		{"under a regular file", filepath.Join(file, "state"), []string{"state directory " + filepath.Join(file, "state") + " cannot be created", "not a directory"}},
		{"a regular file", file, []string{"state directory " + file + " is not a directory"}},
		{"database path is a directory", dbIsDir, []string{"state file " + filepath.Join(dbIsDir, FileName) + " cannot be opened"}},
		{"empty path", "", []string{"state directory: empty path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(tt.dir, Options{})
			if err == nil {
				_ = s.Close()
				t.Fatal("Open succeeded")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestConcurrentCommitsAndReadsKeepEveryWrite(t *testing.T) {
	s := openTemp(t, t.TempDir(), Options{})
	const writers, perWriter = 4, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter*2)
	for w := range writers {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				j := &Job{Action: "a", Target: "t", Created: t0}
				errs <- s.Commit(Batch{
					Events: []Event{{Time: t0.Add(time.Duration(i) * time.Second), Service: fmt.Sprintf("s%d.", w), Kind: "ip"}},
					Job:    j,
				})
			}
		}()
		go func() {
			defer wg.Done()
			for range perWriter {
				_, err := s.Events(fmt.Sprintf("s%d.", w), time.Time{}, time.Time{})
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for w := range writers {
		evs, err := s.Events(fmt.Sprintf("s%d.", w), time.Time{}, time.Time{})
		if err != nil || len(evs) != perWriter {
			t.Fatalf("writer %d: %d events, %v", w, len(evs), err)
		}
	}
	j, err := s.NextJob("a", "t", t0)
	if err != nil || j.ID != writers*perWriter+1 {
		t.Fatalf("next job id = %d, %v; want %d", j.ID, err, writers*perWriter+1)
	}
}

func TestMetricsCountCommitsErrorsAndPrunedRecords(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	s := openTemp(t, t.TempDir(), Options{Registerer: reg, Retention: time.Hour})
	if err := s.AppendEvents([]Event{{Time: t0, Service: "a.", Kind: "ip"}, {Time: t0, Service: "b.", Kind: "ip"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(Batch{Events: []Event{{Kind: "ip"}}}); err == nil {
		t.Fatal("bad commit succeeded")
	}
	if err := s.Prune(t0.Add(2 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetCounter() != nil:
				got[f.GetName()] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				got[f.GetName()] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	want := map[string]float64{
		"failoverd_store_commit_seconds":       2, // both commits are timed
		"failoverd_store_commit_errors_total":  1,
		"failoverd_store_pruned_records_total": 2,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("metrics = %v, want %v", got, want)
	}
	// A second store on the same registry is refused, not silently unexported.
	if _, err := Open(t.TempDir(), Options{Registerer: reg}); err == nil || !strings.Contains(err.Error(), "store metrics") {
		t.Errorf("second Open on the same registry: %v", err)
	}
}

// JobsOf lists one target's jobs (and its parts', "target/part") in a
// time range, oldest first, with the actor each was stored with.
func TestJobsOfOneTargetInARange(t *testing.T) {
	s := openTemp(t, t.TempDir(), Options{})
	for i, j := range []Job{
		{Action: "deactivate", Target: "app.example.com.", Actor: "ops", Created: t0},
		{Action: "activate", Target: "other.example.com.", Created: t0.Add(time.Second)},
		{Action: "activate", Target: "app.example.com.", Actor: "ops", Created: t0.Add(2 * time.Second)},
		{Action: "recover", Target: "app.example.com.", Created: t0.Add(3 * time.Second)},
		{Action: "recover", Target: "app.example.com./192.0.2.1", Created: t0.Add(4 * time.Second)},
		{Action: "recover", Target: "app.example.com.x/192.0.2.1", Created: t0.Add(5 * time.Second)},
	} {
		if err := s.Commit(Batch{Job: &j}); err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
	}
	for _, c := range []struct {
		rule       string
		start, end time.Time
		want       []string
	}{
		{"every job of the target and of its parts", t0, t0.Add(time.Hour), []string{"deactivate ops", "activate ops", "recover ", "recover "}},
		{"the range bounds are inclusive", t0.Add(2 * time.Second), t0.Add(3 * time.Second), []string{"activate ops", "recover "}},
		{"nothing before the range", t0.Add(-time.Hour), t0.Add(-time.Second), nil},
	} {
		t.Run(c.rule, func(t *testing.T) {
			jobs, err := s.JobsOf("app.example.com.", c.start, c.end)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range jobs {
				got = append(got, j.Action+" "+j.Actor)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}
