package sites

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// view is everything under the prefix as of rev, decoded. It is built by
// the initial list and kept current by the watch; readers hold Sites.mu.
type view struct {
	rev        int64
	sites      map[string]SiteInfo
	lastSeen   map[string]time.Time
	reports    map[string]map[string]Report // target → site → report
	candidates map[string]candidate         // election key → candidate
	state      map[string][]byte
	serials    map[string]uint32
	events     map[string]Event
	delivered  map[string]bool
	cmds       map[uint64]cmdEntry
	jobs       map[uint64]Job
	batches    map[string]bool // batch keys: commits of several transactions under way
}

type candidate struct {
	site      string
	createRev int64
}

type cmdEntry struct {
	key string
	cmd Command
}

func newView() *view {
	return &view{
		sites:      map[string]SiteInfo{},
		lastSeen:   map[string]time.Time{},
		reports:    map[string]map[string]Report{},
		candidates: map[string]candidate{},
		state:      map[string][]byte{},
		serials:    map[string]uint32{},
		events:     map[string]Event{},
		delivered:  map[string]bool{},
		cmds:       map[uint64]cmdEntry{},
		jobs:       map[uint64]Job{},
		batches:    map[string]bool{},
	}
}

// changes is what one batch of key updates changed.
type changes struct {
	sites     bool
	targets   map[string]bool
	committed Committed
	cmds      bool
	deleted   map[string]bool // deleted election keys
	// batchEnded: a commit of several transactions ended (or its leader
	// went), so what was held back for it is delivered.
	batchEnded bool
}

func newChanges(rev int64) *changes {
	return &changes{
		targets:   map[string]bool{},
		committed: Committed{Revision: rev, State: map[string][]byte{}, Serials: map[string]uint32{}},
		deleted:   map[string]bool{},
	}
}

func (c *changes) committedChanged() bool {
	return len(c.committed.State)+len(c.committed.Serials)+len(c.committed.Events)+len(c.committed.Jobs) > 0
}

// apply updates the view with one key's put (kv.Value set) or delete.
// It returns an error wrapping errUnreadable for a value it cannot read;
// the view is then left as it was for that key.
func (v *view) apply(k keys, kv *mvccpb.KeyValue, del bool, now time.Time, ch *changes) error {
	key := string(kv.Key)
	kind, rest, ok := k.split(key)
	if !ok {
		return fmt.Errorf("%w: key of a kind this version does not know", errUnreadable)
	}
	switch kind {
	case kindSites:
		// A site coming or going changes the live reports on every target
		// it reported on.
		for target, m := range v.reports {
			if _, ok := m[rest]; ok {
				ch.targets[target] = true
			}
		}
		if del {
			delete(v.sites, rest)
			delete(v.lastSeen, rest)
		} else {
			var sv siteValue
			if err := decode(kv.Value, &sv); err != nil {
				return err
			}
			v.sites[rest] = SiteInfo{Site: rest, Hostname: sv.Hostname, Version: sv.Version,
				ConfigDigest: sv.ConfigDigest, Started: sv.Started}
			v.lastSeen[rest] = now
		}
		ch.sites = true
	case kindObs:
		site, esc, found := strings.Cut(rest, "/")
		if !found || site == "" || esc == "" {
			return fmt.Errorf("%w: observation key without site/target", errUnreadable)
		}
		target, err := unescape(esc)
		if err != nil {
			return fmt.Errorf("%w: %v", errUnreadable, err)
		}
		if del {
			if m := v.reports[target]; m != nil {
				delete(m, site)
				if len(m) == 0 {
					delete(v.reports, target)
				}
			}
		} else {
			var ov obsValue
			if err := decode(kv.Value, &ov); err != nil {
				return err
			}
			switch ov.Status {
			case StatusUp, StatusDown, StatusUnknown:
			default:
				return fmt.Errorf("%w: observation status %q", errUnreadable, ov.Status)
			}
			m := v.reports[target]
			if m == nil {
				m = map[string]Report{}
				v.reports[target] = m
			}
			m[site] = Report{Site: site, Status: ov.Status, Message: ov.Message, RTT: fromSeconds(ov.RTTSeconds), Time: ov.Time}
			v.lastSeen[site] = now
		}
		ch.targets[target] = true
	case kindElection:
		// Written by etcd's concurrency package: the value is the site.
		if del {
			delete(v.candidates, key)
			ch.deleted[key] = true
		} else {
			v.candidates[key] = candidate{site: string(kv.Value), createRev: kv.CreateRevision}
		}
		ch.sites = true
	case kindBatch:
		if del {
			delete(v.batches, key)
			ch.batchEnded = true
		} else {
			var bv batchValue
			if err := decode(kv.Value, &bv); err != nil {
				return err
			}
			v.batches[key] = true
		}
	case kindState:
		name, err := unescape(rest)
		if err != nil {
			return fmt.Errorf("%w: %v", errUnreadable, err)
		}
		if del {
			delete(v.state, name)
			ch.committed.State[name] = nil
		} else {
			var dv dataValue
			if err := decode(kv.Value, &dv); err != nil {
				return err
			}
			if dv.Data == nil {
				dv.Data = []byte{}
			}
			v.state[name] = dv.Data
			ch.committed.State[name] = dv.Data
		}
	case kindSerial:
		zone, err := unescape(rest)
		if err != nil {
			return fmt.Errorf("%w: %v", errUnreadable, err)
		}
		if del {
			delete(v.serials, zone)
			return nil
		}
		var sv serialValue
		if err := decode(kv.Value, &sv); err != nil {
			return err
		}
		v.serials[zone] = sv.Serial
		ch.committed.Serials[zone] = sv.Serial
	case kindEvents:
		if del {
			delete(v.events, rest)
			return nil
		}
		var ev eventValue
		if err := decode(kv.Value, &ev); err != nil {
			return err
		}
		e := Event{ID: rest, Time: ev.Time, Data: ev.Data, Delivered: v.delivered[rest]}
		v.events[rest] = e
		ch.committed.Events = append(ch.committed.Events, e)
	case kindDelivered:
		if del {
			delete(v.delivered, rest)
			return nil
		}
		var dv deliveredValue
		if err := decode(kv.Value, &dv); err != nil {
			return err
		}
		v.delivered[rest] = true
		if e, ok := v.events[rest]; ok {
			e.Delivered = true
			v.events[rest] = e
		}
	case kindCmd:
		// Keyed by the revision that created it: that is the job id.
		id := uint64(kv.CreateRevision)
		if del {
			for cid, c := range v.cmds {
				if c.key == key {
					delete(v.cmds, cid)
				}
			}
			return nil
		}
		var cv cmdValue
		if err := decode(kv.Value, &cv); err != nil {
			return err
		}
		v.cmds[id] = cmdEntry{key: key, cmd: Command{ID: id, Site: cv.Site, Data: cv.Data, Submitted: cv.Submitted}}
		ch.cmds = true
	case kindJobs:
		id, err := jobID(rest)
		if err != nil {
			return fmt.Errorf("%w: %v", errUnreadable, err)
		}
		if del {
			delete(v.jobs, id)
			return nil
		}
		var jv jobValue
		if err := decode(kv.Value, &jv); err != nil {
			return err
		}
		j := Job{ID: id, Site: jv.Site, Data: jv.Data, Error: jv.Error, Result: jv.Result,
			Submitted: jv.Submitted, Completed: jv.Completed, Revision: kv.ModRevision}
		v.jobs[id] = j
		ch.committed.Jobs = append(ch.committed.Jobs, j)
	case kindShared:
		// Read on demand by Claim; nothing to hold.
	}
	return nil
}

// leader returns the site of the oldest election key and that key.
func (v *view) leader() (site, key string) {
	var best candidate
	for k, c := range v.candidates {
		if key == "" || c.createRev < best.createRev {
			key, best = k, c
		}
	}
	return best.site, key
}

// targetReports returns the live sites' reports on target, sorted by site.
// A report of a site whose registration is gone does not count.
func (v *view) targetReports(target string) []Report {
	m := v.reports[target]
	out := make([]Report, 0, len(m))
	for site, r := range m {
		if _, live := v.sites[site]; live {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Report) int { return strings.Compare(a.Site, b.Site) })
	return out
}

// full returns the whole committed state.
func (v *view) full() Committed {
	c := Committed{Revision: v.rev, Full: true, State: maps.Clone(v.state), Serials: maps.Clone(v.serials)}
	for _, id := range slices.Sorted(maps.Keys(v.events)) {
		c.Events = append(c.Events, v.events[id])
	}
	for _, id := range slices.Sorted(maps.Keys(v.jobs)) {
		c.Jobs = append(c.Jobs, v.jobs[id])
	}
	return c
}

// pending returns the queued commands in submission order.
func (v *view) pending() []Command {
	out := make([]Command, 0, len(v.cmds))
	for _, id := range slices.Sorted(maps.Keys(v.cmds)) {
		out = append(out, v.cmds[id].cmd)
	}
	return out
}
