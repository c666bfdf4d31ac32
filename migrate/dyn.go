package migrate

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Dyn imports what Dyn's REST API returned for GET /REST/Failover/...,
// /REST/GSLB/... and /REST/RTTM/... with detail Y: the whole envelope
// {"status", "data", "job_id", "msgs"}, the bare data object (one service or
// a list of them), or a JSON list of either. Values are as Dyn sent them:
// "Y"/"N", monitor intervals in minutes, timeouts in seconds, notify_events
// as a comma string, numbers as JSON numbers or strings.
func Dyn(files []File) ([]byte, error) {
	im := newImporter("dyn", files)
	for _, f := range files {
		if v, ok := parse(im.doc(f), f.Data); ok {
			im.dynDocument(v, true)
		}
	}
	return im.finish()
}

// The region codes Dyn accepted, which are failoverd's built-in ones.
var dynRegions = []string{"US West", "US Central", "US East", "EU West", "EU Central", "EU East", "Asia", "global"}

var (
	protocols    = []string{"HTTP", "HTTPS", "PING", "SMTP", "TCP", "NONE"}
	events       = []string{"ip", "svc", "nosrv"}
	facilities   = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
	afoModes     = []string{"ip", "cname"}
	regionModes  = []string{"ip", "cname", "region", "global"}
	serveModes   = []string{"always", "obey", "remove", "no"}
	dynDeliverys = []string{"change", "all"}
)

// syslogDefaults are the values Dyn filled in when a service had no syslog
// server; they say nothing, so without a server they are not kept.
var syslogDefaults = map[string]string{
	"syslog_port":       "514",
	"syslog_ident":      "dynect",
	"syslog_facility":   "daemon",
	"syslog_delivery":   "change",
	"syslog_probe_fmt":  "%hos probe %tim: %sit %sta %rti%msg%adr",
	"syslog_status_fmt": "%hos status %tim: %reg %sta %ser %rda",
	"syslog_rttm_fmt":   "%hos rttm %tim: %reg %sta %med %rts",
}

func (im *importer) dynDocument(v value, top bool) {
	if l, ok := v.elems(); ok && top {
		if len(l) == 0 {
			v.fail("an empty list: nothing to import")
		}
		for _, e := range l {
			im.dynDocument(e, false)
		}
		return
	}
	o, ok := v.object()
	if !ok {
		v.fail("%s is not a Dyn service, a Dyn API reply, or a list of them", v.brief())
		return
	}
	if o.has("data") && !o.has("fqdn") {
		im.dynEnvelope(o)
		return
	}
	im.dynService(o)
}

// dynEnvelope reads a whole API reply. Its status, job_id and msgs describe
// the call, not the service, so only a failed call is reported.
func (im *importer) dynEnvelope(o *object) {
	if status, ok := o.text("status"); ok && status != "success" {
		var info []string
		if msgs, ok := o.array("msgs"); ok {
			for _, m := range msgs {
				if mo, ok := m.object(); ok {
					if s, ok := mo.m["INFO"].(string); ok && s != "" {
						info = append(info, s)
					}
				}
			}
		}
		detail := ""
		if len(info) > 0 {
			detail = ": " + strings.Join(info, "; ")
		}
		o.key("status").fail("the call that produced this export did not succeed (%s)%s", quote(status), detail)
		return
	}
	data, _ := o.get("data")
	if l, ok := data.elems(); ok {
		if len(l) == 0 {
			data.fail("an empty list: nothing to import")
		}
		for _, e := range l {
			if so, ok := e.object(); ok {
				im.dynService(so)
			} else {
				e.fail("%s is not a Dyn service", e.brief())
			}
		}
		return
	}
	if so, ok := data.object(); ok {
		im.dynService(so)
		return
	}
	data.fail("%s is not a Dyn service or a list of them", data.brief())
}

// dynKind tells the service kinds apart by the fields only each has.
func dynKind(o *object) (string, bool) {
	if o.has("performance_monitor") || o.has("syslog_rttm_fmt") {
		return "rttm", true
	}
	if o.has("region") {
		if l, ok := o.m["region"].([]any); ok {
			for _, r := range l {
				if m, ok := r.(map[string]any); ok {
					for _, k := range []string{"autopopulate", "ep", "apmc", "epmc"} {
						if m[k] != nil {
							return "rttm", true
						}
					}
				}
			}
		}
		return "gslb", true
	}
	if o.has("address") || o.has("failover_mode") || o.has("failover_data") {
		return "active_failover", true
	}
	return "", false
}

func (im *importer) dynService(o *object) {
	before := len(im.errs)
	zs, okZ := o.text("zone")
	if !okZ {
		o.key("zone").fail("missing: the zone the service is in")
	}
	fs, okF := o.text("fqdn")
	if !okF {
		o.key("fqdn").fail("missing: the name the service answers for")
	}
	kind, okK := dynKind(o)
	if !okK {
		o.fail("not a Dyn service: no address (Active Failover) and no region (GSLB, RTTM)")
	}
	if !okZ || !okF || !okK {
		return
	}
	zone, okZ := readZone(o.key("zone"), zs)
	if !okZ {
		return
	}
	fqdn, okF := serviceName(o.key("fqdn"), fs, zone)
	if !okF || !im.claim(o.value, fqdn) {
		return
	}

	b := &block{typ: kind, labels: []string{fqdn}}
	if kind == "active_failover" {
		dynFailover(o, b)
	}
	regions, hasRegions := o.array("region")

	// The monitor comes first: the ttl is checked against its interval.
	var mon *block
	var interval time.Duration
	if mo, ok := o.child("monitor"); ok {
		mon, interval = dynMonitor(mo, "monitor")
	} else {
		o.key("monitor").fail("missing: the service's health monitor")
	}
	if v, ok := o.yes("auto_recover"); ok {
		b.flag("auto_recover", v)
	}
	if n, ok := o.integer("recovery_delay", "a whole number of intervals"); ok {
		if n < 0 {
			o.key("recovery_delay").fail("%d is negative", n)
		} else {
			b.num("recovery_delay", n)
		}
	}
	if ttl, ok := o.integer("ttl", "a whole number of seconds"); ok {
		half := int(interval / time.Second / 2)
		switch {
		case ttl < 0 || ttl > maxTTL:
			o.key("ttl").fail("%d is not a ttl from 0 to %d", ttl, maxTTL)
		case interval > 0 && ttl > half:
			b.notImported("ttl = %d: a ttl is at most half the monitor interval (%s) here, so it is %d", ttl, minutes(interval), half)
			b.num("ttl", half)
		default:
			b.num("ttl", ttl)
		}
	}
	dynNotifyEvents(o, b)
	if nick, ok := o.text("contact_nickname"); ok && strings.TrimSpace(nick) != "" {
		b.str("contact_nickname", nick)
		im.contacts[nick] = true
	}
	if v, ok := o.yes("active"); ok {
		b.flag("active", v)
	}
	if mon != nil {
		b.items = append(b.items, mon)
	}
	if kind == "rttm" {
		if po, ok := o.child("performance_monitor"); ok && len(po.m) > 0 {
			pm, _ := dynMonitor(po, "performance_monitor")
			b.items = append(b.items, pm)
		}
	}
	dynSyslog(o, b, kind)
	o.keepRest(b)
	if kind != "active_failover" {
		if !hasRegions || len(regions) == 0 {
			o.key("region").fail("missing: a %s service needs its regions", strings.ToUpper(kind))
		} else {
			dynRegionList(o.key("region"), regions, b, kind == "rttm")
		}
	}
	if len(im.errs) == before {
		im.zone(zoneLabel(zone))
		im.root.heading("from %s, %s", filepath.Base(o.d.file), o.path)
		im.root.items = append(im.root.items, b)
	}
}

// dynFailover reads the fields only Active Failover has.
func dynFailover(o *object, b *block) {
	if s, ok := o.text("address"); !ok {
		o.key("address").fail("missing: the monitored primary address")
	} else if a, _, ok := address(s); !ok {
		o.key("address").fail("%s: not an IP address or host name", quote(s))
	} else {
		b.str("address", a)
	}
	mode := "ip"
	if s, ok := o.text("failover_mode"); ok {
		mode = strings.ToLower(s)
		if !slices.Contains(afoModes, mode) {
			o.key("failover_mode").fail("%s is not one of %s", quote(s), strings.Join(afoModes, ", "))
			return
		}
		b.str("failover_mode", mode)
	}
	data, ok := o.text("failover_data")
	if !ok {
		o.key("failover_data").fail("missing: the backup address or CNAME target")
		return
	}
	if fd, ok := failoverData(o.key("failover_data"), mode, data); ok {
		b.str("failover_data", fd)
	}
}

// failoverData checks failover_data of the ip and cname modes.
func failoverData(v value, mode, data string) (string, bool) {
	a, isIP, ok := address(data)
	switch {
	case mode == "ip" && (!ok || !isIP):
		v.fail("%s is not an IP address (failover_mode ip)", quote(data))
		return "", false
	case mode == "cname" && (!ok || isIP):
		v.fail("%s is not a host name (failover_mode cname)", quote(data))
		return "", false
	}
	return a, true
}

func minutes(d time.Duration) string {
	if d%time.Minute == 0 {
		return fmt.Sprintf("%dm", d/time.Minute)
	}
	return d.String()
}

// dynMonitor reads a Dyn monitor: the interval in minutes, the timeout in
// seconds. Fields the protocol does not use (Dyn kept them) are comments.
func dynMonitor(o *object, typ string) (*block, time.Duration) {
	m := &block{typ: typ}
	proto, ok := o.text("protocol")
	if !ok {
		o.key("protocol").fail("missing: the protocol to monitor")
		return m, 0
	}
	proto = strings.ToUpper(proto)
	if !slices.Contains(protocols, proto) {
		o.key("protocol").fail("%s is not one of %s", quote(proto), strings.Join(protocols, ", "))
		return m, 0
	}
	m.str("protocol", proto)
	var interval time.Duration
	if n, ok := o.integer("interval", "a whole number of minutes"); !ok {
		if !o.has("interval") {
			o.key("interval").fail("missing: how often to probe, in minutes")
		}
	} else if n < 1 {
		o.key("interval").fail("%d is not a number of minutes of 1 or more", n)
	} else {
		interval = time.Duration(n) * time.Minute
		m.str("interval", minutes(interval))
	}
	if n, ok := o.integer("retries", "a whole number"); ok {
		if n < 0 || n > 10 {
			m.notImported("retries = %d: failoverd retries 0 to 10 times", n)
		} else {
			m.num("retries", n)
		}
	}
	if n, ok := o.integer("timeout", "a whole number of seconds"); ok {
		t := time.Duration(n) * time.Second
		switch {
		case n < 1:
			m.notImported("timeout = %d: a timeout is at least 100ms", n)
		case interval > 0 && t >= interval:
			m.notImported("timeout = %d: a timeout is less than the interval (%s)", n, minutes(interval))
		default:
			m.str("timeout", t.String())
		}
	}
	http := proto == "HTTP" || proto == "HTTPS"
	if n, ok := o.integer("port", "a port number"); ok {
		switch {
		case proto == "PING" || proto == "NONE":
			m.notImported("port = %d: a %s monitor has no port", n, proto)
		case n < 1 || n > 65535:
			m.notImported("port = %d: not a port from 1 to 65535", n)
		default:
			m.num("port", n)
		}
	}
	for _, k := range []string{"path", "host", "header", "expected"} {
		s, ok := o.text(k)
		if !ok {
			continue
		}
		switch {
		case !http && (k != "expected" || proto != "SMTP"):
			m.notImported("%s = %s: a %s monitor does not use it", k, quote(s), proto)
		case k == "path" && strings.ContainsAny(s, " \t\r\n"):
			m.notImported("path = %s: a path has no spaces", quote(s))
		case k == "host" && strings.ContainsAny(s, " \t\r\n/"):
			m.notImported("host = %s: not a host name", quote(s))
		case k == "header" && !headerLines(s):
			m.notImported("header = %s: each line of a header is \"Name: value\"", quote(s))
		default:
			m.str(k, s)
		}
	}
	o.keepRest(m)
	return m, interval
}

// headerLines reports whether every line of s is "Name: value".
func headerLines(s string) bool {
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, _, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(name, " \t") {
			return false
		}
	}
	return true
}

// dynNotifyEvents reads notify_events: a comma string as Dyn sent it, or a
// list. An empty value means no e-mail at all, which is kept as [].
func dynNotifyEvents(o *object, b *block) {
	v, ok := o.get("notify_events")
	if !ok {
		return
	}
	var raw []string
	switch x := v.v.(type) {
	case string:
		raw = strings.Split(x, ",")
	case []any:
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				v.fail("%s is not a list of event names", v.brief())
				return
			}
			raw = append(raw, s)
		}
	default:
		v.fail("%s is not a comma-separated list of events", v.brief())
		return
	}
	list := []string{}
	for _, e := range raw {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == "" || slices.Contains(list, e):
		case slices.Contains(events, e):
			list = append(list, e)
		default:
			b.notImported("notify_events %s: failoverd's events are %s", quote(e), strings.Join(events, ", "))
		}
	}
	b.list("notify_events", list)
}

// dynSyslog turns the flat syslog_* fields into a syslog block.
func dynSyslog(o *object, b *block, kind string) {
	keys := []string{"syslog_port", "syslog_ident", "syslog_facility", "syslog_delivery", "syslog_probe_fmt", "syslog_status_fmt", "syslog_rttm_fmt"}
	server, ok := o.text("syslog_server")
	if !ok {
		for _, k := range keys {
			if s, ok := o.text(k); ok && s != syslogDefaults[k] {
				b.notImported("%s = %s: there is no syslog_server, so no syslog", k, quote(s))
			}
		}
		return
	}
	server = strings.TrimSpace(server)
	if _, _, ok := address(server); !ok {
		o.key("syslog_server").fail("%s: not an IP address or host name", quote(server))
		return
	}
	s := b.child("syslog")
	s.str("server", server)
	if n, ok := o.integer("syslog_port", "a port number"); ok {
		if n < 1 || n > 65535 {
			s.notImported("syslog_port = %d: not a port from 1 to 65535", n)
		} else {
			s.num("port", n)
		}
	}
	if v, ok := o.text("syslog_ident"); ok {
		s.str("ident", v)
	}
	enum := func(k, attr string, allowed []string) {
		if v, ok := o.text(k); ok {
			if l := strings.ToLower(v); slices.Contains(allowed, l) {
				s.str(attr, l)
			} else {
				s.notImported("%s = %s: not one of %s", k, quote(v), strings.Join(allowed, ", "))
			}
		}
	}
	enum("syslog_facility", "facility", facilities)
	enum("syslog_delivery", "delivery", dynDeliverys)
	for _, k := range []string{"syslog_probe_fmt", "syslog_status_fmt", "syslog_rttm_fmt"} {
		v, ok := o.text(k)
		switch {
		case !ok:
		case k == "syslog_rttm_fmt" && kind != "rttm":
			s.notImported("%s = %s: only rttm services send rttm messages", k, quote(v))
		default:
			s.str(strings.TrimPrefix(k, "syslog_"), v)
		}
	}
}

// dynRegion is one region of a GSLB or RTTM service being read.
type dynRegion struct {
	o    *object
	code string
}

func dynRegionList(at value, list []value, svc *block, rttm bool) {
	var regions []dynRegion
	codes := map[string]bool{}
	for _, v := range list {
		o, ok := v.object()
		if !ok {
			v.fail("%s is not a region", v.brief())
			continue
		}
		s, ok := o.text("region_code")
		if !ok {
			o.key("region_code").fail("missing: the region's code")
			continue
		}
		code, ok := regionCode(s)
		switch {
		case !ok:
			o.key("region_code").fail("%s is not a Dyn region code (%s)", quote(s), strings.Join(dynRegions, ", "))
			continue
		case codes[code]:
			o.key("region_code").fail("a second region %s", quote(code))
			continue
		}
		codes[code] = true
		regions = append(regions, dynRegion{o, code})
	}
	if len(regions) == len(list) && !codes["global"] {
		at.fail("no \"global\" region: failoverd answers clients outside every other region from it, so one is needed")
	}
	for _, r := range regions {
		dynRegionBlock(r, svc, codes, rttm)
	}
}

// regionCode finds the Dyn region code s names, whatever its case.
func regionCode(s string) (string, bool) {
	for _, c := range dynRegions {
		if strings.EqualFold(strings.TrimSpace(s), c) {
			return c, true
		}
	}
	return "", false
}

func dynRegionBlock(r dynRegion, svc *block, codes map[string]bool, rttm bool) {
	o := r.o
	b := svc.child("region", r.code)
	auto := false
	if rttm {
		if v, ok := o.yes("autopopulate"); ok && v {
			if r.code == "global" {
				o.key("autopopulate").fail("the global region is where autopopulated regions copy their pool from; it cannot be autopopulated itself")
			}
			auto = true
			b.flag("autopopulate", true)
		}
		for _, k := range []string{"ep", "apmc", "epmc"} {
			if n, ok := o.integer(k, "a whole number"); ok {
				if n < 0 {
					o.key(k).fail("%d is negative", n)
				} else {
					b.num(k, n)
				}
			}
		}
	}
	if n, ok := o.integer("serve_count", "a whole number"); ok {
		if n < 1 {
			o.key("serve_count").fail("%d: a region serves at least 1 record", n)
		} else {
			b.num("serve_count", n)
		}
	}
	if n, ok := o.integer("min_healthy", "a whole number"); ok {
		if n < 0 {
			o.key("min_healthy").fail("%d is negative", n)
		} else {
			b.num("min_healthy", n)
		}
	}
	dynRegionFailover(r, b, codes)

	var pools []*block
	seen := map[string]bool{}
	entries, _ := o.array("pool")
	for _, v := range entries {
		if p := dynPoolEntry(v, seen, auto, b); p != nil {
			pools = append(pools, p)
		}
	}
	if len(seen) == 0 && !auto && len(entries) == len(pools) {
		o.key("pool").fail("no address: a region needs at least one pool entry")
	}
	o.keepRest(b)
	for _, p := range pools {
		b.items = append(b.items, p)
	}
}

func dynRegionFailover(r dynRegion, b *block, codes map[string]bool) {
	o := r.o
	mode := "global"
	if s, ok := o.text("failover_mode"); ok {
		mode = strings.ToLower(s)
		if !slices.Contains(regionModes, mode) {
			o.key("failover_mode").fail("%s is not one of %s", quote(s), strings.Join(regionModes, ", "))
			return
		}
		b.str("failover_mode", mode)
	}
	data, hasData := o.text("failover_data")
	at := o.key("failover_data")
	switch {
	case mode == "global":
		if hasData && !strings.EqualFold(data, "global") {
			b.notImported("failover_data = %s: failover_mode global takes no failover_data", quote(data))
		}
	case !hasData:
		at.fail("missing: failover_mode %s needs failover_data", mode)
	case mode == "region":
		code, ok := regionCode(data)
		switch {
		case !ok || !codes[code]:
			at.fail("%s is not another region of this service", quote(data))
		case code == r.code:
			at.fail("a region cannot fail over to itself")
		default:
			b.str("failover_data", code)
		}
	default:
		if fd, ok := failoverData(at, mode, data); ok {
			b.str("failover_data", fd)
		}
	}
}

// dynPoolEntry reads one pool entry. In an autopopulated region the pool is
// the global region's, so the entry is kept as a comment only.
func dynPoolEntry(v value, seen map[string]bool, auto bool, region *block) *block {
	o, ok := v.object()
	if !ok {
		v.fail("%s is not a pool entry", v.brief())
		return nil
	}
	s, ok := o.text("address")
	if !ok {
		o.key("address").fail("missing: the entry's IP address or host name")
		return nil
	}
	addr, _, ok := address(s)
	if !ok {
		o.key("address").fail("%s: not an IP address or host name", quote(s))
		return nil
	}
	if seen[addr] {
		o.key("address").fail("%s is already in this region's pool", addr)
		return nil
	}
	seen[addr] = true
	if auto {
		region.notImported("pool %s: an autopopulated region serves the global region's pool", quote(addr))
		return nil
	}
	p := &block{typ: "pool", labels: []string{addr}}
	if label, ok := o.text("label"); ok {
		p.str("label", label)
	}
	if n, ok := o.integer("weight", "a whole number"); ok {
		if n < 1 || n > 15 {
			o.key("weight").fail("%d is not a weight from 1 to 15", n)
		} else {
			p.num("weight", n)
		}
	}
	if s, ok := o.text("serve_mode"); ok {
		if m := strings.ToLower(s); slices.Contains(serveModes, m) {
			p.str("serve_mode", m)
		} else {
			o.key("serve_mode").fail("%s is not one of %s", quote(s), strings.Join(serveModes, ", "))
		}
	}
	// The monitoring log is history, not configuration; one line says what
	// was left behind.
	if l, ok := o.array("log"); ok && len(l) > 0 {
		p.notImported("log: %s of monitoring history", plural(len(l), "entry", "entries"))
	}
	o.keepRest(p)
	return p
}
