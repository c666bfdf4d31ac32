package daemon

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/failoverd/failoverd/dnsserver"
	"github.com/failoverd/failoverd/notify"
	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/probe"
	"github.com/failoverd/failoverd/store"
)

// zoneState is the decision loop's view of one served zone: its static data,
// its SOA serial and a fingerprint of everything it serves, so the serial
// moves exactly when a servable set changes.
type zoneState struct {
	data   *dnsserver.ZoneData
	serial uint32
	fp     uint64
}

// loop is the decision loop: the one goroutine that owns the engine. Probe
// results, operator commands and reloads arrive as messages; transitions go
// to notify and the store, and what DNS answers is republished.
func (d *Daemon) loop(ctx context.Context) error {
	defer close(d.loopDone)
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case r := <-d.results:
			// Rounds that completed together (a shared outage) are decided
			// one by one but published and persisted once.
			trs := d.observe(r, nil)
		drain:
			for range maxCoalesced {
				select {
				case r := <-d.results:
					trs = d.observe(r, trs)
				default:
					break drain
				}
			}
			d.apply(trs, time.Now(), false)
		case op := <-d.ops:
			op()
		case now := <-prune.C:
			if err := d.store.Prune(now); err != nil {
				d.log.Error("pruning history", zap.Error(err))
			}
		}
	}
}

// maxCoalesced bounds how many queued probe rounds one publish covers, so a
// burst never delays DNS by more than a batch.
const maxCoalesced = 256

// observe feeds one completed round to the engine and appends its
// transitions to trs.
func (d *Daemon) observe(r probe.Result, trs []pool.Transition) []pool.Transition {
	d.metrics.observeRound(r)
	return append(trs, d.engine.Observe(pool.Observation{
		Target:  r.Key,
		Up:      r.Up,
		RTT:     r.RTT,
		Message: r.Message,
		Site:    r.Site,
		Time:    r.Time,
	})...)
}

// apply handles the transitions of one input: it republishes DNS when a
// served set changed (bumping that zone's serial), logs and announces every
// change, and persists the engine state, events and served sets in one
// synced store commit. force republishes even when nothing changed (start-up,
// reload).
func (d *Daemon) apply(trs []pool.Transition, now time.Time, force bool) {
	changed := force
	for _, t := range trs {
		if isChange(t.Kind) {
			changed = true
			break
		}
	}
	if !changed {
		for _, t := range trs {
			d.announce(t)
		}
		return
	}
	served := d.publish(now, force)
	batch := store.Batch{Serials: map[string]uint32{}, Served: served}
	for _, t := range trs {
		d.announce(t)
		if isChange(t.Kind) && t.Kind != pool.EventEP {
			batch.Events = append(batch.Events, store.Event{
				Time: t.Time, Service: t.Service, Kind: t.Kind, Region: t.Region,
				Address: t.Address, OldStatus: t.Old, NewStatus: t.New, Message: t.Message,
			})
		}
	}
	for origin, z := range d.zones {
		batch.Serials[origin] = z.serial
	}
	d.persist(batch)
}

// persist writes batch together with the engine's current state.
func (d *Daemon) persist(batch store.Batch) {
	b, err := json.Marshal(d.engine.State())
	if err != nil {
		panic(err) // plain data: a failure is a bug
	}
	batch.EngineState = b
	if err := d.store.Commit(batch); err != nil {
		d.log.Error("persisting state", zap.Error(err))
	}
}

func isChange(kind string) bool {
	switch kind {
	case pool.EventIP, pool.EventSvc, pool.EventNoSrv, pool.EventEP:
		return true
	}
	return false
}

// announce logs a change once and hands every transition to the notifier,
// which decides from the service's route what goes out.
func (d *Daemon) announce(t pool.Transition) {
	d.metrics.observeTransition(t)
	if isChange(t.Kind) {
		d.log.Info("state change",
			zap.String("event", t.Kind), zap.String("service", t.Service), zap.String("region", t.Region),
			zap.String("address", t.Address), zap.String("old", t.Old), zap.String("new", t.New),
			zap.String("reason", t.Message), zap.Strings("served", t.Served))
	}
	r, ok := d.plan.routes[t.Service]
	if !ok || (r.Syslog == nil && len(r.Emails) == 0) {
		return
	}
	d.notifier.Publish(notify.Event{
		Kind:      t.Kind,
		Service:   t.Service,
		Region:    t.Region,
		Address:   t.Address,
		OldStatus: t.Old,
		NewStatus: t.New,
		Vars: notify.Vars{
			Hostname:  d.plan.cfg.Server.Hostname,
			Time:      t.Time,
			Region:    t.Region,
			Status:    t.New,
			Serial:    d.serialOf(t.Service),
			Rdata:     t.Served,
			Site:      t.Site,
			RTT:       t.RTT,
			HasRTT:    t.HasRTT,
			Message:   t.Message,
			Address:   t.Address,
			Median:    t.Median,
			HasMedian: t.HasMedian,
			RTTs:      t.RTTs,
		},
	}, r)
}

// serialOf is the current SOA serial of the zone holding name.
func (d *Daemon) serialOf(name string) uint32 {
	if z := d.zoneOf(name); z != nil {
		return z.serial
	}
	return 0
}

func (d *Daemon) zoneOf(name string) *zoneState {
	var best *zoneState
	for origin, z := range d.zones {
		if inZone(name, origin) && (best == nil || len(origin) > len(best.data.Origin())) {
			best = z
		}
	}
	return best
}

func inZone(name, origin string) bool {
	return name == origin || strings.HasSuffix(name, "."+origin) || origin == "."
}

// initZones (re)loads the zones of the current plan, keeping the serial of
// every zone that stays. A zone never seen starts at its stored serial plus
// one, or at YYYYMMDD00 of today; the first publish then announces it.
func (d *Daemon) initZones(now time.Time) error {
	stored, err := d.store.Serials()
	if err != nil {
		return err
	}
	zones := make(map[string]*zoneState, len(d.plan.zones))
	for _, zd := range d.plan.zones {
		origin := zd.Origin()
		if old, ok := d.zones[origin]; ok {
			zones[origin] = &zoneState{data: zd, serial: old.serial, fp: old.fp}
			continue
		}
		serial := dateSerial(now)
		if s, ok := stored[origin]; ok && s+1 > serial {
			serial = s + 1
		}
		zones[origin] = &zoneState{data: zd, serial: serial}
	}
	d.zones = zones
	return nil
}

// dateSerial is YYYYMMDD00 of now (UTC).
func dateSerial(now time.Time) uint32 {
	y, m, day := now.UTC().Date()
	return uint32(y*1000000 + int(m)*10000 + day*100)
}

// publish builds the DNS snapshot from the engine's answers and swaps it in.
// A zone whose content changed gets the next serial. It returns, for every
// name whose served set changed, what it serves now (for the rrset report).
func (d *Daemon) publish(now time.Time, force bool) map[string]store.ServedSnapshot {
	answers := d.engine.Answers()
	names := make(map[string]map[string]*dnsserver.Dynamic, len(d.zones))
	fps := make(map[string]uint64, len(d.zones))
	for origin := range d.zones {
		names[origin] = map[string]*dnsserver.Dynamic{}
	}
	changed := map[string]store.ServedSnapshot{}
	seen := make(map[string]string, len(answers))
	for _, a := range answers {
		z := d.zoneOf(a.Name)
		if z == nil {
			continue // config validation keeps every name inside a zone
		}
		origin := z.data.Origin()
		dyn, fp := dynamic(a, d.answeredCounters(a.Name))
		names[origin][a.Name] = dyn
		h := fnv.New64a()
		h.Write([]byte(a.Name))
		h.Write([]byte(fp))
		fps[origin] ^= h.Sum64() // order-independent over names
		seen[a.Name] = fp
		if d.served[a.Name] != fp {
			changed[a.Name] = servedSnapshot(a, now)
		}
	}
	d.served = seen

	snap := &dnsserver.Snapshot{}
	origins := make([]string, 0, len(d.zones))
	for origin := range d.zones {
		origins = append(origins, origin)
	}
	sort.Strings(origins)
	for _, origin := range origins {
		z := d.zones[origin]
		fp := fps[origin] ^ uint64(z.data.Len()) // static content counts too
		if fp != z.fp && z.fp != 0 {
			z.serial = max(z.serial+1, dateSerial(now))
		}
		z.fp = fp
		snap.Zones = append(snap.Zones, dnsserver.ZoneSnapshot{Data: z.data, Serial: z.serial, Names: names[origin]})
	}
	d.dns.Publish(snap)
	d.metrics.observeAnswers(answers)
	return changed
}

// answeredCounters returns the answer counters of a cluster service's
// address name (its real services' answers_total), or nil for other names:
// only those are counted on the query path.
func (d *Daemon) answeredCounters(name string) func(ip string) *atomic.Uint64 {
	if !d.plan.clusterNames[name] {
		return nil
	}
	return func(ip string) *atomic.Uint64 {
		k := name + " " + ip
		c := d.answered[k]
		if c == nil {
			c = new(atomic.Uint64)
			d.answered[k] = c
		}
		return c
	}
}

// dynamic turns one engine answer into the DNS server's form, and returns a
// canonical fingerprint of it. counter, when set, gives each address its
// answer counter.
func dynamic(a pool.Answer, counter func(ip string) *atomic.Uint64) (*dnsserver.Dynamic, string) {
	dyn := &dnsserver.Dynamic{TTL: a.TTL, Regions: make(map[string]*dnsserver.RegionAnswer, len(a.Regions))}
	var fp strings.Builder
	fp.WriteString(strconv.FormatUint(uint64(a.TTL), 10))
	codes := make([]string, 0, len(a.Regions))
	for code := range a.Regions {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		s := a.Regions[code]
		ra := &dnsserver.RegionAnswer{ServeCount: s.ServeCount}
		fp.WriteString("|" + code + ":" + strconv.Itoa(s.ServeCount))
		for _, r := range s.Records {
			fp.WriteString(";" + r.Type + " " + r.Data + " " + strconv.Itoa(r.Weight) + " " + strconv.Itoa(r.Port) + " " + strconv.Itoa(r.Priority))
			switch r.Type {
			case "A", "AAAA":
				addr, err := netip.ParseAddr(r.Data)
				if err != nil {
					continue
				}
				w := dnsserver.Weighted{Addr: addr, Weight: uint32(max(r.Weight, 1))}
				if counter != nil {
					w.Answered = counter(r.Data)
				}
				if addr.Is4() {
					ra.A = append(ra.A, w)
				} else {
					ra.AAAA = append(ra.AAAA, w)
				}
			case "CNAME":
				ra.CNAME = r.Data
			case "SRV":
				ra.SRV = append(ra.SRV, dnsserver.SRV{Priority: uint16(r.Priority), Weight: uint16(r.Weight), Port: uint16(r.Port), Target: r.Data})
			}
		}
		dyn.Regions[code] = ra
	}
	return dyn, fp.String()
}

func servedSnapshot(a pool.Answer, now time.Time) store.ServedSnapshot {
	s := store.ServedSnapshot{Time: now, Regions: make(map[string][]string, len(a.Regions))}
	for code, sv := range a.Regions {
		rd := make([]string, 0, len(sv.Records))
		for _, r := range sv.Records {
			rd = append(rd, r.Data)
		}
		s.Regions[code] = rd
	}
	return s
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
