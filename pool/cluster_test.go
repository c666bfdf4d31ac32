package pool

import (
	"errors"
	"testing"
)

const web = "web.example.com."

func clusterSpec(reals ...Real) Spec {
	return Spec{Sites: []string{"iad"}, Clusters: []Cluster{{Name: "web-cluster", Services: []ClusterService{{
		Name: "https", FQDN: web, Protocol: "tcp", TTL: 5, Reals: reals,
	}}}}}
}

func rs(name, ip string, weight int, enabled, fallback bool) Real {
	return Real{Name: name, IP: ip, Port: 443, Weight: weight, Enabled: enabled, Fallback: fallback, Target: "c:" + name}
}

func clusterCmd(f func(e *Engine, now timeT) (bool, []Transition, error)) step { return cmd(f) }

// docs/behaviour.md section 6: which real services are served.
func TestCluster_ServedSet(t *testing.T) {
	base := []Real{
		rs("web1", "192.0.2.51", 10, true, false),
		rs("web2", "192.0.2.52", 5, true, false),
		rs("web3", "192.0.2.53", 0, true, false),
		rs("web4", "192.0.2.54", 7, false, false),
		rs("sorry", "192.0.2.59", 1, true, true),
	}
	noFallback := base[:4]
	disabledFallback := append(append([]Real{}, base[:4]...), rs("sorry", "192.0.2.59", 1, false, true))
	tests := []struct {
		name     string
		reals    []Real
		steps    []step
		want     string
		wantMode FailoverMode
	}{
		{"EnabledWeightedUpServed", base, nil, "192.0.2.51,192.0.2.52", ClusterModeNormal},
		{"DownNotServed", base, seq(down("c:web1")), "192.0.2.52", ClusterModeNormal},
		{"FallbackWhenNoOtherUp", base, seq(down("c:web1"), down("c:web2")), "192.0.2.59", ClusterModeFallback},
		{"FallbackServedEvenIfDown", base, seq(down("c:web1"), down("c:web2"), down("c:sorry")), "192.0.2.59", ClusterModeFallback},
		{"FallbackLeavesWhenOneRecovers", base, seq(down("c:web1"), down("c:web2"), up("c:web2")), "192.0.2.52", ClusterModeNormal},
		{"WeightZeroUpNotServedFallbackInstead", base, seq(down("c:web1"), down("c:web2"), up("c:web3")), "192.0.2.59", ClusterModeFallback},
		{"FailOpenWithoutFallback", noFallback, seq(down("c:web1"), down("c:web2")), "192.0.2.51,192.0.2.52", ClusterModeFailOpen},
		{"FailOpenWhenFallbackDisabled", disabledFallback, seq(down("c:web1"), down("c:web2")), "192.0.2.51,192.0.2.52", ClusterModeFailOpen},
		{"DisabledNeverServed", base, seq(up("c:web4")), "192.0.2.51,192.0.2.52", ClusterModeNormal},
		{"DisableCommand", base, seq(clusterCmd(func(e *Engine, now timeT) (bool, []Transition, error) {
			return e.ClusterDisable("web-cluster", "https", "web1", now)
		})), "192.0.2.52", ClusterModeNormal},
		{"EnableCommand", base, seq(clusterCmd(func(e *Engine, now timeT) (bool, []Transition, error) {
			return e.ClusterEnable("web-cluster", "https", "web4", now)
		})), "192.0.2.51,192.0.2.52,192.0.2.54", ClusterModeNormal},
		{"SetWeightZeroCommand", base, seq(clusterCmd(func(e *Engine, now timeT) (bool, []Transition, error) {
			return e.ClusterSetWeight("web-cluster", "https", "web2", 0, now)
		})), "192.0.2.51", ClusterModeNormal},
		{"DisableFallbackCommandFailsOpen", base, seq(down("c:web1"), down("c:web2"), down("c:sorry"), clusterCmd(func(e *Engine, now timeT) (bool, []Transition, error) {
			return e.ClusterDisableFallback("web-cluster", "https", "sorry", now)
		})), "192.0.2.51,192.0.2.52,192.0.2.59", ClusterModeFailOpen},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(clusterSpec(tc.reals...), nil)
			run(t, e, newClock(), tc.steps)
			if got := served(t, e, web, GlobalRegion); !eq(got, list(tc.want)) {
				t.Errorf("served = %v, want %v", got, tc.want)
			}
			if got := e.Clusters()[0].Services[0].Mode; got != tc.wantMode {
				t.Errorf("mode = %s, want %s", got, tc.wantMode)
			}
		})
	}
}

// docs/behaviour.md section 6: SRV at _<service>._<protocol>.<fqdn> with priority 10, the
// weight and port, and target <real>.<fqdn> answering with its address.
func TestCluster_SRVAndTargets(t *testing.T) {
	e := New(clusterSpec(rs("web1", "192.0.2.51", 10, true, false), rs("web6", "2001:db8::56", 3, true, false)), nil)
	srv := servedSet(t, e, "_https._tcp."+web, GlobalRegion)
	if len(srv.Records) != 2 {
		t.Fatalf("SRV records = %+v", srv.Records)
	}
	want := map[string]Record{
		"web1." + web: {Type: "SRV", Data: "web1." + web, Weight: 10, Port: 443, Priority: 10},
		"web6." + web: {Type: "SRV", Data: "web6." + web, Weight: 3, Port: 443, Priority: 10},
	}
	for _, r := range srv.Records {
		if want[r.Data] != r {
			t.Errorf("SRV record %+v, want %+v", r, want[r.Data])
		}
	}
	if got := servedSet(t, e, "web1."+web, GlobalRegion).Records; len(got) != 1 || got[0].Type != "A" || got[0].Data != "192.0.2.51" {
		t.Errorf("web1 target = %+v", got)
	}
	if got := servedSet(t, e, "web6."+web, GlobalRegion).Records; len(got) != 1 || got[0].Type != "AAAA" {
		t.Errorf("web6 target = %+v", got)
	}
	for _, r := range servedSet(t, e, web, GlobalRegion).Records {
		if (r.Data == "192.0.2.51" && (r.Type != "A" || r.Weight != 10)) || (r.Data == "2001:db8::56" && (r.Type != "AAAA" || r.Weight != 3)) {
			t.Errorf("A/AAAA record %+v", r)
		}
	}
}

// docs/behaviour.md section 6: operations report whether they changed anything, errors for
// unknown names and failed preconditions, persistence across restarts.
func TestCluster_Operations(t *testing.T) {
	spec := clusterSpec(rs("web1", "192.0.2.51", 10, true, false), rs("web2", "192.0.2.52", 5, false, false), rs("sorry", "192.0.2.59", 1, true, true))
	c := newClock()
	e := New(spec, nil)
	type op func() (bool, []Transition, error)
	n := func() timeT { return c.next() }
	tests := []struct {
		name        string
		op          op
		wantChanged bool
		wantErr     error
	}{
		{"EnableEnabledNoChange", func() (bool, []Transition, error) { return e.ClusterEnable("web-cluster", "https", "web1", n()) }, false, nil},
		{"DisableDisabledNoChange", func() (bool, []Transition, error) { return e.ClusterDisable("web-cluster", "https", "web2", n()) }, false, nil},
		{"UnknownCluster", func() (bool, []Transition, error) { return e.ClusterEnable("nope", "https", "web1", n()) }, false, ErrNotFound},
		{"UnknownService", func() (bool, []Transition, error) { return e.ClusterEnable("web-cluster", "ftp", "web1", n()) }, false, ErrNotFound},
		{"UnknownServer", func() (bool, []Transition, error) { return e.ClusterEnable("web-cluster", "https", "web9", n()) }, false, ErrNotFound},
		{"SecondFallbackPrecondition", func() (bool, []Transition, error) {
			return e.ClusterEnableFallback("web-cluster", "https", "web1", n())
		}, false, ErrPrecondition},
		{"FallbackAlreadySetNoChange", func() (bool, []Transition, error) {
			return e.ClusterEnableFallback("web-cluster", "https", "sorry", n())
		}, false, nil},
		{"DisableFallback", func() (bool, []Transition, error) {
			return e.ClusterDisableFallback("web-cluster", "https", "sorry", n())
		}, true, nil},
		{"DisabledServerAsFallbackPrecondition", func() (bool, []Transition, error) {
			return e.ClusterEnableFallback("web-cluster", "https", "web2", n())
		}, false, ErrPrecondition},
		{"EnableFallbackOnEnabled", func() (bool, []Transition, error) {
			return e.ClusterEnableFallback("web-cluster", "https", "web1", n())
		}, true, nil},
		{"SetWeight", func() (bool, []Transition, error) { return e.ClusterSetWeight("web-cluster", "https", "sorry", 4, n()) }, true, nil},
		{"SetSameWeightNoChange", func() (bool, []Transition, error) {
			return e.ClusterSetWeight("web-cluster", "https", "sorry", 4, n())
		}, false, nil},
		{"NegativeWeightPrecondition", func() (bool, []Transition, error) {
			return e.ClusterSetWeight("web-cluster", "https", "sorry", -1, n())
		}, false, ErrPrecondition},
		{"Enable", func() (bool, []Transition, error) { return e.ClusterEnable("web-cluster", "https", "web2", n()) }, true, nil},
	}
	for _, tc := range tests { // sequential: each case builds on the previous state
		changed, _, err := tc.op()
		if changed != tc.wantChanged || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
			t.Fatalf("%s: changed=%v err=%v, want %v %v", tc.name, changed, err, tc.wantChanged, tc.wantErr)
		}
	}
	e2 := New(spec, e.State())
	got := e2.Clusters()[0].Services[0].Reals
	want := []struct {
		enabled, fallback bool
		weight            int
	}{{true, true, 10}, {true, false, 5}, {true, false, 4}}
	for i, w := range want {
		if got[i].Enabled != w.enabled || got[i].Fallback != w.fallback || got[i].Weight != w.weight {
			t.Errorf("after restart %s = %+v, want %+v", got[i].Name, got[i], w)
		}
	}
}

// docs/behaviour.md section 6: real statistics and status transitions.
func TestCluster_Statistics(t *testing.T) {
	e := New(clusterSpec(rs("web1", "192.0.2.51", 10, true, false), rs("web2", "192.0.2.52", 5, true, false)), nil)
	tr := run(t, e, newClock(), seq(up("c:web1"), down("c:web1"), up("c:web1")))
	if got := kinds(tr, false); !eq(got, []string{"ip:global:192.0.2.51:unk>up", "ip:global:192.0.2.51:up>down", "ip:global:192.0.2.51:down>up"}) {
		t.Fatalf("transitions = %q", got)
	}
	r := e.Clusters()[0].Services[0].Reals[0]
	if r.ProbesTotal != 3 || r.ProbeFailuresTotal != 1 || !r.HasRTT || r.LastUpdate.IsZero() || !r.Active || r.Status != StatusUp {
		t.Fatalf("statistics = %+v", r)
	}
}
