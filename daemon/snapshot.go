package daemon

import (
	"hash/fnv"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/failoverd/failoverd/dnsserver"
	"github.com/failoverd/failoverd/pool"
	"github.com/failoverd/failoverd/store"
)

// zoneState is the decision loop's view of one served zone: its static data,
// its SOA serial, the served sets of its names as last published, and
// fingerprints of both, so the serial moves exactly when something servable
// changes.
type zoneState struct {
	data   *dnsserver.ZoneData
	serial uint32
	// static fingerprints the static records; dyn is the XOR over names of
	// a hash of each name's served sets, so one name updates it in O(1).
	static, dyn uint64
	// lastFP is static^dyn when the serial was last settled; published says
	// whether there has been such a publish yet.
	lastFP    uint64
	published bool
	// names is the published map (shared with the DNS server: replaced,
	// never modified once published); fps is the loop's own record of each
	// name's fingerprint.
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

// initZones (re)loads the zones of the current plan. A zone that stays keeps
// its serial and served sets; a zone never seen starts at its stored serial
// plus one, or at YYYYMMDD00 of today.
func (d *Daemon) initZones(now time.Time) error {
	stored, err := d.store.Serials()
	if err != nil {
		return err
	}
	zones := make(map[string]*zoneState, len(d.plan.zones))
	for _, zd := range d.plan.zones {
		origin := zd.Origin()
		z := &zoneState{data: zd, static: staticFingerprint(zd), names: map[string]*dnsserver.Dynamic{}, fps: map[string]string{}}
		if old, ok := d.zones[origin]; ok {
			z.serial, z.dyn, z.lastFP, z.published, z.names, z.fps = old.serial, old.dyn, old.lastFP, old.published, old.names, old.fps
		} else {
			z.serial = dateSerial(now)
			if s, ok := stored[origin]; ok && s+1 > z.serial {
				z.serial = s + 1
			}
		}
		zones[origin] = z
	}
	d.zones = zones
	d.zoneOrder = make([]string, 0, len(zones))
	for origin := range zones {
		d.zoneOrder = append(d.zoneOrder, origin)
	}
	sort.Strings(d.zoneOrder)
	return nil
}

func staticFingerprint(zd *dnsserver.ZoneData) uint64 {
	h := fnv.New64a()
	for _, rr := range zd.Records() {
		h.Write([]byte(rr.String()))
		h.Write([]byte{'\n'})
	}
	return h.Sum64()
}

// dateSerial is YYYYMMDD00 of now (UTC).
func dateSerial(now time.Time) uint32 {
	y, m, day := now.UTC().Date()
	return uint32(y*1000000 + int(m)*10000 + day*100)
}

// publish brings the DNS snapshot up to date with the engine and swaps it
// in. services names the services whose answers may have changed (nil: every
// name, as after a reload or an operator command). A zone whose content
// changed gets the next serial. It returns, for every name whose served set
// changed, what it serves now (for the rrset report).
func (d *Daemon) publish(now time.Time, services []string) map[string]store.ServedSnapshot {
	var answers []pool.Answer
	// previous holds, on a full rebuild, each zone's published names so
	// unchanged ones keep their Dynamic (and names that are gone vanish).
	var previous map[*zoneState]*zoneState
	if services == nil {
		answers = d.engine.Answers()
		previous = make(map[*zoneState]*zoneState, len(d.zones))
		for _, z := range d.zones {
			previous[z] = &zoneState{names: z.names, fps: z.fps}
			z.names, z.fps, z.dyn, z.cloned = map[string]*dnsserver.Dynamic{}, map[string]string{}, 0, true
		}
	} else {
		seen := make(map[string]bool, len(services))
		for _, s := range services {
			if !seen[s] {
				seen[s] = true
				answers = append(answers, d.engine.AnswersOf(s)...)
			}
		}
	}

	changed := map[string]store.ServedSnapshot{}
	for _, a := range answers {
		z := d.zoneOf(a.Name)
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
		z.set(a.Name, fp, dynamic(a, d.answeredCounters(a.Name)))
		changed[a.Name] = servedSnapshot(a, now)
		d.metrics.observeAnswer(a)
	}

	snap := &dnsserver.Snapshot{Zones: make([]dnsserver.ZoneSnapshot, 0, len(d.zoneOrder))}
	for _, origin := range d.zoneOrder {
		z := d.zones[origin]
		fp := z.static ^ z.dyn
		if z.published && fp != z.lastFP {
			z.serial = max(z.serial+1, dateSerial(now))
		}
		z.lastFP, z.published, z.cloned = fp, true, false
		snap.Zones = append(snap.Zones, dnsserver.ZoneSnapshot{Data: z.data, Serial: z.serial, Names: z.names})
	}
	d.dns.Publish(snap)
	return changed
}

// serialOf is the current SOA serial of the zone holding name.
func (d *Daemon) serialOf(name string) uint32 {
	if z := d.zoneOf(name); z != nil {
		return z.serial
	}
	return 0
}

// zoneOf is the zone holding name: the longest origin that is a suffix.
func (d *Daemon) zoneOf(name string) *zoneState {
	for n := name; ; {
		if z := d.zones[n]; z != nil {
			return z
		}
		i := strings.IndexByte(n, '.')
		if i < 0 || i == len(n)-1 {
			return d.zones["."]
		}
		n = n[i+1:]
	}
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
		for _, r := range s.Records {
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
	return dyn
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
