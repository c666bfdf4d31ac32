package dnsserver

import (
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/miekg/dns"
)

// RegionChoice is the region a client is mapped to and why.
type RegionChoice struct {
	// Code is the client's region by the rule; Answered is the region of
	// the name whose answer it gets (Code, or "global" when the name has
	// no answer for Code).
	Code, Answered string
	// Rule is the rule that chose the region: RuleECS (the query's ECS
	// subnet matched region_map or GeoIP), RuleRegionMap, RuleGeoIP or
	// RuleGlobal.
	Rule string
	// Matched is what matched the address used (the ECS subnet's or the
	// source's): RuleRegionMap, RuleGeoIP or RuleGlobal.
	Matched string
	// Reason says it in words.
	Reason string
}

// QueryExplanation is how the server answers a query, worked out by the
// functions that answer it (the client's region lookup and the choice of
// the region's record set), from the current snapshot.
type QueryExplanation struct {
	// Zone is the zone holding the name ("" when none: REFUSED).
	Zone string
	// Service reports whether the name has a service answer.
	Service bool
	Region  RegionChoice
	TTL     uint32
	// ServeCount is how many candidates each answer carries (0 = all).
	ServeCount int
	// Candidates are the records the answer is picked from, in
	// presentation form of their rdata ("192.0.2.10", a CNAME target,
	// "10 5 443 web1.example.com." for SRV), before the weighted pick.
	Candidates []string
}

// Explain works out the answer to qname/qtype for a query from the
// address from carrying the ECS prefix ecs (an invalid prefix: no ECS
// option), without sending one. A name without a service answer reports
// Service false.
func (s *Server) Explain(qname string, qtype uint16, from netip.Addr, ecs netip.Prefix) QueryExplanation {
	qname = strings.ToLower(dns.Fqdn(qname))
	c, choice := s.regionChoice(from, ecs)
	var ex QueryExplanation
	p := s.cur.Load()
	z := p.findZone(qname)
	if z == nil {
		return ex
	}
	ex.Zone = z.origin
	pn := z.dyn[qname]
	ex.Region = choice
	if pn == nil {
		return ex
	}
	ex.Service, ex.TTL = true, pn.ttl
	pr := c.regionFor(pn)
	for rc, r := range pn.regions {
		if r == pr {
			ex.Region.Answered = rc
			break
		}
	}
	switch {
	case !pn.regional:
		ex.Region.Reason += "; the name answers every client alike (global)"
	case ex.Region.Answered != choice.Code:
		ex.Region.Reason += fmt.Sprintf("; the name has no answer for %s, so global answers", choice.Code)
	}
	ex.ServeCount = pr.serveCount
	ex.Candidates = []string{}
	switch {
	case pr.cname != nil:
		ex.Candidates = append(ex.Candidates, pr.cname.Target)
	case qtype == dns.TypeSRV || (qtype == dns.TypeANY && len(pr.a) == 0 && len(pr.aaaa) == 0):
		for _, rr := range pr.srv {
			ex.Candidates = append(ex.Candidates, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
	default:
		if qtype == dns.TypeANY {
			qtype = dns.TypeA
			if len(pr.a) == 0 {
				qtype = dns.TypeAAAA
			}
		}
		rrs, _, _ := pr.addrSet(qtype)
		for _, rr := range rrs {
			ex.Candidates = append(ex.Candidates, strings.TrimPrefix(rr.String(), rr.Header().String()))
		}
	}
	return ex
}

// QueryType returns the type code of a query type's name ("A", "AAAA",
// "SRV", ...), for callers that do not speak DNS.
func QueryType(name string) (uint16, bool) {
	t, ok := dns.StringToType[strings.ToUpper(name)]
	return t, ok
}

// RegionFor returns the region a query from the address from with the ECS
// prefix ecs (invalid: none) is mapped to, and the rule that chose it:
// RuleECS, RuleRegionMap, RuleGeoIP or RuleGlobal. A name without an
// answer for that region answers such a client from "global".
func (s *Server) RegionFor(from netip.Addr, ecs netip.Prefix) (code, rule string) {
	_, choice := s.regionChoice(from, ecs)
	return choice.Code, choice.Rule
}

// regionChoice builds the client a query would have (as handle does) and
// resolves its region by the answer path's lookup, even when no name asks
// for it, so an explanation shows where the client stands.
func (s *Server) regionChoice(from netip.Addr, ecs netip.Prefix) (client, RegionChoice) {
	c := client{srcBits: -1, regions: s.regions, addr: from.Unmap()}
	usedECS := false
	if ecs.IsValid() && s.opts.ECS {
		// A source prefix of 0 leaves the source address.
		c.srcBits = ecs.Bits()
		if ecs.Bits() > 0 {
			c.addr, usedECS = ecs.Masked().Addr().Unmap(), true
		}
	}
	code, _, how := c.regions.lookupRule(c.addr)
	choice := RegionChoice{Code: code, Answered: GlobalRegion, Rule: how.rule, Matched: how.rule}
	if usedECS && how.rule != RuleGlobal {
		choice.Rule = RuleECS
	}
	choice.Reason = s.regionReason(c.addr, usedECS, ecs, code, how)
	return c, choice
}

// addrSet returns the A or AAAA records of a region with their weights
// and answer counters (nil for other types).
func (pr *pubRegion) addrSet(qtype uint16) ([]dns.RR, []uint32, []*atomic.Uint64) {
	switch qtype {
	case dns.TypeA:
		return pr.a, pr.aw, pr.ac
	case dns.TypeAAAA:
		return pr.aaaa, pr.aaaaw, pr.aaaac
	}
	return nil, nil, nil
}

func (s *Server) regionReason(addr netip.Addr, usedECS bool, ecs netip.Prefix, code string, how regionMatch) string {
	who := "the source address " + addr.String()
	switch {
	case usedECS:
		who = "the ECS subnet " + ecs.Masked().String()
	case ecs.IsValid() && !s.opts.ECS:
		who += " (ECS is off, so the client subnet is ignored)"
	case !addr.IsValid():
		return "global: no client address"
	}
	prefix := how.rule
	if usedECS && how.rule != RuleGlobal {
		prefix = RuleECS + ", " + how.rule
	}
	switch how.rule {
	case RuleRegionMap:
		return fmt.Sprintf("%s: %s is in the region_map prefix %s of %s", prefix, who, how.network, code)
	case RuleGeoIP:
		return fmt.Sprintf("%s: the GeoIP database places %s (network %s) in %s", prefix, who, how.network, code)
	}
	if s.geo != nil {
		return fmt.Sprintf("%s: %s matches no region_map prefix and no GeoIP record", prefix, who)
	}
	return fmt.Sprintf("%s: %s matches no region_map prefix (no GeoIP database)", prefix, who)
}
