package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// KnotZone is one zone a Knot server started by StartKnot serves.
type KnotZone struct {
	Domain string // "example.com"
	// Primary, as host:port, makes Knot a secondary that transfers the zone
	// from there and accepts its NOTIFY; empty serves File as a primary.
	Primary string
	// File is the zone file a primary serves (copied into Knot's directory).
	File string
	// TSIG names a key of KnotOptions.Keys that transfers and NOTIFY use.
	TSIG string
}

// KnotKey is a TSIG key Knot knows.
type KnotKey struct {
	Name, Algorithm, Secret string // Algorithm as Knot spells it: hmac-sha256
}

// KnotOptions configure StartKnot.
type KnotOptions struct {
	Zones []KnotZone
	Keys  []KnotKey
	// Port to listen on (UDP and TCP on 127.0.0.1); 0 picks a free one.
	// Set it when the other side must know it first (NOTIFY targets).
	Port int
	// Extra is appended to the generated configuration verbatim.
	Extra string
}

// Knot is a running knotd on a loopback port.
type Knot struct {
	Addr string // 127.0.0.1:port, UDP and TCP
	Port int

	process
}

// StartKnot runs a real knotd (Debian package knot) with opts on a free
// loopback port; Cleanup kills it and, when the test failed, logs its output.
// It does not wait for zones to load: poll the zone over DNS.
func StartKnot(t testing.TB, opts KnotOptions) *Knot {
	t.Helper()
	bin := RequireTool(t, "knot", "knotd")
	dir := t.TempDir()
	for _, d := range []string{"run", "db"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	k := &Knot{Port: opts.Port}
	if k.Port == 0 {
		k.Port = FreePort(t, "127.0.0.1")
	}
	k.Addr = net.JoinHostPort("127.0.0.1", fmt.Sprint(k.Port))

	var conf strings.Builder
	fmt.Fprintf(&conf, `server:
    listen: 127.0.0.1@%d
    rundir: %[2]s/run
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: %[2]s/db
control:
    listen: %[2]s/run/knot.sock
log:
  - target: stderr
    any: info
`, k.Port, dir)
	if len(opts.Keys) > 0 {
		conf.WriteString("key:\n")
		for _, key := range opts.Keys {
			fmt.Fprintf(&conf, "  - id: %s\n    algorithm: %s\n    secret: %s\n", key.Name, key.Algorithm, key.Secret)
		}
	}
	var remotes, acls, zones strings.Builder
	for i, z := range opts.Zones {
		keyLine := ""
		if z.TSIG != "" {
			keyLine = "\n    key: " + z.TSIG
		}
		fmt.Fprintf(&zones, "  - domain: %s\n    file: %s/%s.zone\n    zonefile-sync: -1\n    journal-content: none\n", z.Domain, dir, z.Domain)
		if z.Primary == "" {
			data, err := os.ReadFile(z.File)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, z.Domain+".zone"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		host, port, err := net.SplitHostPort(z.Primary)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&remotes, "  - id: primary%d\n    address: %s@%s%s\n", i, host, port, keyLine)
		fmt.Fprintf(&acls, "  - id: notify%d\n    address: 127.0.0.0/8\n    action: notify%s\n", i, keyLine)
		fmt.Fprintf(&zones, "    master: primary%d\n    acl: notify%d\n    zonefile-load: none\n", i, i)
	}
	if remotes.Len() > 0 {
		conf.WriteString("remote:\n" + remotes.String() + "acl:\n" + acls.String())
	}
	conf.WriteString("zone:\n" + zones.String() + opts.Extra)
	confPath := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	k.start(t, "knotd", conf.String(), exec.Command(bin, "-c", confPath))
	return k
}
