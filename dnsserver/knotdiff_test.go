package dnsserver

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
	"github.com/miekg/dns"
)

// The differential check: Knot and failoverd load the same zone files
// (testdata/knotdiff/*.zone, plus a 2,000-record RRset written by the
// test), answer the same queries (testdata/knotdiff/corpus.txt), and their
// answers are compared field by field. Every difference must be listed,
// with its reason, in testdata/knotdiff/accepted.txt; a listed difference
// that no longer occurs fails the test too, so the list stays true.

// knotDiffZones are the zones of the check, by origin and file.
var knotDiffZones = []struct{ origin, file string }{
	{"example.com.", "example.com.zone"},
	{"child.example.com.", "child.example.com.zone"},
}

// hugeRRset is the size of huge-rrset-of-2000-records.example.com's A RRset:
// over 64 KiB uncompressed, so it only goes over TCP if the answer is compressed.
const hugeRRset = 2000

// diffQuery is one corpus line.
type diffQuery struct {
	line string
	msg  *dns.Msg
	tcp  bool
}

// parseCorpus reads the queries of the corpus file.
func parseCorpus(t *testing.T, path string) []diffQuery {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []diffQuery
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		q, err := parseDiffQuery(line)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		out = append(out, q)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func parseDiffQuery(line string) (diffQuery, error) {
	fields := strings.Fields(line)
	if len(fields) < 2 {
		return diffQuery{}, fmt.Errorf("%q: want NAME TYPE [OPTION...]", line)
	}
	qt, ok := dns.StringToType[fields[1]]
	if !ok {
		return diffQuery{}, fmt.Errorf("%q: unknown type %s", line, fields[1])
	}
	if _, ok := dns.IsDomainName(fields[0]); !ok {
		return diffQuery{}, fmt.Errorf("%q: bad name", line)
	}
	q := diffQuery{line: line, msg: new(dns.Msg)}
	m := q.msg
	m.Id = dns.Id()
	m.Question = []dns.Question{{Name: fields[0], Qtype: qt, Qclass: dns.ClassINET}}
	opt := func() *dns.OPT {
		if o := m.IsEdns0(); o != nil {
			return o
		}
		m.SetEdns0(maxUDPSize, false)
		return m.IsEdns0()
	}
	extraOPT := false
	inAnswer := false
	for _, o := range fields[2:] {
		key, val, _ := strings.Cut(o, "=")
		switch key {
		case "tcp":
			q.tcp = true
		case "edns":
			opt()
		case "bufsize":
			n, err := strconv.ParseUint(val, 10, 16)
			if err != nil {
				return q, fmt.Errorf("%q: %v", line, err)
			}
			opt().SetUDPSize(uint16(n))
		case "do":
			opt().SetDo()
		case "ednsver":
			n, err := strconv.ParseUint(val, 10, 8)
			if err != nil {
				return q, fmt.Errorf("%q: %v", line, err)
			}
			opt().SetVersion(uint8(n))
		case "rd":
			m.RecursionDesired = true
		case "cd":
			m.CheckingDisabled = true
		case "opcode":
			op, ok := dns.StringToOpcode[val]
			if !ok {
				return q, fmt.Errorf("%q: unknown opcode %s", line, val)
			}
			m.Opcode = op
		case "class":
			c, ok := dns.StringToClass[val]
			if !ok {
				return q, fmt.Errorf("%q: unknown class %s", line, val)
			}
			m.Question[0].Qclass = c
		case "twoopt":
			extraOPT = true
		case "optinanswer":
			inAnswer = true
		case "ecs":
			data, err := hex.DecodeString(val)
			if err != nil {
				return q, fmt.Errorf("%q: %v", line, err)
			}
			// Raw bytes, so a malformed option can be sent.
			o := opt()
			o.Option = append(o.Option, &dns.EDNS0_LOCAL{Code: dns.EDNS0SUBNET, Data: data})
		default:
			return q, fmt.Errorf("%q: unknown option %s", line, o)
		}
	}
	if extraOPT {
		o := opt()
		m.Extra = append(m.Extra, &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: o.Hdr.Class}})
	}
	if inAnswer {
		o := opt()
		m.Extra = nil
		m.Answer = append(m.Answer, o)
	}
	return q, nil
}

// diffAnswer is the part of an answer the check compares.
type diffAnswer map[string]string

// diffFields are compared in this order.
var diffFields = []string{"rcode", "aa", "tc", "rd", "answer", "authority", "additional", "opt", "do"}

func summarize(r *dns.Msg) diffAnswer {
	set := func(rrs []dns.RR) string {
		var out []string
		for _, rr := range rrs {
			if rr.Header().Rrtype == dns.TypeOPT {
				continue
			}
			// Names compare case-insensitively; a server may echo the
			// query's case or the zone's.
			out = append(out, strings.ToLower(rr.String()))
		}
		slices.Sort(out)
		if len(out) > 20 {
			// Big sets: a count and a digest are enough to compare.
			return fmt.Sprintf("%d records, %x", len(out), hashStrings(out))
		}
		return strings.Join(out, "\n")
	}
	a := diffAnswer{
		"rcode":      dns.RcodeToString[r.Rcode],
		"aa":         strconv.FormatBool(r.Authoritative),
		"tc":         strconv.FormatBool(r.Truncated),
		"rd":         strconv.FormatBool(r.RecursionDesired),
		"answer":     set(r.Answer),
		"authority":  set(r.Ns),
		"additional": set(r.Extra),
		"opt":        "none",
		"do":         "false",
	}
	if o := r.IsEdns0(); o != nil {
		a["opt"] = fmt.Sprintf("version %d", o.Version())
		a["do"] = strconv.FormatBool(o.Do())
	}
	return a
}

func hashStrings(ss []string) uint64 {
	h := uint64(14695981039346656037)
	for _, s := range ss {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * 1099511628211
		}
		h = (h ^ '\n') * 1099511628211
	}
	return h
}

// acceptedDiff is one line of accepted.txt: QUERY LINE | FIELD | WHY.
type acceptedDiff struct {
	query, field, why string
	seen              bool
}

func readAccepted(t *testing.T, path string) map[string]*acceptedDiff {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*acceptedDiff{}
	for n, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "|")
		if len(parts) != 3 || strings.TrimSpace(parts[2]) == "" {
			t.Fatalf("%s:%d: want QUERY | FIELD | WHY", path, n+1)
		}
		d := &acceptedDiff{query: strings.Join(strings.Fields(parts[0]), " "), field: strings.TrimSpace(parts[1]), why: strings.TrimSpace(parts[2])}
		if !slices.Contains(diffFields, d.field) {
			t.Fatalf("%s:%d: unknown field %q", path, n+1, d.field)
		}
		out[d.query+"|"+d.field] = d
	}
	return out
}

// writeKnotDiffZones copies the zone files into dir and adds the huge RRset.
func writeKnotDiffZones(t *testing.T, dir string) {
	t.Helper()
	for _, z := range knotDiffZones {
		raw, err := os.ReadFile(filepath.Join("testdata", "knotdiff", z.file))
		if err != nil {
			t.Fatal(err)
		}
		if z.origin == "example.com." {
			var b bytes.Buffer
			b.Write(raw)
			for i := range hugeRRset {
				fmt.Fprintf(&b, "huge-rrset-of-2000-records A 10.%d.%d.%d\n", i>>16, (i>>8)&0xFF, i&0xFF)
			}
			raw = b.Bytes()
		}
		writeFile(t, dir, z.file, string(raw))
	}
}

// startKnot runs knotd serving the zones in dir for the test's lifetime
// and returns its address once both zones answer.
func startKnot(t *testing.T, dir string) string {
	t.Helper()
	opts := testutil.KnotOptions{
		// ECS on, so malformed options are judged by both servers.
		Extra: "server:\n    edns-client-subnet: on\n",
	}
	for _, z := range knotDiffZones {
		opts.Zones = append(opts.Zones, testutil.KnotZone{Domain: strings.TrimSuffix(z.origin, "."), File: filepath.Join(dir, z.file)})
	}
	k := testutil.StartKnot(t, opts)
	c := &dns.Client{Timeout: time.Second}
	for _, z := range knotDiffZones {
		testutil.Eventually(t, 30*time.Second, "knotd serves "+z.origin, func() (bool, string) {
			m := new(dns.Msg)
			m.SetQuestion(z.origin, dns.TypeSOA)
			r, _, err := c.Exchange(m, k.Addr)
			if err != nil {
				return false, err.Error()
			}
			return r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1, dns.RcodeToString[r.Rcode]
		})
	}
	return k.Addr
}

// ask sends q to addr and returns the answer.
func ask(t *testing.T, addr string, q diffQuery) (*dns.Msg, error) {
	t.Helper()
	netw := "udp"
	if q.tcp {
		netw = "tcp"
	}
	c := &dns.Client{Net: netw, Timeout: 3 * time.Second, UDPSize: dns.MaxMsgSize}
	var (
		r   *dns.Msg
		err error
	)
	for range 3 { // UDP on a loaded machine may lose a datagram
		if r, _, err = c.Exchange(q.msg.Copy(), addr); err == nil {
			return r, nil
		}
	}
	return nil, err
}

// TestKnotDifferential: failoverd answers every corpus query as Knot does,
// field by field, apart from the accepted differences.
func TestKnotDifferential(t *testing.T) {
	dir := t.TempDir()
	writeKnotDiffZones(t, dir)
	knot := startKnot(t, dir)

	var snap Snapshot
	for _, z := range knotDiffZones {
		zd := mustLoad(t, ZoneConfig{Origin: z.origin, File: filepath.Join(dir, z.file), Hostname: "ns1.example.com."})
		snap.Zones = append(snap.Zones, ZoneSnapshot{Data: zd})
	}
	_, ours := startServer(t, Options{ECS: true, Hostname: "ns1.example.com."}, &snap)

	accepted := readAccepted(t, filepath.Join("testdata", "knotdiff", "accepted.txt"))
	queries := parseCorpus(t, filepath.Join("testdata", "knotdiff", "corpus.txt"))
	for _, q := range queries {
		kr, kerr := ask(t, knot, q)
		fr, ferr := ask(t, ours, q)
		key := strings.Join(strings.Fields(q.line), " ")
		if kerr != nil || ferr != nil {
			d := accepted[key+"|rcode"]
			if d == nil {
				t.Errorf("%s: knot error %v, failoverd error %v", q.line, kerr, ferr)
			} else {
				d.seen = true
			}
			continue
		}
		ka, fa := summarize(kr), summarize(fr)
		for _, f := range diffFields {
			if ka[f] == fa[f] {
				continue
			}
			if d := accepted[key+"|"+f]; d != nil {
				d.seen = true
				continue
			}
			t.Errorf("%s: %s differs\nknot:\n%s\nfailoverd:\n%s", q.line, f, ka[f], fa[f])
		}
	}
	for _, d := range accepted {
		if !d.seen {
			t.Errorf("accepted difference no longer occurs (remove it): %s | %s", d.query, d.field)
		}
	}
}
