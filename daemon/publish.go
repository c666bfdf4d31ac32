package daemon

import (
	"encoding/json"
	"hash/fnv"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/failoverd/failoverd/dnsserver"
	"github.com/failoverd/failoverd/notify"
	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/store"
)

// publisher applies the decision loop's Decisions: it publishes what DNS
// answers (moving a zone's serial exactly when its content changed),
// persists the decided state and the history, and announces every
// transition. It runs on the decision loop's goroutine and owns the zones.
type publisher struct {
	log     *zap.Logger
	metrics *metrics
	dns     *dnsserver.Server
	store   stateStore
	serials *serials
	// plan and notifier are replaced by a reload.
	plan     *plan
	notifier *notify.Dispatcher

	zones     map[string]*zoneState
	zoneOrder []string // origins, sorted
	// answered counts, per cluster address name and IP, the answers the
	// DNS server gave with that address (read atomically by the API).
	answered map[string]*atomic.Uint64
	// pending is set when a publish could not save the serial high-water
	// mark: DNS still answers the last published snapshot, and the next
	// turn republishes everything. pendingServed keeps the served sets that
	// changed meanwhile for the rrset history.
	pending       bool
	pendingServed map[string]store.ServedSnapshot
	// committed, when set, are the SOA serials a multi-site deployment
	// committed: a zone in it is published with that serial instead of
	// one of its own.
	committed map[string]uint32
	// floor, when set, holds serials a zone's own next serial must be
	// above: the high-water marks when a deployment's node stopped serving
	// committed serials, which may be below serials it published before.
	floor map[string]uint32
	// above holds serials another node of the deployment published (while
	// it decided alone), which the leader's next serial must pass: a zone at
	// or below its entry gets a new serial even when its content did not
	// change.
	above map[string]uint32
}

// zoneState is the publisher's view of one served zone: its static data,
// its SOA serial, the served sets of its names as last published, and
// fingerprints of both, so the serial moves exactly when something servable
// changes.
type zoneState struct {
	data   *dnsserver.ZoneData
	serial uint32
	// signer signs the zone (nil: unsigned); it is kept across reloads
	// while the key and its settings stay.
	signer *dnsserver.Signer
	// base fingerprints the static records; static adds the signer's key
	// and signing epoch to it.
	base uint64
	// static fingerprints the static records; dyn is the XOR over names of
	// a hash of each name's served sets, so one name updates it in O(1).
	static, dyn uint64
	// lastFP is static^dyn when the serial was last settled; published says
	// whether there has been such a publish yet.
	lastFP    uint64
	published bool
	// names is the published map (shared with the DNS server: replaced,
	// never modified once published); fps is the publisher's own record of
	// each name's fingerprint.
	names  map[string]*dnsserver.Dynamic
	fps    map[string]string
	cloned bool // names was copied during the current publish
}

// set records name's new served sets, copying the published map once per
// publish so DNS readers never see it change.
func (z *zoneState) set(name, fp string, dyn *dnsserver.Dynamic) {
	if !z.cloned {
		z.names = maps.Clone(z.names)
		z.cloned = true
	}
	if old, ok := z.fps[name]; ok {
		z.dyn ^= nameHash(name, old)
	}
	z.dyn ^= nameHash(name, fp)
	z.fps[name] = fp
	z.names[name] = dyn
}

func nameHash(name, fp string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write([]byte(fp))
	return h.Sum64()
}

// zoneSet is the zones of one plan, ready to be swapped in.
type zoneSet struct {
	zones map[string]*zoneState
	order []string
}

// nextZones builds the zones of p: a zone that stays keeps its serial and
// served sets; a zone first seen starts above its high-water mark, or at
// YYYYMMDD00 of today. It changes nothing.
func (pb *publisher) nextZones(p *plan, now time.Time) *zoneSet {
	zs := &zoneSet{zones: make(map[string]*zoneState, len(p.zones))}
	for _, zd := range p.zones {
		origin := zd.Origin()
		z := &zoneState{data: zd, base: staticFingerprint(zd), names: map[string]*dnsserver.Dynamic{}, fps: map[string]string{}}
		var oldSigner *dnsserver.Signer
		if old, ok := pb.zones[origin]; ok {
			z.serial, z.dyn, z.lastFP, z.published, z.names, z.fps = old.serial, old.dyn, old.lastFP, old.published, old.names, old.fps
			oldSigner = old.signer
		} else {
			hw, known := pb.serials.hw[origin]
			z.serial = startSerial(hw, known, now)
		}
		z.signer = signerFor(p, origin, oldSigner, now)
		z.static = z.base ^ signerFingerprint(z.signer)
		zs.zones[origin] = z
		zs.order = append(zs.order, origin)
	}
	sort.Strings(zs.order)
	return zs
}

// reserveFor saves the high-water marks zs needs so that its first publish,
// and one serial change of every zone after it, need no write: a reload
// that cannot save them fails before anything is swapped.
func (pb *publisher) reserveFor(zs *zoneSet, now time.Time) error {
	want := make(map[string]uint32, len(zs.zones))
	for origin, z := range zs.zones {
		want[origin] = max(z.serial+1, dateSerial(now))
	}
	return pb.serials.reserve(want)
}

// swap makes p, its zones and its notifier current.
func (pb *publisher) swap(p *plan, zs *zoneSet, n *notify.Dispatcher) {
	pb.plan, pb.zones, pb.zoneOrder = p, zs.zones, zs.order
	if n != nil {
		pb.notifier = n
	}
}

func staticFingerprint(zd *dnsserver.ZoneData) uint64 {
	h := fnv.New64a()
	for _, rr := range zd.Records() {
		h.Write([]byte(rr.String()))
		h.Write([]byte{'\n'})
	}
	return h.Sum64()
}

// apply publishes, persists and announces one Decision about st.
func (pb *publisher) apply(dec Decision, st decidedState) {
	pb.settle(dec, st)
	for _, t := range dec.Transitions {
		pb.announce(t)
	}
}

// settle publishes and persists one Decision about st without announcing
// its transitions: a multi-site leader commits them to etcd first.
func (pb *publisher) settle(dec Decision, st decidedState) {
	changed := dec.Full || pb.pending || len(dec.Readdressed) > 0
	for _, t := range dec.Transitions {
		if isChange(t.Kind) {
			changed = true
			break
		}
	}
	if !changed {
		return
	}
	var services []string // nil: every name
	if !dec.Full && !pb.pending {
		services = append(make([]string, 0, len(dec.Readdressed)+len(dec.Transitions)), dec.Readdressed...)
		for _, t := range dec.Transitions {
			if isChange(t.Kind) {
				services = append(services, t.Service)
			}
		}
	}
	served := pb.publish(dec.Time, services, st)
	batch := store.Batch{Served: served}
	for _, t := range dec.Transitions {
		if !dec.Recorded && isChange(t.Kind) && t.Kind != pool.EventEP {
			batch.Events = append(batch.Events, storeEvent(t))
		}
	}
	if !dec.Recorded {
		batch.EngineState = engineState(st)
	}
	if err := pb.store.Commit(batch); err != nil {
		pb.log.Error("persisting state", zap.Error(err))
	}
}

func storeEvent(t pool.Transition) store.Event {
	return store.Event{Time: t.Time, Service: t.Service, Kind: string(t.Kind), Region: t.Region,
		Address: t.Address, OldStatus: string(t.Old), NewStatus: string(t.New), Message: t.Message}
}

func engineState(st decidedState) []byte {
	b, err := json.Marshal(st.State())
	if err != nil {
		panic(err) // plain data: a failure is a bug
	}
	return b
}

func isChange(kind pool.EventKind) bool {
	switch kind {
	case pool.EventIP, pool.EventSvc, pool.EventNoSrv, pool.EventEP:
		return true
	}
	return false
}

// publish brings the DNS snapshot up to date with st and swaps it in.
// services names the services whose answers may have changed (nil: every
// name). A zone whose content changed gets the next serial, once its
// high-water mark allows it. It returns, for every name whose served set
// changed, what it serves now (for the rrset report).
func (pb *publisher) publish(now time.Time, services []string, st decidedState) map[string]store.ServedSnapshot {
	var answers []pool.Answer
	// previous holds, on a full rebuild, each zone's names so unchanged ones
	// keep their Dynamic (and names that are gone vanish).
	var previous map[*zoneState]*zoneState
	if services == nil {
		answers = st.Answers()
		previous = make(map[*zoneState]*zoneState, len(pb.zones))
		for _, z := range pb.zones {
			previous[z] = &zoneState{names: z.names, fps: z.fps}
			z.names, z.fps, z.dyn, z.cloned = map[string]*dnsserver.Dynamic{}, map[string]string{}, 0, true
		}
	} else {
		seen := make(map[string]bool, len(services))
		for _, s := range services {
			if !seen[s] {
				seen[s] = true
				answers = append(answers, st.AnswersOf(s)...)
			}
		}
	}

	changed := pb.pendingServed
	if changed == nil {
		changed = map[string]store.ServedSnapshot{}
	}
	for _, a := range answers {
		z := pb.zoneOf(a.Name)
		if z == nil {
			continue // config validation keeps every name inside a zone
		}
		fp := fingerprint(a)
		if prev := previous[z]; prev != nil {
			if old, ok := prev.fps[a.Name]; ok && old == fp {
				z.set(a.Name, fp, prev.names[a.Name])
				continue
			}
		} else if old, ok := z.fps[a.Name]; ok && old == fp {
			continue
		}
		z.set(a.Name, fp, dynamic(a, pb.answeredCounters(a.Name)))
		changed[a.Name] = servedSnapshot(a, now)
		pb.metrics.observeAnswer(a)
	}

	next := make(map[string]uint32, len(pb.zones))
	for origin, z := range pb.zones {
		next[origin] = z.serial
		if serial, ok := pb.committed[origin]; ok {
			next[origin] = serial
		} else if z.published && (z.static^z.dyn != z.lastFP || pb.above[origin] >= z.serial) {
			next[origin] = max(z.serial+1, dateSerial(now), pb.floor[origin]+1, pb.above[origin]+1)
		}
	}
	if err := pb.serials.reserve(next); err != nil {
		// Publishing a serial above the saved mark could repeat it after a
		// restart: DNS keeps the last snapshot until the mark is saved.
		for _, z := range pb.zones {
			z.cloned = false
		}
		if !pb.pending {
			pb.log.Error("DNS not updated: the zone serial cannot be saved; retrying", zap.Error(err))
		}
		pb.pending, pb.pendingServed = true, changed
		return nil
	}
	if pb.pending {
		pb.log.Info("DNS updated again: the zone serial was saved")
	}
	pb.pending, pb.pendingServed = false, nil

	snap := &dnsserver.Snapshot{Zones: make([]dnsserver.ZoneSnapshot, 0, len(pb.zoneOrder))}
	for _, origin := range pb.zoneOrder {
		z := pb.zones[origin]
		z.serial = next[origin]
		z.lastFP, z.published, z.cloned = z.static^z.dyn, true, false
		snap.Zones = append(snap.Zones, dnsserver.ZoneSnapshot{Data: z.data, Serial: z.serial, Names: z.names, Signer: z.signer})
	}
	pb.dns.Publish(snap)
	for name, s := range changed {
		if z := pb.zoneOf(name); z != nil {
			s.Serial = z.serial
			changed[name] = s
		}
	}
	return changed
}

// serialOf is the current SOA serial of the zone holding name.
func (pb *publisher) serialOf(name string) uint32 {
	if z := pb.zoneOf(name); z != nil {
		return z.serial
	}
	return 0
}

// zoneOf is the zone holding name: the longest origin that is a suffix.
func (pb *publisher) zoneOf(name string) *zoneState {
	for n := name; ; {
		if z := pb.zones[n]; z != nil {
			return z
		}
		i := strings.IndexByte(n, '.')
		if i < 0 || i == len(n)-1 {
			return pb.zones["."]
		}
		n = n[i+1:]
	}
}

// answeredCounters returns the answer counters of a cluster service's
// address name (its real services' answers_total), or nil for other names:
// only those are counted on the query path.
func (pb *publisher) answeredCounters(name string) func(ip string) *atomic.Uint64 {
	if !pb.plan.clusterNames[name] {
		return nil
	}
	return func(ip string) *atomic.Uint64 {
		k := name + " " + ip
		c := pb.answered[k]
		if c == nil {
			c = new(atomic.Uint64)
			pb.answered[k] = c
		}
		return c
	}
}

// announce logs a change once and hands every transition to the notifier,
// which decides from the service's route what goes out.
func (pb *publisher) announce(t pool.Transition) {
	pb.metrics.observeTransition(t)
	if isChange(t.Kind) {
		pb.log.Info("state change",
			zap.String("event", string(t.Kind)), zap.String("service", t.Service), zap.String("region", t.Region),
			zap.String("address", t.Address), zap.String("old", string(t.Old)), zap.String("new", string(t.New)),
			zap.String("reason", t.Message), zap.Strings("served", t.Served))
	}
	r, ok := pb.plan.routes[t.Service]
	if !ok || (r.Syslog == nil && len(r.Emails) == 0) {
		return
	}
	pb.notifier.Publish(notify.Event{
		Kind:      string(t.Kind),
		Service:   t.Service,
		Region:    t.Region,
		Address:   t.Address,
		OldStatus: string(t.Old),
		NewStatus: string(t.New),
		Vars: notify.Vars{
			Hostname:  pb.plan.cfg.Server.Hostname,
			Time:      t.Time,
			Region:    t.Region,
			Status:    string(t.New),
			Serial:    pb.serialOf(t.Service),
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

// fingerprint is a canonical text of everything an answer serves.
func fingerprint(a pool.Answer) string {
	var fp strings.Builder
	fp.WriteString(strconv.FormatUint(uint64(a.TTL), 10))
	for _, code := range slices.Sorted(maps.Keys(a.Regions)) {
		s := a.Regions[code]
		fp.WriteString("|" + code + ":" + strconv.Itoa(s.ServeCount))
		for _, r := range s.Records {
			fp.WriteString(";" + r.Type + " " + r.Data + " " + strconv.Itoa(r.Weight) + " " + strconv.Itoa(r.Port) + " " + strconv.Itoa(r.Priority))
		}
	}
	return fp.String()
}

// dynamic turns one engine answer into the DNS server's form. counter, when
// set, gives each address its answer counter.
func dynamic(a pool.Answer, counter func(ip string) *atomic.Uint64) *dnsserver.Dynamic {
	dyn := &dnsserver.Dynamic{TTL: a.TTL, Regions: make(map[string]*dnsserver.RegionAnswer, len(a.Regions))}
	for code, s := range a.Regions {
		ra := &dnsserver.RegionAnswer{ServeCount: s.ServeCount}
		weights := pickWeights(s.Records)
		for i, r := range s.Records {
			switch r.Type {
			case "A", "AAAA":
				addr, err := netip.ParseAddr(r.Data)
				if err != nil {
					continue
				}
				w := dnsserver.Weighted{Addr: addr, Weight: weights[i]}
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
	return dyn
}

// maxShareScale bounds the factor pickWeights scales weights by: the least
// common multiple of 1 to 16, so that up to 16 addresses share exactly.
const maxShareScale = 720720

// pickWeights returns the weight each record of a served set is picked with.
// The addresses of one family that a host-name entry resolved to share the
// entry's weight, so that the entry counts as one entry of its weight
// (docs/behaviour.md section 3): every weight is scaled by the least common
// multiple of the groups' sizes and a group's is divided by its size.
func pickWeights(recs []pool.Record) []uint32 {
	type group struct{ entry, typ string }
	size := map[group]int{}
	for _, r := range recs {
		if r.Entry != "" {
			size[group{r.Entry, r.Type}]++
		}
	}
	scale := 1
	for _, n := range size {
		if scale = scale / gcd(scale, n) * n; scale > maxShareScale {
			scale = maxShareScale
			break
		}
	}
	out := make([]uint32, len(recs))
	for i, r := range recs {
		w := max(r.Weight, 1) * scale
		if r.Entry != "" {
			w = max(w/size[group{r.Entry, r.Type}], 1)
		}
		out[i] = uint32(w)
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
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
