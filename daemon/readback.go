package daemon

import (
	"iter"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/failoverd/failoverd/config"
)

// serviceConfig is the read-back of one service's configuration (GET
// /v1/services/{fqdn} "config"): the settings as configured, with the
// configuration language's names and every default filled in, secrets
// left out. nil for a name that is no service.
func serviceConfig(cfg *config.Config, fqdn string) map[string]any {
	for name, render := range serviceConfigs(cfg) {
		if name == fqdn {
			return render()
		}
	}
	return nil
}

// serviceConfigs yields every service's FQDN (active_failover, gslb, rttm,
// then sf_pool, in configuration order) with the function that renders its
// read-back, so that comparing two configurations can index one of them
// instead of searching it for every service (O(n²) at 100,000 services).
func serviceConfigs(cfg *config.Config) iter.Seq2[string, func() map[string]any] {
	return func(yield func(string, func() map[string]any) bool) {
		for _, s := range cfg.ActiveFailovers {
			if !yield(s.FQDN, func() map[string]any {
				m := baseConfig(cfg, &s.Service)
				m["address"], m["failover_mode"], m["failover_data"] = s.Address, s.FailoverMode, s.FailoverData
				return m
			}) {
				return
			}
		}
		for _, s := range cfg.GSLBs {
			if !yield(s.FQDN, func() map[string]any {
				m := baseConfig(cfg, &s.Service)
				m["region"] = regionsConfig(s.Regions, false)
				return m
			}) {
				return
			}
		}
		for _, s := range cfg.RTTMs {
			if !yield(s.FQDN, func() map[string]any {
				m := baseConfig(cfg, &s.Service)
				if s.PerformanceMonitor != nil {
					m["performance_monitor"] = blockConfig(s.PerformanceMonitor)
				}
				m["region"] = regionsConfig(s.Regions, true)
				return m
			}) {
				return
			}
		}
		for _, s := range cfg.SFPools {
			if !yield(s.FQDN, func() map[string]any {
				m := map[string]any{
					"rrtype": s.RRType, "ttl": s.TTL, "rdata": s.RData,
					"pool_description": s.PoolDescription, "live_record_description": s.LiveRecordDescription,
					"live_record_state": s.LiveRecordState, "region_failure_sensitivity": s.RegionFailureSensitivity,
					"contact_nickname": s.ContactNickname,
				}
				if s.Monitor != nil {
					m["monitor"] = blockConfig(s.Monitor)
				}
				if s.Backup != nil {
					m["backup_record"] = map[string]any{"rdata": s.Backup.RData, "description": s.Backup.Description}
				}
				addContact(cfg, m, s.ContactNickname)
				return m
			}) {
				return
			}
		}
	}
}

// addContact reads back the contact a service names (its e-mail
// addresses) as "contact".
func addContact(cfg *config.Config, m map[string]any, nick string) {
	if c := cfg.Contacts[nick]; nick != "" && c != nil {
		m["contact"] = map[string]any{"name": c.Name, "email": nonNilStrings(c.Email)}
	}
}

func baseConfig(cfg *config.Config, s *config.Service) map[string]any {
	m := map[string]any{
		"ttl": s.TTL, "notify_events": nonNilStrings(s.NotifyEvents), "contact_nickname": s.ContactNickname,
		"active": s.Active, "auto_recover": s.AutoRecover, "recovery_delay": s.RecoveryDelay,
	}
	if s.Monitor != nil {
		m["monitor"] = blockConfig(s.Monitor)
	}
	if s.Syslog != nil {
		m["syslog"] = blockConfig(s.Syslog)
	}
	addContact(cfg, m, s.ContactNickname)
	return m
}

// regionsConfig is the region blocks by code, each with its pool by
// address.
func regionsConfig(rs []*config.Region, rttm bool) map[string]any {
	out := map[string]any{}
	for _, r := range rs {
		m := map[string]any{"serve_count": r.ServeCount, "failover_mode": r.FailoverMode, "failover_data": r.FailoverData}
		if rttm {
			m["autopopulate"], m["ep"], m["apmc"], m["epmc"] = r.Autopopulate, r.EP, r.APMC, r.EPMC
		} else {
			m["min_healthy"] = r.MinHealthy
		}
		pool := map[string]any{}
		for _, p := range r.Pool {
			pool[p.Address] = map[string]any{"label": p.Label, "weight": p.Weight, "serve_mode": p.ServeMode}
		}
		m["pool"] = pool
		out[r.Code] = m
	}
	return out
}

// secretName matches the settings never read back.
var secretName = regexp.MustCompile(`(?i)password|secret|token|private|(^|_)key($|_)`)

// secretHeader matches HTTP header names whose values are credentials.
var secretHeader = regexp.MustCompile(`(?i)authorization|cookie|token|secret|password|api[-_]?key`)

// blockConfig reads back a monitor, performance_monitor, sf_pool monitor or
// syslog block field by field, so a setting added to the block is read
// back without a change here: the names are the Go names in snake case
// (as the configuration language spells them), durations in Go syntax.
func blockConfig(block any) map[string]any {
	v := reflect.ValueOf(block)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	out := map[string]any{}
	for _, bf := range settingFields(v.Type()) {
		name, fv := bf.name, v.Field(bf.index)
		switch x := fv.Interface().(type) {
		case time.Duration:
			out[name] = x.String()
		case string:
			if name == "url" {
				x = redactURL(x)
			}
			out[name] = x
		case []string:
			if name == "header" {
				x = redactHeaders(x)
			}
			out[name] = nonNilStrings(x)
		default:
			if fv.Kind() == reflect.Struct || fv.Kind() == reflect.Pointer || fv.Kind() == reflect.Map {
				continue
			}
			out[name] = x
		}
	}
	return out
}

// settingField is one field of a block type that is read back.
type settingField struct {
	index int
	name  string
}

// settingFieldsOf caches settingFields per block type: a reload compares
// every service's read-back, and the names and the secret check depend on
// the type alone (they were most of a 100,000-service reload's CPU).
var settingFieldsOf sync.Map // reflect.Type → []settingField

// settingFields lists the fields of block type t that are settings, with
// their configuration names, secrets left out.
func settingFields(t reflect.Type) []settingField {
	if fs, ok := settingFieldsOf.Load(t); ok {
		return fs.([]settingField)
	}
	var out []settingField
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() || f.Type.PkgPath() != "" && f.Type.PkgPath() != "time" {
			continue // hcl ranges and other structures are not settings
		}
		name := snake(f.Name)
		if secretName.MatchString(name) {
			continue
		}
		out = append(out, settingField{index: i, name: name})
	}
	settingFieldsOf.Store(t, out)
	return out
}

// snake turns a Go field name into the configuration's attribute name:
// TLSSkipVerify → tls_skip_verify, RTTMFmt → rttm_fmt.
func snake(s string) string {
	rs := []rune(s)
	var b strings.Builder
	for i, r := range rs {
		if unicode.IsUpper(r) {
			prevLower := i > 0 && unicode.IsLower(rs[i-1])
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if i > 0 && (prevLower || (nextLower && unicode.IsUpper(rs[i-1]))) {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

func redactHeaders(hs []string) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		name, _, ok := strings.Cut(h, ":")
		if ok && secretHeader.MatchString(name) {
			h = name + ": (secret, not shown)"
		}
		out[i] = h
	}
	return out
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
