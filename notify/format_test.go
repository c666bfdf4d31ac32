package notify

import (
	"testing"
	"time"
)

var testTime = time.Date(2026, 11, 23, 6, 0, 0, 0, time.UTC)

func fullVars() Vars {
	return Vars{
		Hostname:  "ns1.example.net",
		Time:      testTime,
		Region:    "US East",
		Status:    "down",
		Serial:    2026112305,
		Rdata:     []string{"192.0.2.10", "192.0.2.11"},
		Site:      "iad",
		RTT:       12 * time.Millisecond,
		HasRTT:    true,
		Message:   "connection refused",
		Address:   "192.0.2.10",
		Median:    15 * time.Millisecond,
		HasMedian: true,
		RTTs:      []time.Duration{12 * time.Millisecond, 15 * time.Millisecond, 20 * time.Millisecond},
	}
}

func TestFormatRendersEveryVariableAsDocumented(t *testing.T) {
	v := fullVars()
	tests := []struct {
		name, format, want string
		vars               Vars
	}{
		{"hos is server.hostname", "%hos", "ns1.example.net", v},
		{"tim is RFC 3339 in UTC", "%tim", "2026-11-23T06:00:00Z", v},
		{"tim converts to UTC", "%tim", "2026-11-23T06:00:00Z", func() Vars {
			w := v
			w.Time = testTime.In(time.FixedZone("EST", -5*3600))
			return w
		}()},
		{"reg is the region code", "%reg", "US East", v},
		{"sta is the status", "%sta", "down", v},
		{"ser is the decimal serial", "%ser", "2026112305", v},
		{"rda is comma-separated rdata", "%rda", "192.0.2.10,192.0.2.11", v},
		{"rda of a CNAME is the name", "%rda", "backup.example.com.", Vars{Rdata: []string{"backup.example.com."}}},
		{"rda empty without records", "[%rda]", "[]", Vars{}},
		{"sit is the site code", "%sit", "iad", v},
		{"rti has 3 decimals and a trailing space", "%rti", "0.012 ", v},
		{"rti rounds to milliseconds", "%rti", "1.235 ", Vars{RTT: 1234567 * time.Microsecond, HasRTT: true}},
		{"rti empty when none", "[%rti]", "[]", Vars{}},
		{"rti zero is rendered when set", "%rti", "0.000 ", Vars{HasRTT: true}},
		{"msg has a trailing space", "%msg", "connection refused ", v},
		{"msg empty when none", "[%msg]", "[]", Vars{}},
		{"adr is the probed address", "%adr", "192.0.2.10", v},
		{"med has 3 decimals", "%med", "0.015", v},
		{"med empty when none", "[%med]", "[]", Vars{}},
		{"rts is comma-separated seconds", "%rts", "0.012,0.015,0.020", v},
		{"rts empty when none", "[%rts]", "[]", Vars{}},
		{"unknown sequence copied", "%xyz %hos %HOS", "%xyz ns1.example.net %HOS", v},
		{"percent at the end copied", "100% %ho", "100% %ho", v},
		{"double percent copied", "%%hos", "%ns1.example.net", v},
		{"adjacent variables", "%sta%adr", "down192.0.2.10", v},
		{"default probe format", DefaultProbeFormat,
			"ns1.example.net probe 2026-11-23T06:00:00Z: iad down 0.012 connection refused 192.0.2.10", v},
		{"default probe format without rtt and message", DefaultProbeFormat,
			"ns1.example.net probe 2026-11-23T06:00:00Z: iad up 192.0.2.10",
			Vars{Hostname: "ns1.example.net", Time: testTime, Site: "iad", Status: "up", Address: "192.0.2.10"}},
		{"default status format", DefaultStatusFormat,
			"ns1.example.net status 2026-11-23T06:00:00Z: US East down 2026112305 192.0.2.10,192.0.2.11", v},
		{"default rttm format", DefaultRTTMFormat,
			"ns1.example.net rttm 2026-11-23T06:00:00Z: US East down 0.015 0.012,0.015,0.020", v},
		{"utf-8 copied", "é %reg ü", "é US East ü", v},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Format(tc.format, tc.vars); got != tc.want {
				t.Errorf("Format(%q) = %q, want %q", tc.format, got, tc.want)
			}
		})
	}
}

func TestDefaultFormatsAreTheDocumentedOnes(t *testing.T) {
	if r := (SyslogRoute{}).WithDefaults(); r.ProbeFormat != "%hos probe %tim: %sit %sta %rti%msg%adr" ||
		r.StatusFormat != "%hos status %tim: %reg %sta %ser %rda" ||
		r.RTTMFormat != "%hos rttm %tim: %reg %sta %med %rts" ||
		r.Port != 514 || r.Transport != "udp" || r.Protocol != "rfc3164" ||
		r.Ident != "dynect" || r.Facility != "daemon" || r.Delivery != "change" {
		t.Errorf("defaults = %+v", r)
	}
}

func TestSeverityPerStatus(t *testing.T) {
	tests := []struct {
		status string
		want   int
	}{
		{"up", 6}, {"ok", 6}, {"OK", 6},
		{"trouble", 4}, {"unk", 4},
		{"down", 3}, {"failover", 3}, {"CRITICAL", 3},
		{"MANUAL", 5}, {"", 5},
	}
	for _, tc := range tests {
		if got := Severity(tc.status); got != tc.want {
			t.Errorf("Severity(%q) = %d, want %d", tc.status, got, tc.want)
		}
	}
}

func TestFacilityCodesAreRFC5424(t *testing.T) {
	want := map[string]int{
		"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6, "news": 7,
		"uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "ntp": 12, "security": 13, "console": 14,
		"local0": 16, "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21,
		"local6": 22, "local7": 23,
	}
	for name, code := range want {
		if got, ok := Facility(name); !ok || got != code {
			t.Errorf("Facility(%q) = %d, %v; want %d", name, got, ok, code)
		}
	}
	if _, ok := Facility("bogus"); ok {
		t.Error("Facility(bogus) known")
	}
}

func TestFrameFollowsRFC3164AndRFC5424(t *testing.T) {
	tm := time.Date(2026, 3, 5, 7, 8, 9, 123456789, time.Local)
	tests := []struct {
		name string
		o    FrameOptions
		want string
	}{
		{"rfc3164 daemon info, day space-padded",
			FrameOptions{Protocol: ProtocolRFC3164, Facility: 3, Severity: 6, Hostname: "ns1.example.net", Ident: "dynect", Time: tm},
			"<30>Mar  5 07:08:09 ns1.example.net dynect: hello"},
		{"rfc3164 is the default",
			FrameOptions{Facility: 23, Severity: 3, Hostname: "h", Ident: "x", Time: tm},
			"<187>Mar  5 07:08:09 h x: hello"},
		{"rfc5424 local0 warning",
			FrameOptions{Protocol: ProtocolRFC5424, Facility: 16, Severity: 4, Hostname: "ns1.example.net", Ident: "dynect", Time: tm},
			"<132>1 " + tm.UTC().Format("2006-01-02T15:04:05.000000Z") + " ns1.example.net dynect - - - hello"},
		{"rfc5424 kern err, empty fields are nil values",
			FrameOptions{Protocol: ProtocolRFC5424, Facility: 0, Severity: 3, Time: tm},
			"<3>1 " + tm.UTC().Format("2006-01-02T15:04:05.000000Z") + " - - - - - hello"},
		{"spaces in ident do not break the header",
			FrameOptions{Protocol: ProtocolRFC5424, Facility: 3, Severity: 6, Hostname: "h", Ident: "my app", Time: tm},
			"<30>1 " + tm.UTC().Format("2006-01-02T15:04:05.000000Z") + " h my_app - - - hello"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(Frame(tc.o, "hello")); got != tc.want {
				t.Errorf("Frame = %q, want %q", got, tc.want)
			}
		})
	}
	// Two-digit days are not padded.
	tm2 := time.Date(2026, 11, 23, 6, 0, 0, 0, time.Local)
	if got := string(Frame(FrameOptions{Facility: 3, Severity: 6, Hostname: "h", Ident: "i", Time: tm2}, "m")); got != "<30>Nov 23 06:00:00 h i: m" {
		t.Errorf("Frame = %q", got)
	}
}
