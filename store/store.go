// Package store persists failoverd's operational state under
// server.state_dir in one bbolt file (failoverd.db): the decision engine's
// state (operator overrides, auto_recover latches, removed addresses, as an
// opaque JSON blob), SOA serials, job ids and the event and served-set
// history behind the log and rrset reports.
//
// Every write is one bbolt read-write transaction, committed and fsynced
// before the method returns, so a caller that answers after a write has
// made the change durable (also across kill -9). A Store is safe for use by
// several goroutines: bbolt serialises writers and lets readers run beside
// them.
package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the name of the database file inside the state directory.
const FileName = "failoverd.db"

// PIDFileName is the name of the file, next to the database, in which the
// process holding the database lock records its pid, so a second failoverd
// can say which process is in the way.
const PIDFileName = "failoverd.pid"

// DefaultRetention is how long events and served snapshots are kept when
// Options.Retention is zero (30 days).
const DefaultRetention = 720 * time.Hour

// lockTimeout bounds the wait for another process's lock on the database.
const lockTimeout = time.Second

// schemaVersion is written into new databases; a database with a higher
// version was written by a newer failoverd and is refused.
const schemaVersion = 1

// Bucket and key names. Top-level buckets are created at Open.
var (
	bucketMeta    = []byte("meta")    // schemaKey, engineKey
	bucketSerials = []byte("serials") // zone -> uint32 BE
	bucketJobs    = []byte("jobs")    // id uint64 BE -> JSON Job; NextSequence allocates ids
	bucketEvents  = []byte("events")  // service -> bucket: timeKey -> JSON Event
	bucketServed  = []byte("served")  // service -> bucket: timeKey -> JSON ServedSnapshot

	schemaKey = []byte("schema")
	engineKey = []byte("engine")

	topBuckets = [][]byte{bucketMeta, bucketSerials, bucketJobs, bucketEvents, bucketServed}
)

// ErrInUse is wrapped by the error Open returns when another process holds
// the lock on the state directory's database.
var ErrInUse = errors.New("state directory in use")

// ErrCorrupt is wrapped by the error Open returns when the database file is
// not a valid failoverd state file.
var ErrCorrupt = errors.New("state file corrupt")

// Options tunes a Store.
type Options struct {
	// Retention is how long events and served snapshots are kept by Prune;
	// zero or negative means DefaultRetention.
	Retention time.Duration
	// Registerer receives the store's metrics; nil means they are not
	// exported.
	Registerer prometheus.Registerer
	// MaxSize caps the database file, in bytes: a write that would grow
	// it beyond fails as on a full disk (and Health reports it). Zero or
	// negative means no cap.
	MaxSize int
}

// Store is an open state directory. Create it with Open and release it with
// Close.
type Store struct {
	dir       string
	path      string
	retention time.Duration
	db        *bolt.DB
	metrics   metrics

	healthMu  sync.Mutex // guards lastWrite, set by every writer
	lastWrite error      // the last write's error, nil after a successful one

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating when needed, mode 0700) the state directory dir and
// its database file, takes an exclusive lock on it and checks that it is a
// failoverd state file. The errors it returns are meant for an operator:
// they name the directory or file and say what to do.
func Open(dir string, opts Options) (*Store, error) {
	if dir == "" {
		return nil, errors.New("state directory: empty path")
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("state directory %s is not a directory (check server.state_dir)", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s cannot be created: %w (check server.state_dir and the permissions of its parent)", dir, err)
	}
	path := filepath.Join(dir, FileName)
	_, statErr := os.Stat(path)
	created := errors.Is(statErr, os.ErrNotExist)

	db, err := openBolt(path, opts.MaxSize)
	if err != nil {
		return nil, explainOpenError(dir, path, err)
	}
	s := &Store{dir: dir, path: path, retention: opts.Retention, db: db}
	if err := s.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	// Registered last, so a failed Open can be retried on the same registry.
	if s.metrics, err = newMetrics(opts.Registerer); err != nil {
		_ = db.Close()
		return nil, err
	}
	if created {
		// Make the new file's directory entry durable too.
		if err := syncDir(dir); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("state directory %s: sync: %w", dir, err)
		}
	}
	// Best effort: the lock is what protects the file; the pid only makes
	// the "in use" error more helpful.
	_ = os.WriteFile(filepath.Join(dir, PIDFileName), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600)
	return s, nil
}

// openBolt opens the bbolt file, turning a panic on a mangled file into
// ErrCorrupt: bbolt trusts the pages it maps.
func openBolt(path string, maxSize int) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	mmap := initialMmapSize
	if maxSize > 0 {
		mmap = min(mmap, maxSize)
	}
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout, MaxSize: max(maxSize, 0), InitialMmapSize: mmap})
}

// initialMmapSize is the address space mapped for the file from the start
// (the file itself grows only as written). bbolt remaps a growing file
// inside the write transaction, copying every node it has touched out of
// the old mapping each time: two thirds of the commit of 100,000 services'
// served sets at start went to that.
const initialMmapSize = 1 << 30

// explainOpenError turns bbolt's and the OS's errors into operator advice.
func explainOpenError(dir, path string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		who := "another process"
		if b, rerr := os.ReadFile(filepath.Join(dir, PIDFileName)); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
				who = "pid " + strconv.Itoa(pid)
			}
		}
		return &openError{
			msg:  fmt.Sprintf("state directory %s is in use by another failoverd (%s holds the lock on %s); stop it or give this one another server.state_dir", dir, who, path),
			errs: []error{ErrInUse, err},
		}
	case errors.Is(err, ErrCorrupt),
		errors.Is(err, berrors.ErrInvalid),
		errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch),
		errors.Is(err, berrors.ErrInvalidMapping),
		strings.Contains(err.Error(), "file size too small"):
		return corruptError(path, err)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("state file %s cannot be opened read-write: %w (the user running failoverd must own server.state_dir)", path, err)
	default:
		return fmt.Errorf("state file %s cannot be opened: %w", path, err)
	}
}

func corruptError(path string, cause error) error {
	msg := cause.Error()
	if cause == ErrCorrupt {
		msg = "corrupt"
	}
	msg = strings.TrimPrefix(msg, ErrCorrupt.Error()+": ")
	return &openError{
		msg:  fmt.Sprintf("state file %s is not a valid failoverd state file (%s); stop failoverd, move the file aside (or restore a backup) and start again to begin with empty state", path, msg),
		errs: []error{ErrCorrupt, cause},
	}
}

// openError is an operator-facing message that still matches the sentinel
// errors and the cause with errors.Is.
type openError struct {
	msg  string
	errs []error
}

func (e *openError) Error() string   { return e.msg }
func (e *openError) Unwrap() []error { return e.errs }

// init creates the top-level buckets and checks the schema version. It runs
// the first transaction, so a file whose pages are mangled beyond its meta
// pages is reported here rather than panicking later.
func (s *Store) init() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = corruptError(s.path, fmt.Errorf("%v", r))
		}
	}()
	err = s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range topBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		v := meta.Get(schemaKey)
		switch {
		case v == nil:
			return meta.Put(schemaKey, binary.BigEndian.AppendUint32(nil, schemaVersion))
		case len(v) != 4:
			return fmt.Errorf("%w: schema version has %d bytes", ErrCorrupt, len(v))
		case binary.BigEndian.Uint32(v) > schemaVersion:
			return fmt.Errorf("state file %s was written by a newer failoverd (schema %d, this one knows %d); upgrade failoverd", s.path, binary.BigEndian.Uint32(v), schemaVersion)
		}
		return nil
	})
	if err != nil && (errors.Is(err, ErrCorrupt) || errors.Is(err, berrors.ErrIncompatibleValue) || errors.Is(err, berrors.ErrBucketNameRequired)) {
		return corruptError(s.path, err)
	}
	if err != nil {
		return fmt.Errorf("state file %s: %w", s.path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Health returns the error of the last write (commit, deletion or prune)
// when it failed, and nil once a later write has succeeded: the state on
// disk is then current again. It is what /healthz and the
// failoverd_store_healthy gauge report.
func (s *Store) Health() error {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	return s.lastWrite
}

// wrote records the outcome of a write for Health and the gauge.
func (s *Store) wrote(err error) error {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	s.lastWrite = err
	if err != nil {
		s.metrics.healthy.Set(0)
	} else {
		s.metrics.healthy.Set(1)
	}
	return err
}

// Dir returns the state directory.
func (s *Store) Dir() string { return s.dir }

// Path returns the path of the database file.
func (s *Store) Path() string { return s.path }

// Retention returns how long Prune keeps history.
func (s *Store) Retention() time.Duration { return s.retention }

// Close releases the lock and closes the database, waiting for running
// transactions. Closing twice is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		pidFile := filepath.Join(s.dir, PIDFileName)
		if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(os.Getpid()) {
			_ = os.Remove(pidFile)
		}
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("state file %s: close: %w", s.path, err)
		}
	})
	return s.closeErr
}
