package daemon

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/failoverd/failoverd/pool"
)

// A host-name pool entry, probed at what it resolves to (localhost. is in
// /etc/hosts), is answered as a CNAME when it is the region's only entry,
// and with its resolved addresses beside other entries (docs/behaviour.md
// section 3).
func TestHostNamePool_CNAMEAloneAddressesBesideOthers(t *testing.T) {
	addrs, err := net.LookupHost("localhost")
	if err != nil || len(addrs) == 0 {
		t.Skipf("localhost does not resolve on this machine: %v", err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	monitor := fmt.Sprintf("  monitor {\n    protocol = \"TCP\"\n    port = %d\n    interval = \"10s\"\n    timeout = \"1s\"\n  }\n", port)
	td := startTestDaemon(t, `zone "example.test" {}
gslb "solo.example.test." {
`+monitor+`  region "global" {
    pool "localhost." {}
  }
}
gslb "mixed.example.test." {
`+monitor+`  region "global" {
    serve_count = 2
    pool "localhost." {}
    pool "192.0.2.10" { serve_mode = "always" }
  }
}
`)
	want := map[string]string{
		"solo.example.test.":  "solo.example.test.\t0\tIN\tCNAME\tlocalhost.",
		"mixed.example.test.": "mixed.example.test.\t0\tIN\tA\t127.0.0.1\nmixed.example.test.\t0\tIN\tA\t192.0.2.10",
	}
	for name, w := range want {
		deadline := time.Now().Add(15 * time.Second)
		got := td.answer(name, dns.TypeA)
		for got != w && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			got = td.answer(name, dns.TypeA)
		}
		if got != w {
			t.Errorf("%s A:\n%s\nwant\n%s\n%s", name, got, w, td.view())
		}
	}
}

// A host-name entry of weight w counts as one entry of weight w in the
// weighted pick: the addresses of one family it resolved to share w.
func TestPickWeights_HostNameEntrySharesItsWeight(t *testing.T) {
	const host = "lb-1.example.net."
	tests := []struct {
		name string
		recs []pool.Record
		want string
	}{
		{"no host name keeps the weights", []pool.Record{
			{Type: "A", Data: "192.0.2.1", Weight: 2}, {Type: "A", Data: "192.0.2.2", Weight: 1}}, "[2 1]"},
		{"three addresses share weight 1", []pool.Record{
			{Type: "A", Data: "192.0.2.1", Weight: 1},
			{Type: "A", Data: "198.51.100.1", Weight: 1, Entry: host},
			{Type: "A", Data: "198.51.100.2", Weight: 1, Entry: host},
			{Type: "A", Data: "198.51.100.3", Weight: 1, Entry: host}}, "[3 1 1 1]"},
		{"each family shares apart", []pool.Record{
			{Type: "A", Data: "192.0.2.1", Weight: 5},
			{Type: "A", Data: "198.51.100.1", Weight: 2, Entry: host},
			{Type: "A", Data: "198.51.100.2", Weight: 2, Entry: host},
			{Type: "AAAA", Data: "2001:db8::1", Weight: 2, Entry: host}}, "[10 2 2 4]"},
		{"groups of two and three scale by six", []pool.Record{
			{Type: "A", Data: "198.51.100.1", Weight: 1, Entry: host},
			{Type: "A", Data: "198.51.100.2", Weight: 1, Entry: host},
			{Type: "A", Data: "203.0.113.1", Weight: 1, Entry: "lb-2.example.net."},
			{Type: "A", Data: "203.0.113.2", Weight: 1, Entry: "lb-2.example.net."},
			{Type: "A", Data: "203.0.113.3", Weight: 1, Entry: "lb-2.example.net."}}, "[3 3 2 2 2]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(pickWeights(tc.recs)); got != tc.want {
				t.Errorf("weights %s, want %s", got, tc.want)
			}
		})
	}
}
