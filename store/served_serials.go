package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// servedSerialsKey holds, in the meta bucket, the zone serials a node of a
// multi-site deployment last served with what it served under them.
var servedSerialsKey = []byte("served-serials")

// ServedSerial is one zone's SOA serial as committed by a deployment and
// served by this node, and the daemon's fingerprint of the zone's content
// under it: a restart that serves the same content may serve the same
// serial (every node of the deployment did), not a new one.
type ServedSerial struct {
	Serial      uint32 `json:"serial"`
	Fingerprint uint64 `json:"fingerprint"`
}

// SaveServedSerials replaces the saved served serials (nil deletes them).
func (s *Store) SaveServedSerials(m map[string]ServedSerial) error {
	var b []byte
	if m != nil {
		var err error
		if b, err = json.Marshal(m); err != nil {
			return err
		}
	}
	return s.wrote(s.wrap("save served serials", s.db.Update(func(tx *bolt.Tx) error {
		if b == nil {
			return tx.Bucket(bucketMeta).Delete(servedSerialsKey)
		}
		return tx.Bucket(bucketMeta).Put(servedSerialsKey, b)
	})))
}

// ServedSerials returns the served serials last saved, nil when none were.
func (s *Store) ServedSerials() (map[string]ServedSerial, error) {
	var out map[string]ServedSerial
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketMeta).Get(servedSerialsKey)
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &out); err != nil {
			return fmt.Errorf("%w: served serials: %v", ErrCorrupt, err)
		}
		return nil
	})
	return out, s.wrap("read served serials", err)
}
