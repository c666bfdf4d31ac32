package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Translation between Dyn's service objects (Failover, GSLB, RTTM as the
// Dyn REST API shapes them) and failoverd's service blocks in HCL's JSON
// syntax, the body of PUT /v1/services/{fqdn}.

// dynRegionCodes are the only region codes Dyn's clients accept.
var dynRegionCodes = []string{"US West", "US Central", "US East", "EU West", "EU Central", "EU East", "Asia", "global"}

// dynKinds maps the Dyn resource names to failoverd's service kinds.
var dynKinds = map[string]string{"Failover": KindActiveFailover, "GSLB": KindGSLB, "RTTM": KindRTTM}

// dynMonitorKeys are the monitor keys Dyn's clients accept back (dyn-python
// builds its monitor objects from exactly these).
var dynMonitorKeys = []string{"protocol", "interval", "retries", "timeout", "port", "path", "host", "header", "expected"}

// dynSyslogKeys map Dyn's flat syslog_* fields to the syslog block.
var dynSyslogKeys = map[string]string{
	"syslog_server": "server", "syslog_port": "port", "syslog_ident": "ident", "syslog_facility": "facility",
	"syslog_delivery": "delivery", "syslog_probe_fmt": "probe_fmt", "syslog_status_fmt": "status_fmt", "syslog_rttm_fmt": "rttm_fmt",
}

// decodeJSON decodes with numbers kept as json.Number.
func decodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}

// hclBlocks reads a block-type value of HCL's JSON syntax, an object of
// labels or an array of such objects, as one object of labels.
func hclBlocks(v any) map[string]any {
	out := map[string]any{}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			out[k] = e
		}
	case []any:
		for _, e := range x {
			for k, b := range hclBlocks(e) {
				out[k] = b
			}
		}
	}
	return out
}

// hclBlock reads a block without labels: an object, or an array of one.
func hclBlock(v any) map[string]any {
	switch x := v.(type) {
	case map[string]any:
		return x
	case []any:
		if len(x) > 0 {
			return hclBlock(x[0])
		}
	}
	return nil
}

// parseServiceBody reads {"KIND": {"FQDN": {...}}} (either JSON form).
func parseServiceBody(body []byte) (kind, fqdn string, attrs map[string]any, err error) {
	var top map[string]any
	if err := decodeJSON(body, &top); err != nil {
		return "", "", nil, err
	}
	for k, v := range top {
		for n, b := range hclBlocks(v) {
			return k, n, hclBlock(b), nil
		}
	}
	return "", "", nil, fmt.Errorf("no service block")
}

func yn(v any) any {
	if b, ok := v.(bool); ok {
		if b {
			return "Y"
		}
		return "N"
	}
	return v
}

// truthy reads Dyn's booleans: true, "Y", "true", 1.
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "y") || strings.EqualFold(x, "yes") || strings.EqualFold(x, "true") || x == "1"
	case json.Number:
		return x.String() != "0"
	case float64:
		return x != 0
	}
	return false
}

// dynDuration renders a duration as whole minutes (interval) or seconds
// (timeout) when it divides, else as the Go duration string.
func dynDuration(v any, unit time.Duration) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	d, err := time.ParseDuration(s)
	if err != nil || d%unit != 0 {
		return s
	}
	return json.Number(strconv.FormatInt(int64(d/unit), 10))
}

// hclDuration reads a Dyn duration: a number of units, or a duration string.
func hclDuration(v any, unit string) any {
	switch x := v.(type) {
	case json.Number:
		return x.String() + unit
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64) + unit
	case string:
		if _, err := strconv.Atoi(x); err == nil {
			return x + unit
		}
	}
	return v
}

func dynMonitor(m map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range dynMonitorKeys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	if v, ok := out["interval"]; ok {
		out["interval"] = dynDuration(v, time.Minute)
	}
	if v, ok := out["timeout"]; ok {
		out["timeout"] = dynDuration(v, time.Second)
	}
	return out
}

// hclToDyn renders a service's configuration (its block's attributes) as
// Dyn's object fields, without status.
func hclToDyn(kind string, attrs map[string]any) map[string]any {
	out := map[string]any{}
	for _, k := range []string{"ttl", "recovery_delay", "contact_nickname", "address", "failover_mode", "failover_data"} {
		if v, ok := attrs[k]; ok {
			out[k] = v
		}
	}
	for _, k := range []string{"auto_recover", "active"} {
		if v, ok := attrs[k]; ok {
			out[k] = yn(v)
		}
	}
	if v, ok := attrs["notify_events"].([]any); ok {
		var evs []string
		for _, e := range v {
			evs = append(evs, fmt.Sprint(e))
		}
		out["notify_events"] = strings.Join(evs, ",")
	}
	if m := hclBlock(attrs["monitor"]); m != nil {
		out["monitor"] = dynMonitor(m)
	}
	if m := hclBlock(attrs["performance_monitor"]); m != nil && kind == KindRTTM {
		out["performance_monitor"] = dynMonitor(m)
	}
	if m := hclBlock(attrs["syslog"]); m != nil {
		for dk, hk := range dynSyslogKeys {
			if v, ok := m[hk]; ok {
				out[dk] = v
			}
		}
	}
	if kind == KindActiveFailover {
		return out
	}
	regions := hclBlocks(attrs["region"])
	codes := make([]string, 0, len(regions))
	for c := range regions {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	var list []any
	for _, c := range codes {
		r := hclBlock(regions[c])
		dr := map[string]any{"region_code": c}
		for _, k := range []string{"serve_count", "min_healthy", "failover_mode", "failover_data", "ep", "apmc", "epmc"} {
			if v, ok := r[k]; ok {
				dr[k] = v
			}
		}
		if v, ok := r["autopopulate"]; ok {
			dr["autopopulate"] = yn(v)
		}
		pools := hclBlocks(r["pool"])
		addrs := make([]string, 0, len(pools))
		for a := range pools {
			addrs = append(addrs, a)
		}
		sort.Strings(addrs)
		pool := []any{}
		for _, a := range addrs {
			p := hclBlock(pools[a])
			e := map[string]any{"address": a, "label": "", "weight": json.Number("1"), "serve_mode": "obey"}
			for _, k := range []string{"label", "weight", "serve_mode"} {
				if v, ok := p[k]; ok {
					e[k] = v
				}
			}
			pool = append(pool, e)
		}
		dr["pool"] = pool
		list = append(list, dr)
	}
	out["region"] = list
	return out
}

// dynField says what a Dyn field is: accepted on input for the kinds
// listed, or read-only (status, task_id: ignored on input).
var dynFields = map[string][]string{
	"zone": nil, "fqdn": nil, "status": nil, "task_id": nil, "active": nil,
	"ttl": nil, "auto_recover": nil, "recovery_delay": nil, "notify_events": nil, "contact_nickname": nil,
	"monitor": nil, "syslog_server": nil, "syslog_port": nil, "syslog_ident": nil, "syslog_facility": nil,
	"syslog_delivery": nil, "syslog_probe_fmt": nil, "syslog_status_fmt": nil,
	"address": {KindActiveFailover}, "failover_mode": {KindActiveFailover}, "failover_data": {KindActiveFailover},
	"region": {KindGSLB, KindRTTM}, "performance_monitor": {KindRTTM}, "syslog_rttm_fmt": {KindRTTM},
}

// dynToHCL turns a whole Dyn object into a service block's attributes. An
// unknown field is an error, so that nothing is silently dropped.
func dynToHCL(kind string, obj map[string]any) (map[string]any, error) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kinds, known := dynFields[k]
		if !known || (kinds != nil && !slices.Contains(kinds, kind)) {
			return nil, fmt.Errorf("unknown field %q", k)
		}
	}
	out := map[string]any{}
	for _, k := range []string{"ttl", "recovery_delay", "address", "failover_mode", "failover_data"} {
		if v, ok := obj[k]; ok && v != nil {
			out[k] = v
		}
	}
	if v, ok := obj["contact_nickname"].(string); ok && v != "" {
		out["contact_nickname"] = v
	}
	for _, k := range []string{"auto_recover", "active"} {
		if v, ok := obj[k]; ok && v != nil {
			out[k] = truthy(v)
		}
	}
	switch v := obj["notify_events"].(type) {
	case string:
		evs := []any{}
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" {
				evs = append(evs, e)
			}
		}
		out["notify_events"] = evs
	case []any:
		out["notify_events"] = v
	}
	for _, k := range []string{"monitor", "performance_monitor"} {
		v, ok := obj[k]
		if !ok || v == nil {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s must be an object", k)
		}
		hm := map[string]any{}
		for mk, mv := range m {
			if !slices.Contains(dynMonitorKeys, mk) {
				return nil, fmt.Errorf("unknown field %q in %s", mk, k)
			}
			if mv == nil || mv == "" {
				continue
			}
			hm[mk] = mv
		}
		if v, ok := hm["interval"]; ok {
			hm["interval"] = hclDuration(v, "m")
		}
		if v, ok := hm["timeout"]; ok {
			hm["timeout"] = hclDuration(v, "s")
		}
		out[k] = hm
	}
	syslog := map[string]any{}
	for dk, hk := range dynSyslogKeys {
		if v, ok := obj[dk]; ok && v != nil && v != "" {
			syslog[hk] = v
		}
	}
	// The SDKs send the port, ident, facility and delivery defaults on
	// every create; without a server they describe no syslog at all (as
	// the importer reads them), and a block without server is invalid.
	if _, ok := syslog["server"]; ok {
		out["syslog"] = syslog
	}
	if kind == KindActiveFailover {
		return out, nil
	}
	regions := map[string]any{}
	list, _ := obj["region"].([]any)
	for _, e := range list {
		r, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("each region is an object")
		}
		hr, code, err := dynRegionToHCL(kind, r)
		if err != nil {
			return nil, err
		}
		regions[code] = hr
	}
	if len(regions) > 0 {
		out["region"] = regions
	}
	return out, nil
}

// dynRegionToHCL turns one Dyn region into a region block.
func dynRegionToHCL(kind string, r map[string]any) (map[string]any, string, error) {
	code, _ := r["region_code"].(string)
	if !slices.Contains(dynRegionCodes, code) {
		return nil, "", fmt.Errorf("region_code %q is not one of %s", code, strings.Join(dynRegionCodes, ", "))
	}
	allowed := []string{"region_code", "pool", "serve_count", "failover_mode", "failover_data", "status", "zone", "fqdn"}
	if kind == KindGSLB {
		allowed = append(allowed, "min_healthy")
	} else {
		allowed = append(allowed, "autopopulate", "ep", "apmc", "epmc")
	}
	hr := map[string]any{}
	for k, v := range r {
		if !slices.Contains(allowed, k) {
			return nil, "", fmt.Errorf("unknown field %q in region %s", k, code)
		}
		switch k {
		case "region_code", "pool", "status", "zone", "fqdn":
		case "autopopulate":
			hr[k] = truthy(v)
		case "failover_data":
			if v != nil && v != "" {
				hr[k] = v
			}
		default:
			if v != nil {
				hr[k] = v
			}
		}
	}
	pools := map[string]any{}
	entries, _ := r["pool"].([]any)
	for _, e := range entries {
		p, ok := e.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("each pool entry is an object")
		}
		addr, hp, err := dynEntryToHCL(p)
		if err != nil {
			return nil, "", err
		}
		pools[addr] = hp
	}
	if len(pools) > 0 {
		hr["pool"] = pools
	}
	return hr, code, nil
}

// dynEntryToHCL turns a pool entry into a pool block.
func dynEntryToHCL(p map[string]any) (string, map[string]any, error) {
	addr, _ := p["address"].(string)
	if addr == "" {
		return "", nil, fmt.Errorf("a pool entry needs an address")
	}
	hp := map[string]any{}
	for k, v := range p {
		switch k {
		case "address", "status", "log", "zone", "fqdn", "region_code":
		case "label", "serve_mode":
			if s, ok := v.(string); ok && s != "" {
				hp[k] = s
			}
		case "weight":
			hp[k] = v
		default:
			return "", nil, fmt.Errorf("unknown field %q in pool entry %s", k, addr)
		}
	}
	return addr, hp, nil
}

// serviceBody renders a service block for PUT /v1/services/{fqdn}.
func serviceBody(kind, fqdn string, attrs map[string]any) []byte {
	b, err := json.Marshal(map[string]any{kind: map[string]any{fqdn: attrs}})
	if err != nil {
		panic(err) // plain data: a failure is a bug
	}
	return b
}
