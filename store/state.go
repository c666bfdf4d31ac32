package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// JobStatusComplete is the status of every job: API calls finish before they
// answer.
const JobStatusComplete = "complete"

// Job is the record of one state-changing API call.
type Job struct {
	ID      uint64    `json:"id"`
	Action  string    `json:"action"`
	Target  string    `json:"target"`
	Status  string    `json:"status"`
	Created time.Time `json:"created"`
	// Actor is who made the call when the surface knows a name (a Dyn
	// or UltraDNS login's user name); empty otherwise.
	Actor string `json:"actor,omitempty"`
}

// Batch is everything one turn of the decision loop (or one operator
// command) writes, committed in one transaction so it costs one fsync.
// Zero fields are left alone.
type Batch struct {
	// EngineState replaces the stored engine state when non-nil.
	EngineState []byte
	// Serials sets the SOA serial of each zone.
	Serials map[string]uint32
	// Events are appended to each event's service history.
	Events []Event
	// Served appends a served snapshot per service.
	Served map[string]ServedSnapshot
	// Job is stored when non-nil. A zero ID is replaced by the next job id
	// (written back into *Job); an empty Status becomes JobStatusComplete.
	Job *Job
	// EventMark, when not empty, replaces the id of the last deployment
	// event this node's history holds (see Store.EventMark).
	EventMark string
}

// eventMarkKey holds, in the meta bucket, the id of the last event of a
// multi-site deployment that this node's history holds.
var eventMarkKey = []byte("event-mark")

// EventMark returns the id of the last deployment event recorded with
// Batch.EventMark ("" when none was): a node that joins or resyncs records
// the committed events after it, and none twice.
func (s *Store) EventMark() (string, error) {
	var mark string
	err := s.db.View(func(tx *bolt.Tx) error {
		mark = string(tx.Bucket(bucketMeta).Get(eventMarkKey))
		return nil
	})
	return mark, s.wrap("read event mark", err)
}

// SaveEngineState replaces the engine's opaque state; nil deletes it.
func (s *Store) SaveEngineState(b []byte) error {
	if b != nil {
		return s.Commit(Batch{EngineState: b})
	}
	return s.wrote(s.wrap("delete engine state", s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Delete(engineKey)
	})))
}

// EngineState returns the engine state last saved, or nil when none was.
func (s *Store) EngineState() ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(engineKey); v != nil {
			out = append([]byte{}, v...)
		}
		return nil
	})
	return out, s.wrap("read engine state", err)
}

// Serial returns the stored SOA serial of zone and whether there is one.
func (s *Store) Serial(zone string) (uint32, bool, error) {
	var (
		serial uint32
		ok     bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketSerials).Get([]byte(zone))
		if v == nil {
			return nil
		}
		if len(v) != 4 {
			return fmt.Errorf("%w: serial of zone %q has %d bytes", ErrCorrupt, zone, len(v))
		}
		serial, ok = binary.BigEndian.Uint32(v), true
		return nil
	})
	return serial, ok, s.wrap("read serial", err)
}

// Serials returns every stored SOA serial by zone.
func (s *Store) Serials() (map[string]uint32, error) {
	out := make(map[string]uint32)
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSerials).ForEach(func(k, v []byte) error {
			if len(v) != 4 {
				return fmt.Errorf("%w: serial of zone %q has %d bytes", ErrCorrupt, k, len(v))
			}
			out[string(k)] = binary.BigEndian.Uint32(v)
			return nil
		})
	})
	return out, s.wrap("read serials", err)
}

// SetSerial stores the SOA serial of zone. The store does not enforce that
// serials increase; the caller owns RFC 1982 arithmetic.
func (s *Store) SetSerial(zone string, serial uint32) error {
	return s.Commit(Batch{Serials: map[string]uint32{zone: serial}})
}

// NextJob allocates the next job id (ids increase monotonically, also
// across restarts), stores the job as complete and returns it.
func (s *Store) NextJob(action, target string, now time.Time) (Job, error) {
	j := Job{Action: action, Target: target, Status: JobStatusComplete, Created: now}
	err := s.Commit(Batch{Job: &j})
	return j, err
}

// Job returns the job with id and whether it exists.
func (s *Store) Job(id uint64) (Job, bool, error) {
	var (
		j  Job
		ok bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketJobs).Get(u64(id))
		if v == nil {
			return nil
		}
		ok = true
		return json.Unmarshal(v, &j)
	})
	return j, ok, s.wrap("read job", err)
}

// JobsOf returns the jobs of target, and of its parts (a target
// "target/part", such as one address of a service), created in
// [start, end], oldest first.
// Ids grow with time, so the scan walks back from the newest job and stops
// at the first one before start.
func (s *Store) JobsOf(target string, start, end time.Time) ([]Job, error) {
	var out []Job
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketJobs).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var j Job
			if err := json.Unmarshal(v, &j); err != nil {
				return err
			}
			if j.Created.Before(start) {
				break
			}
			if (j.Target == target || strings.HasPrefix(j.Target, target+"/")) && !j.Created.After(end) {
				out = append(out, j)
			}
		}
		return nil
	})
	slices.Reverse(out)
	return out, s.wrap("read jobs", err)
}

// Commit writes b in one transaction, synced to disk before it returns.
// Either all of b is stored or none of it.
// An empty batch writes nothing.
func (s *Store) Commit(b Batch) error {
	if b.EngineState == nil && len(b.Serials) == 0 && len(b.Events) == 0 && len(b.Served) == 0 && b.Job == nil && b.EventMark == "" {
		return nil
	}
	var job Job
	if b.Job != nil {
		job = *b.Job
	}
	start := time.Now()
	err := s.db.Update(func(tx *bolt.Tx) error {
		if b.EngineState != nil {
			if err := tx.Bucket(bucketMeta).Put(engineKey, b.EngineState); err != nil {
				return err
			}
		}
		if b.EventMark != "" {
			if err := tx.Bucket(bucketMeta).Put(eventMarkKey, []byte(b.EventMark)); err != nil {
				return err
			}
		}
		if len(b.Serials) > 0 {
			sb := tx.Bucket(bucketSerials)
			// Keys in order, as everywhere in one transaction: bbolt splits
			// nodes only at commit, so keys in map order would each shift a
			// growing node, O(n²) for 100,000 services' served sets.
			for _, zone := range slices.Sorted(maps.Keys(b.Serials)) {
				serial := b.Serials[zone]
				if zone == "" {
					return errors.New("serial for an empty zone name")
				}
				if err := sb.Put([]byte(zone), binary.BigEndian.AppendUint32(nil, serial)); err != nil {
					return err
				}
			}
		}
		if len(b.Events) > 0 {
			if err := appendEvents(tx, b.Events); err != nil {
				return err
			}
		}
		for _, service := range slices.Sorted(maps.Keys(b.Served)) {
			if err := appendServed(tx, service, b.Served[service]); err != nil {
				return err
			}
		}
		if b.Job != nil {
			return putJob(tx, &job)
		}
		return nil
	})
	s.metrics.commitSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		s.metrics.commitErrors.Inc()
		return s.wrote(s.wrap("commit", err))
	}
	if b.Job != nil {
		*b.Job = job
	}
	return s.wrote(nil)
}

// putJob stores j, allocating its id when zero and keeping the id sequence
// ahead of any explicit id.
func putJob(tx *bolt.Tx, j *Job) error {
	jb := tx.Bucket(bucketJobs)
	if j.ID == 0 {
		id, err := jb.NextSequence()
		if err != nil {
			return err
		}
		j.ID = id
	} else if j.ID > jb.Sequence() {
		if err := jb.SetSequence(j.ID); err != nil {
			return err
		}
	}
	if j.Status == "" {
		j.Status = JobStatusComplete
	}
	j.Created = j.Created.UTC()
	v, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return jb.Put(u64(j.ID), v)
}

// wrap gives an error the file's name, once.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("state file %s: %s: %w", s.path, op, err)
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), v) }
