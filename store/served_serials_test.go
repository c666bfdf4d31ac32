package store

import (
	"reflect"
	"testing"
)

// Served serials survive a reopen, are replaced whole and can be deleted.
func TestServedSerials_SurviveReopenAndReplace(t *testing.T) {
	dir := t.TempDir()
	s := openTemp(t, dir, Options{})
	if got, err := s.ServedSerials(); err != nil || got != nil {
		t.Fatalf("fresh store: %v, %v; want none", got, err)
	}
	first := map[string]ServedSerial{"example.test.": {Serial: 2026120601, Fingerprint: 42}, "other.test.": {Serial: 7, Fingerprint: 1}}
	if err := s.SaveServedSerials(first); err != nil {
		t.Fatal(err)
	}
	second := map[string]ServedSerial{"example.test.": {Serial: 2026120602, Fingerprint: 43}}
	if err := s.SaveServedSerials(second); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTemp(t, dir, Options{})
	if got, err := s.ServedSerials(); err != nil || !reflect.DeepEqual(got, second) {
		t.Fatalf("after reopen: %v, %v; want %v", got, err, second)
	}
	if err := s.SaveServedSerials(nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ServedSerials(); err != nil || got != nil {
		t.Fatalf("after delete: %v, %v; want none", got, err)
	}
}

// The event mark is saved with the batch that records the events, survives
// a reopen, and a batch without one leaves it alone.
func TestEventMark_SavedWithItsBatchAndKept(t *testing.T) {
	dir := t.TempDir()
	s := openTemp(t, dir, Options{})
	if got, err := s.EventMark(); err != nil || got != "" {
		t.Fatalf("fresh store: %q, %v; want none", got, err)
	}
	if err := s.Commit(Batch{EventMark: "0000000000000042"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(Batch{Serials: map[string]uint32{"example.test.": 7}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTemp(t, dir, Options{})
	if got, err := s.EventMark(); err != nil || got != "0000000000000042" {
		t.Fatalf("after reopen: %q, %v; want the saved mark", got, err)
	}
}
