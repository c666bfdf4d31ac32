package sites

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// valueVersion is the version written into every value this package
// stores. A value with another version was written by a different
// failoverd and is skipped (logged and counted), never guessed at.
const valueVersion = 1

// The key kinds under the prefix (see doc.go for the layout).
const (
	kindSites     = "sites/"
	kindObs       = "obs/"
	kindElection  = "election/"
	kindState     = "state/"
	kindSerial    = "serial/"
	kindEvents    = "events/"
	kindDelivered = "delivered/"
	kindCmd       = "cmd/"
	kindJobs      = "jobs/"
	kindShared    = "shared/"
	kindBatch     = "batch/"
)

// keys builds and parses keys under one prefix.
type keys struct{ prefix string }

func (k keys) site(site string) string { return k.prefix + kindSites + site }
func (k keys) obs(site, target string) string {
	return k.prefix + kindObs + site + "/" + url.PathEscape(target)
}
func (k keys) obsSite(site string) string    { return k.prefix + kindObs + site + "/" }
func (k keys) election() string              { return k.prefix + kindElection }
func (k keys) state(name string) string      { return k.prefix + kindState + url.PathEscape(name) }
func (k keys) serial(zone string) string     { return k.prefix + kindSerial + url.PathEscape(zone) }
func (k keys) event(id string) string        { return k.prefix + kindEvents + id }
func (k keys) delivered(id string) string    { return k.prefix + kindDelivered + id }
func (k keys) cmd(site, nonce string) string { return k.prefix + kindCmd + site + "/" + nonce }
func (k keys) job(id uint64) string          { return k.prefix + kindJobs + fmt.Sprintf("%020d", id) }
func (k keys) shared(name string) string     { return k.prefix + kindShared + url.PathEscape(name) }
func (k keys) batch(site string) string      { return k.prefix + kindBatch + site }

// split returns a key's kind and the rest, or ok false for a key outside
// the prefix or of a kind this version does not know.
func (k keys) split(key string) (kind, rest string, ok bool) {
	rel, found := strings.CutPrefix(key, k.prefix)
	if !found {
		return "", "", false
	}
	for _, kd := range []string{kindSites, kindObs, kindElection, kindState, kindSerial, kindEvents, kindDelivered, kindCmd, kindJobs, kindShared, kindBatch} {
		if r, found := strings.CutPrefix(rel, kd); found && r != "" {
			return kd, r, true
		}
	}
	return "", "", false
}

// unescape undoes url.PathEscape on one key segment.
func unescape(seg string) (string, error) {
	s, err := url.PathUnescape(seg)
	if err != nil {
		return "", fmt.Errorf("key segment %q: %w", seg, err)
	}
	return s, nil
}

// errUnreadable is wrapped by decode errors: the value is skipped.
var errUnreadable = errors.New("unreadable value")

// siteValue is a live site's registration, held under its lease.
type siteValue struct {
	V            int       `json:"v"`
	Site         string    `json:"site"`
	Hostname     string    `json:"hostname"`
	Version      string    `json:"version"`
	ConfigDigest string    `json:"config_digest"`
	Instance     string    `json:"instance"` // random per process: tells a restart of this process from another one
	Started      time.Time `json:"started"`
}

// obsValue is one site's view of one target, held under the site's lease.
type obsValue struct {
	V          int       `json:"v"`
	Status     Status    `json:"status"`
	Message    string    `json:"message,omitempty"`
	RTTSeconds float64   `json:"rtt_seconds,omitempty"`
	Time       time.Time `json:"time"`
}

// dataValue carries the daemon's opaque bytes: committed state and shared
// values.
type dataValue struct {
	V    int    `json:"v"`
	Data []byte `json:"data"`
}

// batchValue marks a commit of several transactions as under way; it is
// deleted by the commit's last transaction, or with the leader's lease.
type batchValue struct {
	V int `json:"v"`
}

type serialValue struct {
	V      int    `json:"v"`
	Serial uint32 `json:"serial"`
}

type eventValue struct {
	V    int       `json:"v"`
	Time time.Time `json:"time"`
	Data []byte    `json:"data"`
}

type deliveredValue struct {
	V    int       `json:"v"`
	Time time.Time `json:"time"`
}

type cmdValue struct {
	V         int       `json:"v"`
	Site      string    `json:"site"`
	Data      []byte    `json:"data"`
	Submitted time.Time `json:"submitted"`
}

type jobValue struct {
	V         int       `json:"v"`
	Site      string    `json:"site"`
	Data      []byte    `json:"data"`
	Error     string    `json:"error,omitempty"`
	Result    []byte    `json:"result,omitempty"`
	Submitted time.Time `json:"submitted"`
	Completed time.Time `json:"completed"`
}

// encode marshals a value; every value type has V set by the caller.
func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sites: encoding %T: %v", v, err)) // our own types always marshal
	}
	return string(b)
}

// decode reads a versioned value into v, refusing other versions and
// malformed JSON with an error wrapping errUnreadable.
func decode(b []byte, v any) error {
	var hdr struct {
		V *int `json:"v"`
	}
	if err := json.Unmarshal(b, &hdr); err != nil {
		return fmt.Errorf("%w: not JSON: %v", errUnreadable, err)
	}
	if hdr.V == nil {
		return fmt.Errorf("%w: no value version", errUnreadable)
	}
	if *hdr.V != valueVersion {
		return fmt.Errorf("%w: value version %d, this failoverd reads version %d", errUnreadable, *hdr.V, valueVersion)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%w: %v", errUnreadable, err)
	}
	return nil
}

// jobID parses the decimal job id of a jobs/ key.
func jobID(rest string) (uint64, error) {
	id, err := strconv.ParseUint(rest, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("job key %q: not a job id", rest)
	}
	return id, nil
}

func seconds(d time.Duration) float64 { return d.Seconds() }

func fromSeconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
