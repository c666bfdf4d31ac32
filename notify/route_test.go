package notify

import (
	"strings"
	"testing"
)

func TestSyslogMessagePerKindAndDelivery(t *testing.T) {
	v := fullVars()
	const (
		probe  = "ns1.example.net probe 2026-11-23T06:00:00Z: iad down 0.012 connection refused 192.0.2.10"
		status = "ns1.example.net status 2026-11-23T06:00:00Z: US East down 2026112305 192.0.2.10,192.0.2.11"
		rttm   = "ns1.example.net rttm 2026-11-23T06:00:00Z: US East down 0.015 0.012,0.015,0.020"
	)
	tests := []struct {
		name, kind, delivery string
		want                 string // "" = no message
	}{
		{"ip change gives a probe message (change)", KindIP, "change", probe},
		{"ip change gives a probe message (all)", KindIP, "all", probe},
		{"ip change with default delivery", KindIP, "", probe},
		{"nosrv change gives a probe message (change)", KindNoSrv, "change", probe},
		{"nosrv change gives a probe message (all)", KindNoSrv, "all", probe},
		{"round without change is silent with change", KindRound, "change", ""},
		{"round without change logs with all", KindRound, "all", probe},
		{"svc gives a status message (change)", KindSvc, "change", status},
		{"svc gives a status message (all)", KindSvc, "all", status},
		{"ep change gives an rttm message (change)", KindEP, "change", rttm},
		{"ep change gives an rttm message (all)", KindEP, "all", rttm},
		{"perf round is silent with change", KindPerf, "change", ""},
		{"perf round logs with all", KindPerf, "all", rttm},
		{"unknown kind is silent", "bogus", "all", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := Event{Kind: tc.kind, Service: "app.example.com.", Vars: v}
			got, ok := SyslogText(ev, SyslogRoute{Server: "127.0.0.1", Delivery: tc.delivery})
			if ok != (tc.want != "") || got != tc.want {
				t.Errorf("SyslogText = %q, %v; want %q", got, ok, tc.want)
			}
		})
	}
}

func TestStatusMessagesLeaveProbeVariablesEmpty(t *testing.T) {
	ev := Event{Kind: KindSvc, Vars: fullVars()}
	got, _ := SyslogText(ev, SyslogRoute{StatusFormat: "[%rti][%msg][%adr][%med][%rts]"})
	if got != "[][][][][]" {
		t.Errorf("status message = %q", got)
	}
	ev.Kind = KindIP
	got, _ = SyslogText(ev, SyslogRoute{ProbeFormat: "[%med][%rts]"})
	if got != "[][]" {
		t.Errorf("probe message = %q", got)
	}
}

func TestSyslogTakesStatusRegionAddressFromEvent(t *testing.T) {
	ev := Event{Kind: KindIP, Region: "EU West", Address: "192.0.2.7", NewStatus: "up", Vars: Vars{Hostname: "h", Time: testTime, Site: "ams"}}
	got, _ := SyslogText(ev, SyslogRoute{ProbeFormat: "%reg %sta %adr"})
	if got != "EU West up 192.0.2.7" {
		t.Errorf("got %q", got)
	}
}

func TestMailFollowsNotifyEvents(t *testing.T) {
	emails := []string{"ops@example.net"}
	tests := []struct {
		name   string
		kind   string
		events []string
		emails []string
		want   bool
	}{
		{"svc listed", KindSvc, []string{"svc"}, emails, true},
		{"ip not listed", KindIP, []string{"svc"}, emails, false},
		{"ip listed", KindIP, []string{"ip", "svc"}, emails, true},
		{"nosrv listed", KindNoSrv, []string{"ip", "svc", "nosrv"}, emails, true},
		{"nosrv not listed", KindNoSrv, []string{"ip", "svc"}, emails, false},
		{"sf_pool route lists svc: every status change", KindSvc, []string{"svc"}, emails, true},
		{"rounds are never mailed", KindRound, []string{"ip", "svc", "nosrv"}, emails, false},
		{"ep is never mailed", KindEP, []string{"ip", "svc", "nosrv"}, emails, false},
		{"perf is never mailed", KindPerf, []string{"ip", "svc", "nosrv"}, emails, false},
		{"no contact, no mail", KindSvc, []string{"svc"}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Route{Emails: tc.emails, NotifyEvents: tc.events}
			if got := WantsMail(Event{Kind: tc.kind}, r); got != tc.want {
				t.Errorf("WantsMail = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMailSubjectAndBody(t *testing.T) {
	v := fullVars()
	ip := composeMail(withEventFields(Event{Kind: KindIP, Service: "app.example.com.", Region: "US East",
		Address: "192.0.2.10", OldStatus: "up", NewStatus: "down", Vars: v}), []string{"a@example.net"})
	if ip.Subject != "failoverd: app.example.com. address 192.0.2.10 (US East) is down" {
		t.Errorf("subject = %q", ip.Subject)
	}
	for _, want := range []string{"Old status:     up", "New status:     down", "Time:           2026-11-23T06:00:00Z",
		"Served records: 192.0.2.10,192.0.2.11", "Probe message:  connection refused", "Service:        app.example.com."} {
		if !strings.Contains(ip.Body, want) {
			t.Errorf("body lacks %q:\n%s", want, ip.Body)
		}
	}
	svc := composeMail(withEventFields(Event{Kind: KindSvc, Service: "app.example.com.", Region: "EU West",
		OldStatus: "ok", NewStatus: "failover", Vars: v}), nil)
	if svc.Subject != "failoverd: app.example.com. region EU West is failover" {
		t.Errorf("subject = %q", svc.Subject)
	}
}
