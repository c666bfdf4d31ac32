package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Event is one entry of a service's log report: an address (kind ip or
// nosrv) or a region or service (kind svc) changed status.
type Event struct {
	Time      time.Time `json:"time"`
	Service   string    `json:"service"`
	Kind      string    `json:"kind"`
	Region    string    `json:"region,omitempty"`
	Address   string    `json:"address,omitempty"`
	OldStatus string    `json:"old_status,omitempty"`
	NewStatus string    `json:"new_status,omitempty"`
	Message   string    `json:"message,omitempty"`
}

// ServedSnapshot is what a service served, per region code (rdata strings),
// from Time on until the next snapshot.
type ServedSnapshot struct {
	Time    time.Time           `json:"time"`
	Regions map[string][]string `json:"regions"`
	// Serial is the SOA serial of the service's zone that published it
	// (0 in snapshots written before serials were kept).
	Serial uint32 `json:"serial,omitempty"`
}

// History keys are 16 bytes: the time as sortable big-endian unix
// nanoseconds, then a per-service sequence number that keeps entries with
// the same time in the order they were written. A time range is then one
// cursor seek and a forward scan.
const keyLen = 16

// timeKey encodes t with seq. Flipping the sign bit makes times before 1970
// sort before later ones.
func timeKey(t time.Time, seq uint64) []byte {
	k := make([]byte, keyLen)
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano())^(1<<63))
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

// AppendEvents appends evs to their services' histories in one transaction.
// Every event needs a Service and a Time.
func (s *Store) AppendEvents(evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	return s.Commit(Batch{Events: evs})
}

func appendEvents(tx *bolt.Tx, evs []Event) error {
	root := tx.Bucket(bucketEvents)
	for _, ev := range evs {
		if ev.Service == "" {
			return errors.New("event without a service")
		}
		if ev.Time.IsZero() {
			return fmt.Errorf("event of %s without a time", ev.Service)
		}
		b, err := root.CreateBucketIfNotExists([]byte(ev.Service))
		if err != nil {
			return fmt.Errorf("events of %s: %w", ev.Service, err)
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		ev.Time = ev.Time.UTC()
		v, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if err := b.Put(timeKey(ev.Time, seq), v); err != nil {
			return err
		}
	}
	return nil
}

// Events returns the events of service with start <= time <= end, oldest
// first (events with equal times in the order they were appended). A zero
// start means from the oldest kept event, a zero end means up to the newest.
func (s *Store) Events(service string, start, end time.Time) ([]Event, error) {
	out := []Event{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketEvents).Bucket([]byte(service))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		var k, v []byte
		if start.IsZero() {
			k, v = c.First()
		} else {
			k, v = c.Seek(timeKey(start, 0))
		}
		var endKey []byte
		if !end.IsZero() {
			endKey = timeKey(end, ^uint64(0))
		}
		for ; k != nil; k, v = c.Next() {
			if endKey != nil && bytes.Compare(k, endKey) > 0 {
				break
			}
			if len(k) != keyLen || v == nil {
				return fmt.Errorf("%w: bad event key %x of %s", ErrCorrupt, k, service)
			}
			var ev Event
			if err := json.Unmarshal(v, &ev); err != nil {
				return fmt.Errorf("%w: event %x of %s: %w", ErrCorrupt, k, service, err)
			}
			out = append(out, ev)
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("read events", err)
	}
	return out, nil
}

// AppendServed records that service serves snap.Regions from snap.Time on.
// Call it when what the service serves changes.
func (s *Store) AppendServed(service string, snap ServedSnapshot) error {
	return s.Commit(Batch{Served: map[string]ServedSnapshot{service: snap}})
}

func appendServed(tx *bolt.Tx, service string, snap ServedSnapshot) error {
	if service == "" {
		return errors.New("served snapshot without a service")
	}
	if snap.Time.IsZero() {
		return fmt.Errorf("served snapshot of %s without a time", service)
	}
	b, err := tx.Bucket(bucketServed).CreateBucketIfNotExists([]byte(service))
	if err != nil {
		return fmt.Errorf("served sets of %s: %w", service, err)
	}
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	snap.Time = snap.Time.UTC()
	v, err := json.Marshal(snap)
	if err != nil {
		return err
	}
	return b.Put(timeKey(snap.Time, seq), v)
}

// ServedAt returns the last snapshot of service taken at or before t, that
// is what the service served at t, and whether there is one.
func (s *Store) ServedAt(service string, t time.Time) (ServedSnapshot, bool, error) {
	var (
		snap ServedSnapshot
		ok   bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketServed).Bucket([]byte(service))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		k, v := c.Seek(timeKey(t, ^uint64(0)))
		if k == nil {
			k, v = c.Last()
		} else if bytes.Compare(k, timeKey(t, ^uint64(0))) > 0 {
			k, v = c.Prev()
		}
		if k == nil {
			return nil
		}
		if len(k) != keyLen || v == nil {
			return fmt.Errorf("%w: bad served key %x of %s", ErrCorrupt, k, service)
		}
		if err := json.Unmarshal(v, &snap); err != nil {
			return fmt.Errorf("%w: served snapshot %x of %s: %w", ErrCorrupt, k, service, err)
		}
		ok = true
		return nil
	})
	if err != nil {
		return ServedSnapshot{}, false, s.wrap("read served sets", err)
	}
	return snap, ok, nil
}

// Prune drops events older than now minus the retention, and served
// snapshots older than that except, per service, the newest one at or
// before the cut-off: it still says what was served at the cut-off, and for
// a service that has not changed since it is the current served set.
// Services left without events lose their bucket.
func (s *Store) Prune(now time.Time) error {
	cutoff := timeKey(now.Add(-s.retention), 0)
	var pruned int
	err := s.db.Update(func(tx *bolt.Tx) error {
		n, err := pruneTree(tx.Bucket(bucketEvents), cutoff, false)
		if err != nil {
			return err
		}
		m, err := pruneTree(tx.Bucket(bucketServed), cutoff, true)
		pruned = n + m
		return err
	})
	if err != nil {
		return s.wrote(s.wrap("prune history", err))
	}
	s.metrics.prunedTotal.Add(float64(pruned))
	return s.wrote(nil)
}

// pruneTree deletes, in each per-service bucket of root, the keys before
// cutoff (keeping the newest of them when keepLast), and deletes buckets
// that end up empty. It returns how many keys it deleted.
func pruneTree(root *bolt.Bucket, cutoff []byte, keepLast bool) (int, error) {
	deleted := 0
	var services [][]byte
	if err := root.ForEachBucket(func(k []byte) error {
		services = append(services, append([]byte{}, k...))
		return nil
	}); err != nil {
		return 0, err
	}
	for _, name := range services {
		b := root.Bucket(name)
		// Collect first: deleting under a moving cursor can skip keys.
		var old [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, cutoff) < 0; k, _ = c.Next() {
			old = append(old, append([]byte{}, k...))
		}
		if keepLast && len(old) > 0 {
			old = old[:len(old)-1]
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return deleted, err
			}
			deleted++
		}
		if k, _ := b.Cursor().First(); k == nil {
			if err := root.DeleteBucket(name); err != nil {
				return deleted, err
			}
		}
	}
	return deleted, nil
}
