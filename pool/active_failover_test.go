package pool

import (
	"testing"
)

func afSpec(address, target string, mode FailoverMode, data string, autoRecover bool, rd int) Spec {
	return Spec{Sites: []string{"iad"}, Services: []Service{{
		FQDN: "www.example.com.", Kind: KindActiveFailover, TTL: 30, Active: true, AutoRecover: autoRecover,
		RecoveryDelay: rd, Address: address, Target: target, FailoverMode: mode, FailoverData: data,
	}}}
}

// docs/behaviour.md section 4: Active Failover.
func TestActiveFailover(t *testing.T) {
	const p, b = "192.0.2.1", "192.0.2.2"
	const tp = "t:primary"
	tests := []struct {
		name       string
		spec       Spec
		steps      []step
		wantStatus Status
		wantServed string
		wantType   string
	}{
		{"UnkBeforeFirstRoundServesPrimary", afSpec(p, tp, FailoverIP, b, true, 0), nil, StatusUnk, p, "A"},
		{"OkServesPrimary", afSpec(p, tp, FailoverIP, b, true, 0), seq(up(tp)), StatusOK, p, "A"},
		{"DownServesFailoverIP", afSpec(p, tp, FailoverIP, b, true, 0), seq(up(tp), down(tp)), StatusFailover, b, "A"},
		{"DownServesFailoverCNAME", afSpec(p, tp, FailoverCNAME, "backup.example.net.", true, 0), seq(down(tp)), StatusFailover, "backup.example.net.", "CNAME"},
		{"PrimaryFQDNServedAsCNAME", afSpec("origin.example.net.", tp, FailoverIP, b, true, 0), seq(up(tp)), StatusOK, "origin.example.net.", "CNAME"},
		{"PrimaryIPv6", afSpec("2001:db8::1", tp, FailoverIP, "2001:db8::2", true, 0), seq(up(tp)), StatusOK, "2001:db8::1", "AAAA"},
		{"RecoveryDelayHoldsFailover", afSpec(p, tp, FailoverIP, b, true, 1), seq(down(tp), up(tp)), StatusFailover, b, "A"},
		{"RecoveryDelayThenRecovers", afSpec(p, tp, FailoverIP, b, true, 1), seq(down(tp), up(tp), up(tp)), StatusOK, p, "A"},
		{"AutoRecoverFalseLatches", afSpec(p, tp, FailoverIP, b, false, 0), seq(down(tp), rounds(3, up(tp))), StatusFailover, b, "A"},
		{"AutoRecoverFalseRecoverCommand", afSpec(p, tp, FailoverIP, b, false, 0), seq(down(tp), up(tp), cmd(func(e *Engine, now timeT) (bool, []Transition, error) {
			return e.Recover("www.example.com.", "", now)
		})), StatusOK, p, "A"},
		{"FailOpenWithoutFailoverData", afSpec(p, tp, FailoverIP, "", true, 0), seq(down(tp)), StatusFailover, p, "A"},
		{"MonitorNoneAlwaysUp", afSpec(p, "", FailoverIP, b, true, 0), nil, StatusOK, p, "A"},
		{"DeactivatedServesPrimaryStatusUnk", afSpec(p, tp, FailoverIP, b, true, 0), seq(down(tp), cmd(func(e *Engine, now timeT) (bool, []Transition, error) {
			return e.Deactivate("www.example.com.", now)
		})), StatusUnk, p, "A"},
		{"InactiveNotAffectedByResults", afSpec(p, tp, FailoverIP, b, true, 0), seq(cmd(func(e *Engine, now timeT) (bool, []Transition, error) {
			return e.Deactivate("www.example.com.", now)
		}), down(tp), down(tp)), StatusUnk, p, "A"},
		{"ActivateAgainMonitors", afSpec(p, tp, FailoverIP, b, true, 0), seq(cmd(func(e *Engine, now timeT) (bool, []Transition, error) {
			return e.Deactivate("www.example.com.", now)
		}), cmd(func(e *Engine, now timeT) (bool, []Transition, error) {
			return e.Activate("www.example.com.", now)
		}), down(tp)), StatusFailover, b, "A"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New(tc.spec, nil)
			run(t, e, newClock(), tc.steps)
			v, _ := e.Service("www.example.com.")
			if v.Status != tc.wantStatus {
				t.Errorf("status = %s, want %s", v.Status, tc.wantStatus)
			}
			sv := servedSet(t, e, "www.example.com.", GlobalRegion)
			if !eq(rdata(sv.Records), []string{tc.wantServed}) || sv.Records[0].Type != tc.wantType {
				t.Errorf("served = %+v, want %s %s", sv.Records, tc.wantType, tc.wantServed)
			}
		})
	}
}

// docs/behaviour.md section 4: inactive service from the configuration: primary served,
// status unk, rounds ignored (no transitions).
func TestActiveFailover_InactiveFromConfig(t *testing.T) {
	spec := afSpec("192.0.2.1", "t:p", FailoverIP, "192.0.2.2", true, 0)
	spec.Services[0].Active = false
	e := New(spec, nil)
	if tr := run(t, e, newClock(), seq(down("t:p"))); len(tr) != 0 {
		t.Fatalf("inactive service produced %q", kinds(tr, false))
	}
	if got := served(t, e, "www.example.com.", GlobalRegion); !eq(got, []string{"192.0.2.1"}) {
		t.Fatalf("served = %v", got)
	}
}

// docs/behaviour.md section 4: events of an active failover service.
func TestActiveFailover_Events(t *testing.T) {
	e := New(afSpec("192.0.2.1", "t:p", FailoverIP, "192.0.2.2", true, 0), nil)
	tr := run(t, e, newClock(), seq(up("t:p"), down("t:p")))
	want := []string{"ip:global:192.0.2.1:unk>up", "svc:global::unk>ok", "ip:global:192.0.2.1:up>down", "svc:global::ok>failover"}
	if got := kinds(tr, false); !eq(got, want) {
		t.Fatalf("transitions = %q, want %q", got, want)
	}
	last := tr[len(tr)-1]
	if !eq(last.Served, []string{"192.0.2.2"}) || last.ServiceKind != KindActiveFailover {
		t.Fatalf("svc transition = %+v", last)
	}
}
