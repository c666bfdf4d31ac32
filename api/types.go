package api

import (
	"encoding/json"
	"time"
)

// Service kinds, the values of ServiceSummary.Kind and ServiceDetail.Kind.
const (
	KindActiveFailover = "active_failover"
	KindGSLB           = "gslb"
	KindRTTM           = "rttm"
	KindSFPool         = "sf_pool"
)

// Job statuses and actions. Every call finishes before it answers, so a job
// is always JobComplete.
const (
	JobComplete = "complete"

	ActionActivate        = "activate"
	ActionDeactivate      = "deactivate"
	ActionRecover         = "recover"
	ActionForce           = "force"
	ActionUnforce         = "unforce"
	ActionEnable          = "enable"
	ActionDisable         = "disable"
	ActionEnableFallback  = "enable_fallback"
	ActionDisableFallback = "disable_fallback"
	ActionSetWeight       = "set_weight"
)

// ClusterActions lists the actions ClusterOp accepts, in the order the API
// documents them.
func ClusterActions() []string {
	return []string{ActionEnable, ActionDisable, ActionEnableFallback, ActionDisableFallback}
}

// ServiceSummary is one row of GET /v1/services.
type ServiceSummary struct {
	FQDN   string `json:"fqdn"`   // absolute, with the trailing dot
	Kind   string `json:"kind"`   // active_failover | gslb | rttm | sf_pool
	Status string `json:"status"` // ok | trouble | failover | unk; sf_pool: OK | CRITICAL | MANUAL
	Active bool   `json:"active"`
}

// ServiceDetail is the answer of GET /v1/services/{fqdn}.
type ServiceDetail struct {
	FQDN   string `json:"fqdn"`
	Kind   string `json:"kind"`
	Status string `json:"status"`
	Active bool   `json:"active"`
	// LiveRecordState is NOT_FORCED or FORCED_INACTIVE; sf_pool only.
	LiveRecordState string   `json:"live_record_state,omitempty"`
	Regions         []Region `json:"regions"`
	// Managed is true for a service created over the API, false for one
	// from the operator's configuration files.
	Managed bool `json:"managed"`
	// Config is the service's settings as configured (block labels and
	// attribute names as in the configuration language, defaults filled
	// in), secrets left out.
	Config map[string]any `json:"config,omitempty"`
}

// MarshalJSON implements json.Marshaler: lists are [] rather than null.
func (d ServiceDetail) MarshalJSON() ([]byte, error) {
	type plain ServiceDetail
	p := plain(d)
	if p.Regions == nil {
		p.Regions = []Region{}
	}
	return json.Marshal(p)
}

// Region is one region of a service (active_failover and sf_pool have one,
// "global").
type Region struct {
	Code    string   `json:"code"`
	Status  string   `json:"status"`
	Served  []string `json:"served"` // rdata strings: "192.0.2.10" or a CNAME target "backup.example.net."
	Entries []Entry  `json:"entries"`
}

// MarshalJSON implements json.Marshaler: lists are [] rather than null.
func (r Region) MarshalJSON() ([]byte, error) {
	type plain Region
	p := plain(r)
	if p.Served == nil {
		p.Served = []string{}
	}
	if p.Entries == nil {
		p.Entries = []Entry{}
	}
	return json.Marshal(p)
}

// Entry is one monitored address of a region's pool.
type Entry struct {
	Address   string `json:"address"`
	Label     string `json:"label"`
	Weight    int    `json:"weight"`
	ServeMode string `json:"serve_mode"` // always | obey | remove | no
	Status    string `json:"status"`     // up | down | unk
	Removed   bool   `json:"removed"`
	// RTTSeconds is the last probe round's response time; nil when none.
	RTTSeconds *float64 `json:"rtt_seconds"`
	Message    string   `json:"message"`
	// LastProbe is when the last round completed; nil before the first.
	LastProbe *time.Time `json:"last_probe"`
	// History is the recent probe rounds of this address, oldest first,
	// drawn as a chart by the status page. It may be empty.
	History []Sample `json:"history,omitempty"`
	// Sites are every live site's view of the address in a deployment of
	// several sites; absent on a single node.
	Sites []SiteReport `json:"sites,omitempty"`
}

// MarshalJSON implements json.Marshaler: times are written in UTC.
func (e Entry) MarshalJSON() ([]byte, error) {
	type plain Entry
	p := plain(e)
	p.LastProbe = utcPtr(p.LastProbe)
	return json.Marshal(p)
}

// Sample is one probe round in an address's response-time history.
type Sample struct {
	Time       time.Time `json:"time"`
	Status     string    `json:"status"`      // up | down
	RTTSeconds *float64  `json:"rtt_seconds"` // nil when the round failed
}

// MarshalJSON implements json.Marshaler: times are written in UTC.
func (s Sample) MarshalJSON() ([]byte, error) {
	type plain Sample
	p := plain(s)
	p.Time = p.Time.UTC()
	return json.Marshal(p)
}

// Job is the result of a mutating call.
type Job struct {
	ID      uint64    `json:"id"`
	Action  string    `json:"action"`
	Target  string    `json:"target"` // an fqdn, or CLUSTER/SERVICE/SERVER
	Status  string    `json:"status"` // complete
	Created time.Time `json:"created"`
}

// MarshalJSON implements json.Marshaler: times are written in UTC.
func (j Job) MarshalJSON() ([]byte, error) {
	type plain Job
	p := plain(j)
	p.Created = p.Created.UTC()
	return json.Marshal(p)
}

// Event kinds.
const (
	EventIP    = "ip"
	EventSvc   = "svc"
	EventNoSrv = "nosrv"
)

// Event is one entry of a log report.
type Event struct {
	Time      time.Time `json:"time"`
	Kind      string    `json:"kind"` // ip | svc | nosrv
	Region    string    `json:"region"`
	Address   string    `json:"address"` // empty for svc events
	OldStatus string    `json:"old_status"`
	NewStatus string    `json:"new_status"`
	Message   string    `json:"message"`
}

// MarshalJSON implements json.Marshaler: times are written in UTC.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event
	p := plain(e)
	p.Time = p.Time.UTC()
	return json.Marshal(p)
}

// RRSetReport is the answer of GET /v1/services/{fqdn}/rrsets.
type RRSetReport struct {
	TS      int64         `json:"ts"` // UNIX seconds
	Regions []RRSetRegion `json:"regions"`
	// Serial is the zone's SOA serial that published these sets (0 when
	// unknown). The Dyn reports show it; the native report's shape does
	// not have it.
	Serial uint32 `json:"-"`
}

// MarshalJSON implements json.Marshaler: lists are [] rather than null.
func (r RRSetReport) MarshalJSON() ([]byte, error) {
	type plain RRSetReport
	p := plain(r)
	if p.Regions == nil {
		p.Regions = []RRSetRegion{}
	}
	return json.Marshal(p)
}

// RRSetRegion is what one region served at the report's time.
type RRSetRegion struct {
	Code   string   `json:"code"`
	Served []string `json:"served"`
}

// MarshalJSON implements json.Marshaler: lists are [] rather than null.
func (r RRSetRegion) MarshalJSON() ([]byte, error) {
	type plain RRSetRegion
	p := plain(r)
	if p.Served == nil {
		p.Served = []string{}
	}
	return json.Marshal(p)
}

// ClusterSummary is one cluster of GET /v1/clusters.
type ClusterSummary struct {
	Name     string           `json:"name"`
	Services []ClusterService `json:"services"`
}

// MarshalJSON implements json.Marshaler: lists are [] rather than null.
func (c ClusterSummary) MarshalJSON() ([]byte, error) {
	type plain ClusterSummary
	p := plain(c)
	if p.Services == nil {
		p.Services = []ClusterService{}
	}
	return json.Marshal(p)
}

// ClusterService is one service of a cluster.
type ClusterService struct {
	Name     string `json:"name"`
	FQDN     string `json:"fqdn"`
	Protocol string `json:"protocol"` // SRV protocol label, tcp by default
	// RealServices names the service's real services, in configuration order.
	RealServices []string `json:"real_services"`
}

// MarshalJSON implements json.Marshaler: lists are [] rather than null.
func (c ClusterService) MarshalJSON() ([]byte, error) {
	type plain ClusterService
	p := plain(c)
	if p.RealServices == nil {
		p.RealServices = []string{}
	}
	return json.Marshal(p)
}

// RealService is the info of one cluster real service.
type RealService struct {
	Name      string `json:"name"`
	IPAddress string `json:"ip_address"`
	Port      int    `json:"port"`
	Weight    int    `json:"weight"`
	Fallback  bool   `json:"fallback"`
	Enabled   bool   `json:"enabled"`
	Status    string `json:"status"` // up | down | unk
}

// RealServiceStatistics is the statistics of one cluster real service.
type RealServiceStatistics struct {
	Active             bool       `json:"active"` // being served now
	Status             string     `json:"status"`
	RTTSeconds         *float64   `json:"rtt_seconds"`
	AnswersTotal       uint64     `json:"answers_total"`
	ProbesTotal        uint64     `json:"probes_total"`
	ProbeFailuresTotal uint64     `json:"probe_failures_total"`
	LastUpdate         *time.Time `json:"last_update"`
}

// MarshalJSON implements json.Marshaler: times are written in UTC.
func (s RealServiceStatistics) MarshalJSON() ([]byte, error) {
	type plain RealServiceStatistics
	p := plain(s)
	p.LastUpdate = utcPtr(p.LastUpdate)
	return json.Marshal(p)
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// Response envelopes: every successful answer is a JSON object.

// ServicesResponse is the body of GET /v1/services.
type ServicesResponse struct {
	Services []ServiceSummary `json:"services"`
	// Next is set only for a request with ?limit= that has more services
	// after this page: pass it back as ?after= for the next page.
	Next string `json:"next,omitempty"`
}

// JobResponse is the body of every mutating call and of GET /v1/jobs/{id};
// Job is nil when nothing changed.
type JobResponse struct {
	Job *Job `json:"job"`
}

// LogResponse is the body of GET /v1/services/{fqdn}/log.
type LogResponse struct {
	Events []Event `json:"events"`
}

// ClustersResponse is the body of GET /v1/clusters.
type ClustersResponse struct {
	Clusters []ClusterSummary `json:"clusters"`
}

// RealServicesResponse is the body of GET .../real_services.
type RealServicesResponse struct {
	RealServices []RealService `json:"real_services"`
}

// RecoverRequest is the optional body of POST /v1/services/{fqdn}/recover.
type RecoverRequest struct {
	Address string `json:"address"`
}

// WeightRequest is the body of POST .../real_services/{r}/weight.
type WeightRequest struct {
	Weight *int `json:"weight"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	ErrorType string `json:"error_type"`
	Error     string `json:"error"`
	// Diagnostics list a refused configuration's problems.
	Diagnostics []string `json:"diagnostics,omitempty"`
}

// ZoneDNSSEC is the answer of GET /v1/zones/{zone}/dnssec: the public key
// of a signed zone and the DS records to hand to its parent. Private keys
// are never part of it.
type ZoneDNSSEC struct {
	Zone      string `json:"zone"`
	Algorithm string `json:"algorithm"`
	KeyTag    uint16 `json:"key_tag"`
	// DNSKEY is the key's DNSKEY record in zone-file syntax.
	DNSKEY string `json:"dnskey"`
	// DS are the key's DS records (SHA-256 digest), in zone-file syntax.
	DS []string `json:"ds"`
}
