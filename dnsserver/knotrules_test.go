package dnsserver

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// knotDiffSnapshot serves the zones of the Knot differential check
// (testdata/knotdiff), with the huge RRset, from files written to dir.
func knotDiffSnapshot(t *testing.T) *Snapshot {
	t.Helper()
	dir := t.TempDir()
	writeKnotDiffZones(t, dir)
	var snap Snapshot
	for _, z := range knotDiffZones {
		zd := mustLoad(t, ZoneConfig{Origin: z.origin, File: filepath.Join(dir, z.file), Hostname: "ns1.example.com."})
		snap.Zones = append(snap.Zones, ZoneSnapshot{Data: zd})
	}
	return &snap
}

// TestAnswersAsKnot checks, without Knot, the answers issue 17 found to
// differ from Knot's, over UDP (fast and full path) and TCP.
func TestAnswersAsKnot(t *testing.T) {
	_, addr := startServer(t, Options{Hostname: "ns1.example.com."}, knotDiffSnapshot(t))
	soa := "example.com. 300 IN SOA ns1.example.com. hostmaster.example.com. 2024010100 3600 600 1209600 300"
	dname := "dn.example.com. 3600 IN DNAME target.example.com."
	cases := []answerCase{
		{Name: "DNAMESynthesizesACNAMEAndFollowsItInTheZone", Qname: "host.dn.example.com.", Qtype: dns.TypeA,
			Answer: []string{dname, "host.dn.example.com. 3600 IN CNAME host.target.example.com.", "host.target.example.com. 3600 IN A 192.0.2.101"}},
		{Name: "DNAMEMatchesCaseInsensitively", Qname: "HOST.DN.EXAMPLE.COM.", Qtype: dns.TypeTXT,
			Answer: []string{dname, "host.dn.example.com. 3600 IN CNAME host.target.example.com.", `host.target.example.com. 3600 IN TXT "under the DNAME target"`}},
		{Name: "DNAMETargetThatDoesNotExistIsNXDOMAIN", Qname: "nope.dn.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError,
			Answer: []string{dname, "nope.dn.example.com. 3600 IN CNAME nope.target.example.com."}, Ns: []string{soa}},
		{Name: "DNAMEThenCNAMEIsFollowed", Qname: "al.dn.example.com.", Qtype: dns.TypeA,
			Answer: []string{dname, "al.dn.example.com. 3600 IN CNAME al.target.example.com.", "al.target.example.com. 3600 IN CNAME www.example.com.", "www.example.com. 3600 IN A 192.0.2.80"}},
		{Name: "DNAMECNAMEQueryGetsTheSynthesizedCNAMEOnly", Qname: "al.dn.example.com.", Qtype: dns.TypeCNAME,
			Answer: []string{dname, "al.dn.example.com. 3600 IN CNAME al.target.example.com."}},
		{Name: "DNAMEOutOfTheZoneIsNotFollowed", Qname: "x.dnout.example.com.", Qtype: dns.TypeA,
			Answer: []string{"dnout.example.com. 3600 IN DNAME example.org.", "x.dnout.example.com. 3600 IN CNAME x.example.org."}},
		{Name: "DNAMEOwnerItselfIsAnOrdinaryName", Qname: "dn.example.com.", Qtype: dns.TypeA, Ns: []string{soa}},
		{Name: "DNAMEWithUpperCaseTarget", Qname: "host.dnup.example.com.", Qtype: dns.TypeA,
			Answer: []string{"dnup.example.com. 3600 IN DNAME TARGET.Example.COM.", "host.dnup.example.com. 3600 IN CNAME host.target.example.com.", "host.target.example.com. 3600 IN A 192.0.2.101"}},
		{Name: "DSAtAServedChildApexIsTheParents", Qname: "child.example.com.", Qtype: dns.TypeDS,
			Answer: []string{"child.example.com. 3600 IN DS 54321 13 2 0A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F9"}},
		{Name: "DSAtADelegationIsAnswered", Qname: "deleg.example.com.", Qtype: dns.TypeDS,
			Answer: []string{"deleg.example.com. 3600 IN DS 12345 13 2 4F3AFC7D33EF2B36C8E0AD95D3F0D7AB2E1B0BBE2E0E8A5F4F2AC7A9C0D1E2F3"}},
		{Name: "SOAAtAServedChildApexIsTheChilds", Qname: "child.example.com.", Qtype: dns.TypeSOA,
			Answer: []string{"child.example.com. 3600 IN SOA ns1.child.example.com. hostmaster.child.example.com. 2024010100 3600 600 1209600 300"}},
		{Name: "EscapedDotInOwner", Qname: `dot\046esc.example.com.`, Qtype: dns.TypeA,
			Answer: []string{`dot\.esc.example.com. 3600 IN A 192.0.2.46`}},
		{Name: "EscapedSpaceInOwner", Qname: `sp\032ace.example.com.`, Qtype: dns.TypeA,
			Answer: []string{`sp\ ace.example.com. 3600 IN A 192.0.2.32`}},
		{Name: "DecimalEscapeOfALetterIsTheLetter", Qname: "abc.example.com.", Qtype: dns.TypeA,
			Answer: []string{"abc.example.com. 3600 IN A 192.0.2.65"}},
		{Name: "EscapedUpperCaseOwnerMatchesAnyCase", Qname: "UPPERCASE.example.com.", Qtype: dns.TypeTXT,
			Answer: []string{`uppercase.example.com. 3600 IN TXT "escaped upper case"`}},
		{Name: "EscapedDotIsNotALabelSeparator", Qname: "esc.dot.example.com.", Qtype: dns.TypeA, Rcode: dns.RcodeNameError, Ns: []string{soa}},
		{Name: "UpperCaseCNAMETargetIsFollowed", Qname: "upper.example.com.", Qtype: dns.TypeA,
			Answer: []string{"upper.example.com. 3600 IN CNAME WWW.EXAMPLE.COM.", "www.example.com. 3600 IN A 192.0.2.80"}},
		{Name: "MixedCaseCNAMEChainIsFollowed", Qname: "mixed.example.com.", Qtype: dns.TypeA,
			Answer: []string{"mixed.example.com. 3600 IN CNAME Chain1.Example.Com.", "chain1.example.com. 3600 IN CNAME chain2.example.com.", "chain2.example.com. 3600 IN CNAME www.example.com.", "www.example.com. 3600 IN A 192.0.2.80"}},
		{Name: "ANYAtACNAMEOwnerIsTheCNAME", Qname: "alias.example.com.", Qtype: dns.TypeANY,
			Answer: []string{"alias.example.com. 3600 IN CNAME www.example.com."}},
	}
	for _, netw := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(netw+"/"+tc.Name, func(t *testing.T) {
				m := new(dns.Msg)
				m.SetQuestion(tc.Qname, tc.Qtype)
				m.SetEdns0(4096, false)
				checkAnswer(t, exchange(t, netw, addr, m), tc)
			})
		}
	}
}

// TestTruncationAsKnot: over UDP, additional records that do not fit are
// left out without TC (RFC 2181 9); an answer that does not fit goes out
// with TC and no records at all; over TCP a 2,000-record RRset (over 64
// KiB uncompressed) is answered in full.
func TestTruncationAsKnot(t *testing.T) {
	_, addr := startServer(t, Options{Hostname: "ns1.example.com."}, knotDiffSnapshot(t))
	cases := []struct {
		name          string
		netw          string
		qname         string
		qtype         uint16
		edns          uint16
		wantTC        bool
		answer, extra int // record counts (OPT not counted)
	}{
		{"DroppedAdditionalRecordsDoNotSetTC", "udp", "mx.example.com.", dns.TypeMX, 0, false, 4, 12},
		{"AllAdditionalRecordsWhenTheyFit", "udp", "mx.example.com.", dns.TypeMX, 1232, false, 4, 16},
		{"TruncatedAnswerHasNoRecords", "udp", "big.example.com.", dns.TypeTXT, 0, true, 0, 0},
		{"TruncatedEDNSAnswerHasNoRecords", "udp", "huge-rrset-of-2000-records.example.com.", dns.TypeA, 1232, true, 0, 0},
		{"TCPAnswersA2000RecordRRset", "tcp", "huge-rrset-of-2000-records.example.com.", dns.TypeA, 0, false, hugeRRset, 0},
		{"TCPAnswersA2000RecordRRsetWithEDNS", "tcp", "huge-rrset-of-2000-records.example.com.", dns.TypeA, 512, false, hugeRRset, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion(tc.qname, tc.qtype)
			if tc.edns != 0 {
				m.SetEdns0(tc.edns, false)
			}
			r := exchange(t, tc.netw, addr, m)
			extra := len(r.Extra)
			if r.IsEdns0() != nil {
				extra--
			}
			if r.Truncated != tc.wantTC || len(r.Answer) != tc.answer || len(r.Ns) != 0 || extra != tc.extra {
				t.Fatalf("TC %v, %d answer, %d authority, %d additional records; want TC %v, %d, 0, %d", r.Truncated, len(r.Answer), len(r.Ns), extra, tc.wantTC, tc.answer, tc.extra)
			}
			if (tc.edns != 0) != (r.IsEdns0() != nil) {
				t.Fatalf("OPT %v in the answer to a query with buffer %d", r.IsEdns0(), tc.edns)
			}
			// Whole RRsets only: every additional owner has all 4 AAAA.
			owners := map[string]int{}
			for _, rr := range r.Extra {
				if rr.Header().Rrtype != dns.TypeOPT {
					owners[rr.Header().Name]++
				}
			}
			for o, n := range owners {
				if n != 4 {
					t.Errorf("additional RRset %s cut to %d records", o, n)
				}
			}
		})
	}
}

// TestHeaderRulesAsKnot: rcodes, flags and OPT of answers to unusual
// queries, over UDP and TCP.
func TestHeaderRulesAsKnot(t *testing.T) {
	_, addr := startServer(t, Options{ECS: true, Hostname: "ns1.example.com."}, knotDiffSnapshot(t))
	q := func() *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("www.example.com.", dns.TypeA)
		m.RecursionDesired = false
		return m
	}
	ecs := func(raw string) *dns.Msg {
		m := q()
		m.SetEdns0(1232, false)
		var data []byte
		fmt.Sscanf(raw, "%x", &data)
		o := m.IsEdns0()
		o.Option = append(o.Option, &dns.EDNS0_LOCAL{Code: dns.EDNS0SUBNET, Data: data})
		return m
	}
	cases := []struct {
		name    string
		query   func() *dns.Msg
		rcode   int
		rd      bool
		opt, do bool
		answers int
	}{
		{"NOTIMPToAnEDNSQueryHasOPT", func() *dns.Msg {
			m := q()
			m.Opcode = dns.OpcodeStatus
			m.SetEdns0(1232, true)
			return m
		}, dns.RcodeNotImplemented, false, true, true, 0},
		{"RDIsCopiedForEveryOpcode", func() *dns.Msg {
			m := q()
			m.Opcode = dns.OpcodeIQuery
			m.RecursionDesired = true
			return m
		}, dns.RcodeNotImplemented, true, false, false, 0},
		{"BADVERSKeepsDO", func() *dns.Msg {
			m := q()
			m.SetEdns0(1232, true)
			m.IsEdns0().SetVersion(1)
			return m
		}, dns.RcodeBadVers, false, true, true, 0},
		{"TwoOPTRRsAreFORMERR", func() *dns.Msg {
			m := q()
			m.SetEdns0(1232, false)
			m.Extra = append(m.Extra, &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT, Class: 1232}})
			return m
		}, dns.RcodeFormatError, false, false, false, 0},
		{"OPTInTheAnswerSectionIsFORMERR", func() *dns.Msg {
			m := q()
			m.SetEdns0(1232, false)
			m.Answer, m.Extra = m.Extra, nil
			return m
		}, dns.RcodeFormatError, false, false, false, 0},
		{"ECSWithTheRightOctetsIsAnswered", func() *dns.Msg { return ecs("00011800c63364") }, dns.RcodeSuccess, false, true, false, 1},
		{"ECSWithTooFewOctetsIsFORMERR", func() *dns.Msg { return ecs("00011800c633") }, dns.RcodeFormatError, false, true, false, 0},
		{"ECSWithTooManyOctetsIsFORMERR", func() *dns.Msg { return ecs("00011800c6336400") }, dns.RcodeFormatError, false, true, false, 0},
		{"ECSWithBitsPastThePrefixIsFORMERR", func() *dns.Msg { return ecs("00011700c63365") }, dns.RcodeFormatError, false, true, false, 0},
	}
	for _, netw := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(netw+"/"+tc.name, func(t *testing.T) {
				r := exchange(t, netw, addr, tc.query())
				opt := r.IsEdns0()
				if r.Rcode != tc.rcode || r.RecursionDesired != tc.rd || (opt != nil) != tc.opt || (opt != nil && opt.Do() != tc.do) || len(r.Answer) != tc.answers {
					t.Fatalf("rcode %s RD %v OPT %v answers %d; want %s RD %v OPT %v DO %v answers %d",
						dns.RcodeToString[r.Rcode], r.RecursionDesired, opt, len(r.Answer), dns.RcodeToString[tc.rcode], tc.rd, tc.opt, tc.do, tc.answers)
				}
			})
		}
	}
}

// TestIncludeErrorsDoNotQuoteOtherFiles: a $INCLUDE of a file that is not
// a zone file fails without echoing its contents, naming file and line.
func TestIncludeErrorsDoNotQuoteOtherFiles(t *testing.T) {
	dir := t.TempDir()
	secret := writeFile(t, dir, "secret", "root:$y$j9T$secrethash:19000:0:99999:7:::\n")
	zone := writeFile(t, dir, "zone.db", "$TTL 60\n$INCLUDE "+secret+"\n")
	_, err := LoadZone(ZoneConfig{Origin: "example.com.", File: zone, Hostname: "ns1.example.com."})
	if err == nil {
		t.Fatal("LoadZone succeeded")
	}
	if strings.Contains(err.Error(), "secrethash") || strings.Contains(err.Error(), "root") {
		t.Fatalf("error quotes the included file: %v", err)
	}
	if !strings.Contains(err.Error(), secret+":1:") {
		t.Fatalf("error %q does not name the included file and line", err)
	}
}

// TestAnswersEchoTheQuestionsCase: the question comes back as asked, and
// the answer's owner names, compressed against it, show the same case
// (over UDP on the fast and the full path, and over TCP).
func TestAnswersEchoTheQuestionsCase(t *testing.T) {
	_, addr := startServer(t, Options{Hostname: "ns1.example.com."}, knotDiffSnapshot(t))
	for _, netw := range []string{"udp", "tcp"} {
		for _, q := range []struct {
			name  string
			qtype uint16
		}{
			{"WwW.ExAmPlE.cOm.", dns.TypeA},   // fast path
			{"AlIaS.Example.COM.", dns.TypeA}, // full path: CNAME
			{"NoPe.Example.COM.", dns.TypeA},  // NXDOMAIN
			{"WWW.EXAMPLE.COM.", dns.TypeANY}, // full path: ANY
		} {
			t.Run(netw+"/"+q.name+"/"+dns.TypeToString[q.qtype], func(t *testing.T) {
				m := new(dns.Msg)
				m.SetQuestion(q.name, q.qtype)
				r := exchange(t, netw, addr, m)
				if len(r.Question) != 1 || r.Question[0].Name != q.name {
					t.Fatalf("question %v, want %s", r.Question, q.name)
				}
				if len(r.Answer) > 0 && r.Answer[0].Header().Name != q.name {
					t.Fatalf("first owner %s, want the question's %s", r.Answer[0].Header().Name, q.name)
				}
			})
		}
	}
}

// TestDNAMEAtTheApex: a DNAME at a zone's apex redirects every name below
// it (RFC 6672 2.3), over UDP (fast path) and TCP.
func TestDNAMEAtTheApex(t *testing.T) {
	snap := knotDiffSnapshot(t)
	moved := mustLoad(t, ZoneConfig{Origin: "moved.test.", Hostname: "ns1.example.com.", Records: []StaticRecord{
		{Name: "moved.test.", Type: "DNAME", TTL: 60, RData: []string{"example.com."}},
	}})
	snap.Zones = append(snap.Zones, ZoneSnapshot{Data: moved})
	_, addr := startServer(t, Options{Hostname: "ns1.example.com."}, snap)
	cases := []answerCase{
		{Name: "NameBelowAnApexDNAMEIsRedirected", Qname: "www.moved.test.", Qtype: dns.TypeA,
			Answer: []string{"moved.test. 60 IN DNAME example.com.", "www.moved.test. 60 IN CNAME www.example.com.", "www.example.com. 3600 IN A 192.0.2.80"}},
		{Name: "TheApexItselfIsNot", Qname: "moved.test.", Qtype: dns.TypeA,
			Ns: []string{"moved.test. 60 IN SOA ns1.example.com. hostmaster.moved.test. 1 3600 600 1209600 60"}},
	}
	for _, netw := range []string{"udp", "tcp"} {
		for _, tc := range cases {
			t.Run(netw+"/"+tc.Name, func(t *testing.T) {
				m := new(dns.Msg)
				m.SetQuestion(tc.Qname, tc.Qtype)
				checkAnswer(t, exchange(t, netw, addr, m), tc)
			})
		}
	}
}
