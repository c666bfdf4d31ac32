package daemon

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
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
