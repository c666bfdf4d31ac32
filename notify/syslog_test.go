package notify

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zaptest"
)

// readOctetCounted reads one RFC 6587 octet-counted frame.
func readOctetCounted(br *bufio.Reader) (string, error) {
	n, err := br.ReadString(' ')
	if err != nil {
		return "", err
	}
	size, err := strconv.Atoi(strings.TrimSuffix(n, " "))
	if err != nil {
		return "", fmt.Errorf("bad length %q", n)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(br, buf); err != nil {
		return "", err
	}
	return string(buf), nil
}

func TestTCPSyslogUsesOctetCounting(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	frames := make(chan string, 10)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			f, err := readOctetCounted(br)
			if err != nil {
				close(frames)
				return
			}
			frames <- f
		}
	}()
	d := NewDispatcher(Options{Hostname: "ns1.example.net"}, zaptest.NewLogger(t), prometheus.NewRegistry())
	startDispatcher(t, d)
	route := Route{Syslog: &SyslogRoute{Server: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, Transport: "tcp", Protocol: "rfc5424"}}
	v := fullVars()
	v.Message = "multi\nline"
	d.Publish(Event{Kind: KindIP, Vars: v}, route)
	d.Publish(Event{Kind: KindSvc, Vars: v}, route)
	ts := v.Time.UTC().Format("2006-01-02T15:04:05.000000Z")
	want := []string{
		// The probe's newline is escaped (Escape); octet counting frames the rest.
		"<27>1 " + ts + " ns1.example.net dynect - - - ns1.example.net probe 2026-11-23T06:00:00Z: iad down 0.012 multi\\nline 192.0.2.10",
		"<27>1 " + ts + " ns1.example.net dynect - - - ns1.example.net status 2026-11-23T06:00:00Z: US East down 2026112305 192.0.2.10,192.0.2.11",
	}
	for _, w := range want {
		select {
		case got := <-frames:
			if got != w {
				t.Errorf("got  %q\nwant %q", got, w)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no frame")
		}
	}
}

func TestRsyslogReceivesBothFramingsOverUDPAndTCP(t *testing.T) {
	rs := testutil.StartRsyslogd(t)
	d := NewDispatcher(Options{Hostname: "ns1.example.net"}, zaptest.NewLogger(t), prometheus.NewRegistry())
	startDispatcher(t, d)
	now := time.Now()
	tests := []struct {
		transport, protocol, facility string
		port                          int
		status                        string
		facCode, sev                  string
	}{
		{"udp", "rfc3164", "daemon", rs.UDP, "up", "3", "6"},
		{"udp", "rfc5424", "local7", rs.UDP, "down", "23", "3"},
		{"tcp", "rfc3164", "user", rs.TCP, "trouble", "1", "4"},
		{"tcp", "rfc5424", "local0", rs.TCP, "failover", "16", "3"},
		{"tcp", "rfc5424", "authpriv", rs.TCP, "unk", "10", "4"},
	}
	allVars := "%hos|%tim|%reg|%sta|%ser|%rda|%sit|%rti|%msg|%adr|%med|%rts|%zzz"
	for i, tc := range tests {
		v := fullVars()
		v.Time = now.Add(time.Duration(i) * time.Second)
		v.Message = "case " + strconv.Itoa(i)
		route := Route{Syslog: &SyslogRoute{Server: "127.0.0.1", Port: tc.port, Transport: tc.transport,
			Protocol: tc.protocol, Facility: tc.facility, Ident: "failoverd-t", Delivery: "all",
			RTTMFormat: allVars}}
		d.Publish(Event{Kind: KindPerf, Service: "api.example.com.", NewStatus: tc.status, Vars: v}, route)
		// The dispatcher keeps per-destination order; wait for each so
		// the file order matches the table.
		lines := rs.WaitLines(i + 1)
		got := lines[i]
		wantMsg := "ns1.example.net|" + v.Time.UTC().Format(time.RFC3339) + "|US East|" + tc.status +
			"|2026112305|192.0.2.10,192.0.2.11|iad|0.012 |case " + strconv.Itoa(i) + " |192.0.2.10|0.015|0.012,0.015,0.020|%zzz"
		wantVersion, wantTime := "0", v.Time.Local().Format("01-02T15:04:05")
		if tc.protocol == "rfc5424" {
			wantVersion, wantTime = "1", v.Time.UTC().Format("2006-01-02T15:04:05.000000Z")
		}
		if got.Version != wantVersion || got.Facility != tc.facCode || got.Severity != tc.sev ||
			got.Hostname != "ns1.example.net" || got.AppName != "failoverd-t" || got.Msg != wantMsg ||
			!strings.Contains(got.Time, wantTime) {
			t.Errorf("%s/%s: got %+v\nwant version %s facility %s severity %s time ~%s msg %q",
				tc.transport, tc.protocol, got, wantVersion, tc.facCode, tc.sev, wantTime, wantMsg)
		}
	}
}

func TestTCPSyslogDeliversAfterReceiverRestart(t *testing.T) {
	rs := testutil.StartRsyslogd(t)
	d := NewDispatcher(Options{Hostname: "ns1.example.net", Retry: Backoff{Initial: 50 * time.Millisecond, Max: 300 * time.Millisecond, MaxAttempts: 1000}},
		zaptest.NewLogger(t), prometheus.NewRegistry())
	startDispatcher(t, d)
	route := Route{Syslog: &SyslogRoute{Server: "127.0.0.1", Port: rs.TCP, Transport: "tcp", Delivery: "all", ProbeFormat: "%adr"}}
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			d.Publish(Event{Kind: KindRound, NewStatus: "up", Vars: Vars{Address: "m" + strconv.Itoa(i)}}, route)
		}
	}
	publish(0, 20)
	rs.WaitLines(20)

	rs.Stop()
	// The receiver is gone: every Publish still returns at once (this
	// loop would hang otherwise) and the messages wait in the queue.
	publish(20, 60)
	waitFor(t, func() bool { return value(d.failed.WithLabelValues("syslog")) > 0 })
	if got := len(rs.Lines()); got != 20 {
		t.Fatalf("%d messages received while rsyslogd was down: %+v", got, rs.Lines())
	}
	rs.Start()

	lines := rs.WaitLines(60)
	for i, l := range lines[:60] {
		if want := "m" + strconv.Itoa(i); l.Msg != want {
			t.Errorf("message %d = %q, want %q", i, l.Msg, want)
		}
	}
	if n := value(d.dropped.WithLabelValues("syslog")); n != 0 {
		t.Errorf("dropped = %v", n)
	}
}

func TestUDPSyslogRecoversAfterReceiverRestart(t *testing.T) {
	rs := testutil.StartRsyslogd(t)
	d := NewDispatcher(Options{Hostname: "ns1.example.net", Retry: Backoff{Initial: 50 * time.Millisecond, Max: 300 * time.Millisecond, MaxAttempts: 1000}},
		zaptest.NewLogger(t), prometheus.NewRegistry())
	startDispatcher(t, d)
	route := Route{Syslog: &SyslogRoute{Server: "127.0.0.1", Port: rs.UDP, Delivery: "all", ProbeFormat: "%adr"}}
	publish := func(name string) {
		d.Publish(Event{Kind: KindRound, NewStatus: "up", Vars: Vars{Address: name}}, route)
	}
	publish("before")
	rs.WaitLines(1)
	rs.Stop()
	// UDP cannot tell what the dead receiver missed; the ICMP errors make
	// the sink reconnect and retry.
	for i := range 5 {
		publish("down" + strconv.Itoa(i))
	}
	waitFor(t, func() bool { return value(d.failed.WithLabelValues("syslog")) > 0 })
	rs.Start()
	for i := range 5 {
		publish("after" + strconv.Itoa(i))
	}
	var after []string
	for range 200 {
		after = after[:0]
		for _, l := range rs.Lines() {
			if strings.HasPrefix(l.Msg, "after") {
				after = append(after, l.Msg)
			}
		}
		if len(after) == 5 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if want := []string{"after0", "after1", "after2", "after3", "after4"}; strings.Join(after, ",") != strings.Join(want, ",") {
		t.Errorf("received after restart %v, want %v", after, want)
	}
}
