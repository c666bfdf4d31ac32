package pool

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// fuzzSpec builds a random gslb/rttm service and a random cluster service
// from r. Every pool address is distinct, so a served address can be traced
// back to its entry.
func fuzzSpec(r *rand.Rand) (Spec, []string) {
	codes := []string{GlobalRegion, "US East", "US West", "EU West"}
	modes := []ServeMode{ServeAlways, ServeObey, ServeRemove, ServeNo}
	fmodes := []FailoverMode{FailoverIP, FailoverCNAME, FailoverRegion, FailoverGlobal}
	var targets []string
	kind := KindGSLB
	if r.IntN(2) == 0 {
		kind = KindRTTM
	}
	svc := Service{FQDN: "f.example.com.", Kind: kind, Active: true, AutoRecover: r.IntN(2) == 0, RecoveryDelay: r.IntN(3)}
	n := 0
	for i, code := range codes[:1+r.IntN(len(codes))] {
		reg := Region{Code: code, ServeCount: r.IntN(3), MinHealthy: r.IntN(4), EP: r.IntN(3), APMC: r.IntN(3), EPMC: r.IntN(3),
			FailoverMode: fmodes[r.IntN(len(fmodes))], Autopopulate: i > 0 && r.IntN(4) == 0}
		switch reg.FailoverMode {
		case FailoverIP:
			if r.IntN(3) > 0 {
				reg.FailoverData = "198.51.100.1"
			}
		case FailoverCNAME:
			reg.FailoverData = "backup.example.net."
		case FailoverRegion:
			reg.FailoverData = codes[r.IntN(len(codes))]
		}
		for range r.IntN(5) {
			n++
			addr := fmt.Sprintf("192.0.2.%d", n)
			if r.IntN(4) == 0 {
				addr = fmt.Sprintf("2001:db8::%d", n)
			}
			en := Entry{Address: addr, Weight: 1 + r.IntN(15), ServeMode: modes[r.IntN(len(modes))],
				Target: fmt.Sprintf("t%d", r.IntN(6)), PerfTarget: fmt.Sprintf("p%d", r.IntN(6))}
			if r.IntN(8) == 0 {
				en.Target = "" // NONE
			}
			reg.Entries = append(reg.Entries, en)
		}
		svc.Regions = append(svc.Regions, reg)
	}
	cs := ClusterService{Name: "https", FQDN: "c.example.com.", Protocol: "tcp"}
	fb := false
	for i := range 1 + r.IntN(5) {
		rl := Real{Name: fmt.Sprintf("r%d", i), IP: fmt.Sprintf("203.0.113.%d", i+1), Port: 443, Weight: r.IntN(3),
			Enabled: r.IntN(3) > 0, Target: fmt.Sprintf("t%d", r.IntN(6))}
		if !fb && rl.Enabled && r.IntN(3) == 0 {
			rl.Fallback, fb = true, true
		}
		cs.Reals = append(cs.Reals, rl)
	}
	for i := range 6 {
		targets = append(targets, fmt.Sprintf("t%d", i), fmt.Sprintf("p%d", i))
	}
	return Spec{Sites: []string{"iad"}, Services: []Service{svc}, Clusters: []Cluster{{Name: "c", Services: []ClusterService{cs}}}}, targets
}

// checkInvariants verifies what must hold after every input.
func checkInvariants(t *testing.T, e *Engine) {
	t.Helper()
	answers := map[string]Answer{}
	for _, a := range e.Answers() {
		answers[a.Name] = a
		if _, ok := a.Regions[GlobalRegion]; !ok {
			t.Fatalf("%s: no global region", a.Name)
		}
		for code, sv := range a.Regions {
			for _, rec := range sv.Records {
				ip, err := netip.ParseAddr(rec.Data)
				switch {
				case rec.Type == "A" && (err != nil || !ip.Is4()),
					rec.Type == "AAAA" && (err != nil || ip.Is4()),
					rec.Type == "CNAME" && err == nil:
					t.Fatalf("%s %s: record %+v has the wrong type", a.Name, code, rec)
				}
			}
		}
	}
	for _, s := range e.services {
		a := answers[s.cfg.FQDN]
		for _, r := range s.regions {
			hasUp := false
			for _, en := range r.candidates() {
				if en.st.status != StatusDown {
					hasUp = true
				}
			}
			if hasUp && len(a.Regions[r.code].Records) == 0 {
				t.Fatalf("region %s has an up candidate but answers empty (status %s)", r.code, r.status)
			}
			if len(r.candidates()) > 0 && len(a.Regions[r.code].Records) == 0 {
				t.Fatalf("region %s went dark with candidates (status %s)", r.code, r.status)
			}
			for _, rec := range a.Regions[r.code].Records {
				for _, other := range s.regions {
					for _, en := range other.entries {
						if en.cfg.Address == rec.Data && en.cfg.ServeMode == ServeNo {
							t.Fatalf("region %s serves %s whose serve_mode is no", r.code, rec.Data)
						}
					}
				}
			}
		}
	}
	for _, cs := range e.clusters {
		served := map[string]bool{}
		for _, rec := range answers[cs.cfg.FQDN].Regions[GlobalRegion].Records {
			served[rec.Data] = true
		}
		for _, rec := range answers[cs.srvName()].Regions[GlobalRegion].Records {
			served[rec.Data] = true
		}
		anyServable := false
		for _, rl := range cs.reals {
			if rl.weight == 0 || !rl.enabled {
				if served[rl.cfg.IP] || served[cs.targetName(rl)] {
					t.Fatalf("real %s (enabled=%v weight=%d) is served", rl.cfg.Name, rl.enabled, rl.weight)
				}
			} else {
				anyServable = true
			}
		}
		if anyServable && len(served) == 0 {
			t.Fatalf("cluster service with servable reals answers empty")
		}
	}
}

// FuzzEngineInvariants drives random specs with random rounds and operator
// commands and checks the invariants after every step: a name with an up
// candidate never answers empty, a region with candidates never goes dark,
// serve_mode no, weight-0 and disabled servers are never served, records
// carry the type of their address family; state survives a restart.
func FuzzEngineInvariants(f *testing.F) {
	for _, seed := range []uint64{1, 2, 3, 42, 1234, 99999} {
		b := make([]byte, 8)
		binary.LittleEndian.PutUint64(b, seed)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var seed [8]byte
		copy(seed[:], data)
		r := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:]), 7))
		spec, targets := fuzzSpec(r)
		now := time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)
		e := New(spec, nil)
		checkInvariants(t, e)
		for range 200 {
			now = now.Add(time.Second)
			switch r.IntN(12) {
			case 0:
				_, _, _ = e.Recover("f.example.com.", "", now)
			case 1:
				_, _, _ = e.ClusterDisable("c", "https", fmt.Sprintf("r%d", r.IntN(5)), now)
			case 2:
				_, _, _ = e.ClusterEnable("c", "https", fmt.Sprintf("r%d", r.IntN(5)), now)
			case 3:
				_, _, _ = e.ClusterSetWeight("c", "https", fmt.Sprintf("r%d", r.IntN(5)), r.IntN(3), now)
			case 4:
				_, _, _ = e.ClusterEnableFallback("c", "https", fmt.Sprintf("r%d", r.IntN(5)), now)
			case 5:
				if r.IntN(4) == 0 {
					_, _, _ = e.Deactivate("f.example.com.", now)
				} else {
					_, _, _ = e.Activate("f.example.com.", now)
				}
			case 6:
				if r.IntN(4) == 0 {
					e = New(spec, e.State()) // restart
				}
			default:
				e.Observe(Observation{Target: targets[r.IntN(len(targets))], Up: r.IntN(3) > 0,
					RTT: time.Duration(1+r.IntN(100)) * time.Millisecond, Time: now})
			}
			checkInvariants(t, e)
		}
	})
}
