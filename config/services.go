package config

import (
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// serviceContext is what service checks need from the rest of the config.
type serviceContext struct {
	cfg         *Config
	fqdns       []fqdnDef // every service and cluster service fqdn, across kinds
	regionCodes map[string]bool
}

// fqdnDef is where a service name is defined.
type fqdnDef struct {
	name string
	rng  hcl.Range
}

// checkDuplicateFQDNs reports every service name defined more than once,
// across kinds, at each definition after the first in file order.
func (l *loader) checkDuplicateFQDNs(defs []fqdnDef, fileOrder map[string]int) {
	sort.SliceStable(defs, func(i, j int) bool {
		a, b := defs[i].rng, defs[j].rng
		if fa, fb := fileOrder[a.Filename], fileOrder[b.Filename]; fa != fb {
			return fa < fb
		}
		return a.Start.Byte < b.Start.Byte
	})
	seen := names{}
	for _, d := range defs {
		l.dup(seen, d.name, d.rng, "Duplicate service name", "A service on "+strconv.Quote(d.name))
	}
}

// fqdn normalises a service name and checks it is a host name inside a
// configured zone and not used by another service.
func (l *loader) fqdn(sc *serviceContext, raw string, rng hcl.Range) string {
	name := normalizeName(raw)
	if !validHostname(name) {
		l.errf(rng, "Invalid fqdn", "A service name is a DNS name such as \"www.example.com.\"; got %q.", raw)
		return name
	}
	if zoneFor(sc.cfg.Zones, name) == nil {
		l.errf(rng, "Name outside every zone", "%q is not inside any configured zone. Add a zone block for its domain, or fix the name.", name)
	}
	sc.fqdns = append(sc.fqdns, fqdnDef{name, rng})
	return name
}

// contactRef checks that a contact_nickname names a contact.
func (l *loader) contactRef(sc *serviceContext, nick *string, at src) string {
	if nick == nil || *nick == "" {
		return ""
	}
	if _, ok := sc.cfg.Contacts[*nick]; !ok {
		l.errf(at.attr("contact_nickname"), "Unknown contact", "No contact block is named %q. Add contact %q { email = [...] } or fix the nickname.", *nick, *nick)
	}
	return *nick
}

// oneMonitor returns the only block of a required single block kind.
func oneBlock[T any](l *loader, blocks []T, kind string, def func(T) hcl.Range, parent hcl.Range, required bool) (T, bool) {
	var zero T
	if len(blocks) == 0 {
		if required {
			l.errf(parent, "Missing "+kind+" block", "This block needs a %s block.", kind)
		}
		return zero, false
	}
	for _, b := range blocks[1:] {
		l.errf(def(b), "Duplicate "+kind+" block", "A %s block is already defined at %s; only one is allowed here.", kind, where(def(blocks[0])))
	}
	return blocks[0], true
}

func monitorDef(m *rawMonitor) hcl.Range { return m.DefRange }
func syslogDef(s *rawSyslog) hcl.Range   { return s.DefRange }

// service converts the attributes shared by active_failover, gslb and rttm.
func (l *loader) service(sc *serviceContext, fqdn string, fqdnRange hcl.Range, rs *rawService, at src, rttm bool) Service {
	s := Service{
		FQDN:         l.fqdn(sc, fqdn, fqdnRange),
		NotifyEvents: []string{"svc"},
		Active:       true,
		AutoRecover:  true,
		DefRange:     at.def,
	}
	if m, ok := oneBlock(l, rs.Monitors, "monitor", monitorDef, at.def, true); ok {
		s.Monitor = l.monitor(m, false)
	}
	if y, ok := oneBlock(l, rs.Syslogs, "syslog", syslogDef, at.def, false); ok {
		s.Syslog = l.syslog(y, rttm)
	}
	s.TTL = l.serviceTTL(rs.TTL, at, s.Monitor)
	if rs.NotifyEvents != nil {
		s.NotifyEvents = []string{}
		seen := map[string]bool{}
		for i, e := range *rs.NotifyEvents {
			if !slices.Contains(NotifyEventKinds, e) {
				l.errf(at.elem("notify_events", i), "Invalid notify_events", "notify_events is a subset of %s; got %q.", quoteList(NotifyEventKinds), e)
				continue
			}
			if !seen[e] {
				seen[e] = true
				s.NotifyEvents = append(s.NotifyEvents, e)
			}
		}
	}
	s.ContactNickname = l.contactRef(sc, rs.ContactNickname, at)
	if rs.Active != nil {
		s.Active = *rs.Active
	}
	if rs.AutoRecover != nil {
		s.AutoRecover = *rs.AutoRecover
	}
	if rs.RecoveryDelay != nil && l.inRange(*rs.RecoveryDelay, 0, MaxRecoveryDelay, at.attr("recovery_delay"), "recovery_delay") {
		s.RecoveryDelay = *rs.RecoveryDelay
	}
	return s
}

// serviceTTL applies the default TTL and checks it against the monitor
// interval: at most half of it.
func (l *loader) serviceTTL(v *int, at src, m *Monitor) uint32 {
	half := 0
	if m != nil {
		half = int(m.Interval / time.Second / 2)
	}
	if v == nil {
		return uint32(min(30, half))
	}
	rng := at.attr("ttl")
	if *v < 0 || *v > MaxTTL {
		l.errf(rng, "Invalid ttl", "ttl is whole seconds from 0 to %d; got %d.", MaxTTL, *v)
		return 0
	}
	if m != nil && m.Interval > 0 && time.Duration(*v)*2*time.Second > m.Interval {
		l.errf(rng, "TTL too long", "ttl %d is more than half of the monitor interval %s. Use a ttl of at most %d, or a longer interval.", *v, m.Interval, half)
	}
	return uint32(*v)
}

// monitor converts a monitor block. In cluster services an unset port stays
// 0 (each real service's own port).
func (l *loader) monitor(r *rawMonitor, cluster bool) *Monitor {
	at := src{r.Body, r.DefRange}
	m := &Monitor{Protocol: r.Protocol, Retries: 1, DefRange: r.DefRange}
	protoOK := true
	if at.has("protocol") {
		protoOK = l.enum(r.Protocol, protocols, at.attr("protocol"), "protocol")
	}
	if at.has("interval") {
		if d, ok := l.duration(r.Interval, at.attr("interval"), "interval"); ok {
			if d < time.Second {
				l.errf(at.attr("interval"), "Interval too short", "interval must be at least \"1s\"; got %q.", r.Interval)
			}
			m.Interval = d
		}
	}
	m.Retries = l.retries(r.Retries, at)
	m.Timeout = l.timeout(r.Timeout, at, m.Interval)
	http := m.Protocol == ProtocolHTTP || m.Protocol == ProtocolHTTPS
	if r.Port != nil {
		switch {
		case protoOK && (m.Protocol == ProtocolPING || m.Protocol == ProtocolNONE):
			l.errf(at.attr("port"), "Port not used", "A %s monitor has no port. Remove the port attribute.", m.Protocol)
		case l.inRange(*r.Port, 1, MaxPort, at.attr("port"), "port"):
			m.Port = *r.Port
		}
	} else if !cluster {
		switch m.Protocol {
		case ProtocolHTTP, ProtocolTCP:
			m.Port = 80
		case ProtocolHTTPS:
			m.Port = 443
		case ProtocolSMTP:
			m.Port = 25
		}
	}
	httpOnly := func(attr string) {
		if protoOK && !http {
			l.errf(at.name(attr), "Attribute not used", "%s applies to HTTP and HTTPS monitors only; this one is %s. Remove it.", attr, m.Protocol)
		}
	}
	if r.Path != nil {
		httpOnly("path")
		m.Path = *r.Path
		if m.Path != "" && !strings.HasPrefix(m.Path, "/") {
			m.Path = "/" + m.Path
		}
		if strings.ContainsAny(m.Path, " \t\r\n") {
			l.errf(at.attr("path"), "Invalid path", "path is a URL path such as \"/health\", without spaces; got %q.", *r.Path)
		}
	}
	if r.Host != nil {
		httpOnly("host")
		m.Host = *r.Host
		if m.Host != "" && !validHost(strings.TrimSuffix(m.Host, ".")) {
			if h, _, ok := splitHostPort(m.Host); !ok || h == "" {
				l.errf(at.attr("host"), "Invalid host", "host is the Host header and TLS server name, such as \"www.example.com\"; got %q.", m.Host)
			}
		}
	}
	if r.Header != nil {
		httpOnly("header")
		for _, line := range strings.Split(*r.Header, "\n") {
			line = strings.TrimRight(line, "\r")
			if strings.TrimSpace(line) == "" {
				continue
			}
			name, _, ok := strings.Cut(line, ":")
			if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(name, " \t") {
				l.errf(at.attr("header"), "Invalid header", "Each line of header is \"Name: value\"; got %q.", line)
				continue
			}
			m.Header = append(m.Header, line)
		}
	}
	if r.Expected != nil {
		if protoOK && !http && m.Protocol != ProtocolSMTP {
			l.errf(at.name("expected"), "Attribute not used", "expected applies to HTTP, HTTPS and SMTP monitors only; this one is %s. Remove it.", m.Protocol)
		}
		m.Expected = *r.Expected
	}
	if r.TLSSkipVerify != nil {
		if *r.TLSSkipVerify && protoOK && m.Protocol != ProtocolHTTPS {
			l.errf(at.name("tls_skip_verify"), "Attribute not used", "tls_skip_verify applies to HTTPS monitors only; this one is %s. Remove it.", m.Protocol)
		}
		m.TLSSkipVerify = *r.TLSSkipVerify
	}
	if r.Watch != nil {
		if *r.Watch && protoOK && (m.Protocol == ProtocolPING || m.Protocol == ProtocolNONE) {
			l.errf(at.name("watch"), "Attribute not used", "watch applies to HTTP, HTTPS, TCP and SMTP monitors only; a %s monitor has no connection to watch. Remove it.", m.Protocol)
		}
		m.Watch = *r.Watch
	}
	return m
}

// retries applies the default and checks the range 0..10.
func (l *loader) retries(v *int, at src) int {
	if v == nil {
		return 1
	}
	if !l.inRange(*v, 0, MaxRetries, at.attr("retries"), "retries") {
		return 1
	}
	return *v
}

// timeout applies the default min(10s, interval/2) and checks that it is
// at least 100ms and less than the interval.
func (l *loader) timeout(v *string, at src, interval time.Duration) time.Duration {
	if v == nil {
		return min(10*time.Second, interval/2)
	}
	d, ok := l.duration(*v, at.attr("timeout"), "timeout")
	if !ok {
		return min(10*time.Second, interval/2)
	}
	switch {
	case d < 100*time.Millisecond:
		l.errf(at.attr("timeout"), "Timeout too short", "timeout must be at least \"100ms\"; got %q.", *v)
	case interval > 0 && d >= interval:
		l.errf(at.attr("timeout"), "Timeout too long", "timeout %s must be less than the interval %s.", d, interval)
	}
	return d
}

func (l *loader) syslog(r *rawSyslog, rttm bool) *Syslog {
	at := src{r.Body, r.DefRange}
	s := &Syslog{
		Server: r.Server, Port: 514, Transport: "udp", Protocol: "rfc3164", Ident: "dynect",
		Facility: "daemon", Delivery: "change", ProbeFmt: DefaultProbeFmt, StatusFmt: DefaultStatusFmt,
	}
	if rttm {
		s.RTTMFmt = DefaultRTTMFmt
	}
	if at.has("server") && !validHost(strings.TrimSuffix(r.Server, ".")) {
		l.errf(at.attr("server"), "Invalid syslog server", "server is a host name or IP address such as \"127.0.0.1\"; got %q. Set the port with the port attribute.", r.Server)
	}
	if r.Port != nil && l.inRange(*r.Port, 1, MaxPort, at.attr("port"), "port") {
		s.Port = *r.Port
	}
	str := func(v *string, dst *string, attr string, allowed []string) {
		if v == nil {
			return
		}
		if allowed != nil {
			l.enum(*v, allowed, at.attr(attr), attr)
		} else if *v == "" {
			l.errf(at.attr(attr), "Empty "+attr, "Give %s a value, or remove the attribute to use the default.", attr)
		}
		*dst = *v
	}
	str(r.Transport, &s.Transport, "transport", syslogTransports)
	str(r.Protocol, &s.Protocol, "protocol", syslogProtocols)
	str(r.Ident, &s.Ident, "ident", nil)
	str(r.Facility, &s.Facility, "facility", SyslogFacilities)
	str(r.Delivery, &s.Delivery, "delivery", syslogDeliveries)
	str(r.ProbeFmt, &s.ProbeFmt, "probe_fmt", nil)
	str(r.StatusFmt, &s.StatusFmt, "status_fmt", nil)
	if r.RTTMFmt != nil && !rttm {
		l.errf(at.name("rttm_fmt"), "Attribute not used", "rttm_fmt applies to rttm services only. Remove it.")
	} else {
		str(r.RTTMFmt, &s.RTTMFmt, "rttm_fmt", nil)
	}
	return s
}

func (l *loader) activeFailover(sc *serviceContext, r *rawActiveFailover) *ActiveFailover {
	at := src{r.Body, r.DefRange}
	a := &ActiveFailover{Service: l.service(sc, r.FQDN, r.FQDNRange, r.service(), at, false), FailoverMode: "ip"}
	if at.has("address") {
		if ip, ok := parseIP(r.Address); ok {
			a.Address = ip.String()
		} else if n := normalizeName(r.Address); validHostname(n) && strings.ContainsAny(strings.TrimSuffix(n, "."), "abcdefghijklmnopqrstuvwxyz_-") {
			a.Address = n
		} else {
			l.errf(at.attr("address"), "Invalid address", "address is the monitored primary: an IPv4 or IPv6 address, or an FQDN; got %q.", r.Address)
		}
	}
	modeOK := true
	if r.FailoverMode != nil {
		modeOK = l.enum(*r.FailoverMode, afoModes, at.attr("failover_mode"), "failover_mode")
		a.FailoverMode = *r.FailoverMode
	}
	if at.has("failover_data") && modeOK {
		a.FailoverData = l.failoverData(a.FailoverMode, r.FailoverData, at.attr("failover_data"), nil, "")
	}
	return a
}

// failoverData checks failover_data for its mode and returns its normal
// form. regions (the service's region codes) and self are used by the
// region mode only.
func (l *loader) failoverData(mode, data string, rng hcl.Range, regions map[string]bool, self string) string {
	switch mode {
	case "ip":
		ip, ok := parseIP(data)
		if !ok {
			l.errf(rng, "Invalid failover_data", "With failover_mode \"ip\", failover_data is an IPv4 or IPv6 address; got %q.", data)
			return data
		}
		return ip.String()
	case "cname":
		n := normalizeName(data)
		if _, isIP := parseIP(data); isIP || !validHostname(n) {
			l.errf(rng, "Invalid failover_data", "With failover_mode \"cname\", failover_data is a host name such as \"backup.example.net.\"; got %q.", data)
			return data
		}
		return n
	case "region":
		switch {
		case data == self:
			l.errf(rng, "Invalid failover_data", "A region cannot fail over to itself. Name another region of this service, such as \"global\".")
		case !regions[data]:
			l.errf(rng, "Invalid failover_data", "With failover_mode \"region\", failover_data names another region of this service; %q is not one.", data)
		}
		return data
	case "global":
		if data != "" && data != "global" {
			l.errf(rng, "Invalid failover_data", "With failover_mode \"global\", failover_data is empty or \"global\"; got %q.", data)
		}
		return ""
	}
	return data
}

func (l *loader) gslb(sc *serviceContext, r *rawGSLB) *GSLB {
	at := src{r.Body, r.DefRange}
	return &GSLB{
		Service: l.service(sc, r.FQDN, r.FQDNRange, r.service(), at, false),
		Regions: l.regions(sc, r.Regions, false, r.DefRange),
	}
}

func (l *loader) rttm(sc *serviceContext, r *rawRTTM) *RTTM {
	at := src{r.Body, r.DefRange}
	t := &RTTM{
		Service: l.service(sc, r.FQDN, r.FQDNRange, r.service(), at, true),
		Regions: l.regions(sc, r.Regions, true, r.DefRange),
	}
	if m, ok := oneBlock(l, r.PerfMonitors, "performance_monitor", monitorDef, r.DefRange, false); ok {
		t.PerformanceMonitor = l.monitor(m, false)
	}
	return t
}

// regions converts the regions of a gslb or rttm service.
func (l *loader) regions(sc *serviceContext, raws []*rawRegion, rttm bool, svcDef hcl.Range) []*Region {
	seen := names{}
	defined := map[string]bool{}
	for _, r := range raws {
		defined[r.Code] = true
	}
	var out []*Region
	var global *Region
	for _, r := range raws {
		reg := l.region(sc, r, rttm, defined)
		if !l.dup(seen, r.Code, r.CodeRange, "Duplicate region", "Region "+strconv.Quote(r.Code)) {
			continue
		}
		if reg.Code == "global" {
			global = reg
		}
		out = append(out, reg)
	}
	if global == nil {
		kind := "gslb"
		if rttm {
			kind = "rttm"
		}
		l.errf(svcDef, "Missing global region", "Every %s service needs a region \"global\" { pool ... } block: it answers clients outside every other region.", kind)
		return out
	}
	for _, reg := range out {
		if reg.Autopopulate && reg != global {
			reg.Pool = make([]*PoolEntry, len(global.Pool))
			for i, p := range global.Pool {
				c := *p
				reg.Pool[i] = &c
			}
		}
	}
	return out
}

func (l *loader) region(sc *serviceContext, r *rawRegion, rttm bool, defined map[string]bool) *Region {
	at := src{r.Body, r.DefRange}
	reg := &Region{Code: r.Code, ServeCount: 1, MinHealthy: 1, FailoverMode: "global", APMC: 1, EPMC: 1, DefRange: r.DefRange}
	if !sc.regionCodes[r.Code] {
		l.errf(r.CodeRange, "Unknown region code", "%q is not a region. Use one of %s, or define it in dns.region_map.", r.Code, quoteList(BuiltinRegions))
	}
	if !rttm {
		for _, a := range []string{"autopopulate", "ep", "apmc", "epmc"} {
			if at.has(a) {
				l.errf(at.name(a), "Unsupported argument", "%s applies to rttm regions only. Remove it, or make the service an rttm.", a)
			}
		}
	}
	// serve_count is at least 1; 0 is meaningful for the others
	// (min_healthy, apmc, epmc 0: never fail over; ep 0: no limit).
	count := func(v *int, dst *int, attr string) {
		lo := 0
		if attr == "serve_count" {
			lo = 1
		}
		if v != nil && l.inRange(*v, lo, MaxRegionCount, at.attr(attr), attr) {
			*dst = *v
		}
	}
	count(r.ServeCount, &reg.ServeCount, "serve_count")
	count(r.MinHealthy, &reg.MinHealthy, "min_healthy")
	if r.MinHealthy != nil && r.APMC == nil {
		reg.APMC = reg.MinHealthy
	}
	count(r.EP, &reg.EP, "ep")
	count(r.APMC, &reg.APMC, "apmc")
	count(r.EPMC, &reg.EPMC, "epmc")
	if r.Autopopulate != nil && rttm {
		reg.Autopopulate = *r.Autopopulate
		if reg.Autopopulate && r.Code == "global" {
			l.errf(at.attr("autopopulate"), "Invalid autopopulate", "The global region is the source of autopopulated pools: give it pool blocks and remove autopopulate.")
		}
	}
	modeOK := true
	if r.FailoverMode != nil {
		modeOK = l.enum(*r.FailoverMode, regionModes, at.attr("failover_mode"), "failover_mode")
		reg.FailoverMode = *r.FailoverMode
	}
	data := ""
	if r.FailoverData != nil {
		data = *r.FailoverData
	}
	if modeOK && (r.FailoverData != nil || reg.FailoverMode != "global") {
		if r.FailoverData == nil {
			l.errf(at.attr("failover_mode"), "Missing failover_data", "failover_mode %q needs failover_data: %s.", reg.FailoverMode, map[string]string{
				"ip": "the backup IP address", "cname": "the CNAME target", "region": "the code of the region to fail over to",
			}[reg.FailoverMode])
		} else {
			reg.FailoverData = l.failoverData(reg.FailoverMode, data, at.attr("failover_data"), defined, r.Code)
		}
	}

	if len(r.Pools) == 0 && !reg.Autopopulate && (r.Code != "global" || r.Autopopulate == nil || !*r.Autopopulate) {
		l.errf(r.DefRange, "Empty region", "Region %q has no pool block. Add at least one pool \"ADDRESS\" { } block%s.", r.Code, map[bool]string{true: ", or set autopopulate = true", false: ""}[rttm])
	}
	addrs := names{}
	for _, p := range r.Pools {
		e := l.poolEntry(p)
		if l.dup(addrs, e.Address, p.AddressRange, "Duplicate pool address", "Address "+strconv.Quote(e.Address)+" in region "+strconv.Quote(r.Code)) {
			reg.Pool = append(reg.Pool, e)
		}
	}
	return reg
}

func (l *loader) poolEntry(r *rawPool) *PoolEntry {
	at := src{r.Body, r.DefRange}
	e := &PoolEntry{Address: r.Address, Weight: 1, ServeMode: ServeObey, DefRange: r.DefRange}
	if ip, ok := parseIP(r.Address); ok {
		e.Address = ip.String()
	} else if isPoolHostName(r.Address) {
		e.Address = strings.ToLower(r.Address)
	} else {
		l.errf(r.AddressRange, "Invalid pool address", "A pool is labelled with an IPv4 or IPv6 address, such as pool \"192.0.2.10\", or a host name with a trailing dot, such as pool \"lb-1.cdn.example.net.\"; got %q.", r.Address)
	}
	if r.Label != nil {
		e.Label = *r.Label
	}
	if r.Weight != nil && l.inRange(*r.Weight, 1, MaxPoolWeight, at.attr("weight"), "weight") {
		e.Weight = *r.Weight
	}
	if r.ServeMode != nil {
		l.enum(*r.ServeMode, serveModes, at.attr("serve_mode"), "serve_mode")
		e.ServeMode = *r.ServeMode
	}
	return e
}

// isPoolHostName reports whether a pool label is an absolute host name: a
// trailing dot (so a mistyped address is never taken for a name), valid
// labels, and not all digits and dots.
func isPoolHostName(s string) bool {
	n := strings.ToLower(s)
	return strings.HasSuffix(n, ".") && n != "." && validHostname(n) &&
		strings.ContainsAny(strings.TrimSuffix(n, "."), "abcdefghijklmnopqrstuvwxyz_-")
}

// shortText checks the "less than 255 characters" limit.
func (l *loader) shortText(v *string, at src, attr string) string {
	if v == nil {
		return ""
	}
	if n := utf8.RuneCountInString(*v); n >= maxDescriptionLen {
		l.errf(at.attr(attr), "Text too long", "%s must be shorter than %d characters; it has %d.", attr, maxDescriptionLen, n)
	}
	return *v
}

func (l *loader) sfPool(sc *serviceContext, r *rawSFPool) *SFPool {
	at := src{r.Body, r.DefRange}
	p := &SFPool{
		FQDN: l.fqdn(sc, r.FQDN, r.FQDNRange), RRType: "A", TTL: defaultSFTTL,
		LiveRecordState: "NOT_FORCED", RegionFailureSensitivity: "HIGH", DefRange: r.DefRange,
	}
	typeOK := true
	if r.RRType != nil {
		typeOK = l.enum(*r.RRType, rrTypes, at.attr("rrtype"), "rrtype")
		p.RRType = *r.RRType
	}
	if r.TTL != nil {
		p.TTL = l.recordTTL(*r.TTL, at.attr("ttl"))
	}
	if at.has("rdata") {
		p.RData = l.familyAddr(r.RData, at.attr("rdata"), p.RRType, typeOK, "rdata")
	}
	p.PoolDescription = l.shortText(r.PoolDescription, at, "pool_description")
	p.LiveRecordDescription = l.shortText(r.LiveRecordDescription, at, "live_record_description")
	if r.LiveRecordState != nil {
		l.enum(*r.LiveRecordState, liveRecordStates, at.attr("live_record_state"), "live_record_state")
		p.LiveRecordState = *r.LiveRecordState
	}
	if r.RegionFailureSensitivity != nil {
		l.enum(*r.RegionFailureSensitivity, sensitivities, at.attr("region_failure_sensitivity"), "region_failure_sensitivity")
		p.RegionFailureSensitivity = *r.RegionFailureSensitivity
	}
	p.ContactNickname = l.contactRef(sc, r.Contact, at)
	if m, ok := oneBlock(l, r.Monitors, "monitor", func(m *rawSFMonitor) hcl.Range { return m.DefRange }, r.DefRange, true); ok {
		p.Monitor = l.sfMonitor(m)
	}
	if b, ok := oneBlock(l, r.Backups, "backup_record", func(b *rawBackupRecord) hcl.Range { return b.DefRange }, r.DefRange, false); ok {
		bat := src{b.Body, b.DefRange}
		p.Backup = &BackupRecord{Description: l.shortText(b.Description, bat, "description")}
		if bat.has("rdata") {
			p.Backup.RData = l.familyAddr(b.RData, bat.attr("rdata"), p.RRType, typeOK, "rdata")
		}
	}
	return p
}

// familyAddr checks that s is one address of rrtype's family.
func (l *loader) familyAddr(s string, rng hcl.Range, rrtype string, typeOK bool, attr string) string {
	ip, ok := parseIP(s)
	if !ok {
		l.errf(rng, "Invalid "+attr, "%s is exactly one IPv4 (A) or IPv6 (AAAA) address; got %q.", attr, s)
		return s
	}
	if typeOK && (rrtype == "A") != ip.Is4() {
		l.errf(rng, "Address family mismatch", "rrtype is %s but %q is not an %s address. Use an address of the pool's family, or change rrtype.", rrtype, s, map[bool]string{true: "IPv4", false: "IPv6"}[rrtype == "A"])
	}
	return ip.String()
}

func (l *loader) sfMonitor(r *rawSFMonitor) *SFMonitor {
	at := src{r.Body, r.DefRange}
	m := &SFMonitor{Method: "GET", URL: r.URL, Interval: defaultSFInterval}
	if r.Method != nil {
		l.enum(*r.Method, sfMethods, at.attr("method"), "method")
		m.Method = *r.Method
	}
	if at.has("url") {
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			l.errf(at.attr("url"), "Invalid url", "url is a full http or https URL such as \"http://192.0.2.40/health\"; got %q.", r.URL)
		}
	}
	m.TransmittedData = l.shortText(r.TransmittedData, at, "transmitted_data")
	m.SearchString = l.shortText(r.SearchString, at, "search_string")
	if r.Interval != nil {
		if d, ok := l.duration(*r.Interval, at.attr("interval"), "interval"); ok {
			if d < time.Second {
				l.errf(at.attr("interval"), "Interval too short", "interval must be at least \"1s\"; got %q.", *r.Interval)
			}
			m.Interval = d
		}
	}
	m.Timeout = l.timeout(r.Timeout, at, m.Interval)
	m.Retries = l.retries(r.Retries, at)
	return m
}

func (l *loader) cluster(sc *serviceContext, r *rawCluster) *Cluster {
	c := &Cluster{Name: r.Name, DefRange: r.DefRange}
	if !clusterNameRE.MatchString(r.Name) {
		l.errf(r.NameRange, "Invalid cluster name", "Cluster names are 1-64 characters of A-Z, a-z, 0-9, -, . and _; got %q.", r.Name)
	}
	seen := names{}
	for _, rs := range r.Services {
		s := l.clusterService(sc, rs)
		if l.dup(seen, s.Name, rs.NameRange, "Duplicate cluster service", "Service "+strconv.Quote(s.Name)+" of cluster "+strconv.Quote(r.Name)) {
			c.Services = append(c.Services, s)
		}
	}
	return c
}

func (l *loader) clusterService(sc *serviceContext, r *rawClusterService) *ClusterService {
	at := src{r.Body, r.DefRange}
	s := &ClusterService{Name: r.Name, Protocol: "tcp", DefRange: r.DefRange}
	if !labelRE.MatchString(r.Name) {
		l.errf(r.NameRange, "Invalid service name", "A cluster service name is one DNS label (it becomes _NAME._PROTOCOL.FQDN), such as \"https\"; got %q.", r.Name)
	}
	if at.has("fqdn") {
		s.FQDN = l.fqdn(sc, r.FQDN, at.attr("fqdn"))
	}
	if r.Protocol != nil {
		if !labelRE.MatchString(*r.Protocol) {
			l.errf(at.attr("protocol"), "Invalid protocol", "protocol is the SRV protocol label, such as \"tcp\" or \"udp\"; got %q.", *r.Protocol)
		}
		s.Protocol = strings.ToLower(*r.Protocol)
	}
	if m, ok := oneBlock(l, r.Monitors, "monitor", monitorDef, r.DefRange, true); ok {
		s.Monitor = l.monitor(m, true)
	}
	s.TTL = l.serviceTTL(r.TTL, at, s.Monitor)
	if len(r.RealServices) == 0 {
		l.errf(r.DefRange, "No real service", "Service %q has no real_service block. Add at least one.", r.Name)
	}
	seen := names{}
	var fallback *rawRealService
	for _, rr := range r.RealServices {
		rs := l.realService(rr)
		if !l.dup(seen, rs.Name, rr.NameRange, "Duplicate real service", "Real service "+strconv.Quote(rs.Name)) {
			continue
		}
		if rs.Fallback {
			rat := src{rr.Body, rr.DefRange}
			if fallback != nil {
				l.errf(rat.attr("fallback"), "Second fallback", "Real service %q is already the fallback of this service (%s); only one may be. Remove one fallback = true.", fallback.Name, where(fallback.DefRange))
			} else {
				fallback = rr
			}
			if !rs.Enabled {
				l.errf(rat.attr("enabled"), "Disabled fallback", "The fallback real service must be enabled. Remove enabled = false, or the fallback.")
			}
		}
		s.RealServices = append(s.RealServices, rs)
	}
	return s
}

func (l *loader) realService(r *rawRealService) *RealService {
	at := src{r.Body, r.DefRange}
	rs := &RealService{Name: r.Name, IPAddress: r.IPAddress, Port: r.Port, Weight: 1, Enabled: true, DefRange: r.DefRange}
	if !labelRE.MatchString(r.Name) {
		l.errf(r.NameRange, "Invalid real service name", "A real service name is one DNS label (the SRV target is NAME.FQDN), such as \"web1\"; got %q.", r.Name)
	}
	if at.has("ip_address") {
		if ip, ok := parseIP(r.IPAddress); ok {
			rs.IPAddress = ip.String()
		} else {
			l.errf(at.attr("ip_address"), "Invalid ip_address", "ip_address is an IPv4 or IPv6 address such as \"192.0.2.51\"; got %q.", r.IPAddress)
		}
	}
	if at.has("port") {
		l.inRange(r.Port, 1, MaxPort, at.attr("port"), "port")
	}
	if r.Weight != nil && l.inRange(*r.Weight, 0, MaxRealServiceWeight, at.attr("weight"), "weight") {
		rs.Weight = *r.Weight
	}
	if r.Enabled != nil {
		rs.Enabled = *r.Enabled
	}
	if r.Fallback != nil {
		rs.Fallback = *r.Fallback
	}
	return rs
}
