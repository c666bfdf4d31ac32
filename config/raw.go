package config

import "github.com/hashicorp/hcl/v2"

// The raw* types mirror the HCL schema in gohcl tags (read once per type by
// decode.go). Optional attributes are pointers so that an explicit zero can
// be told from an absent attribute. Every block keeps its body so that
// checks can point at one attribute or one list element.

type rawFile struct {
	Servers         []*rawServer         `hcl:"server,block"`
	DNS             []*rawDNS            `hcl:"dns,block"`
	API             []*rawAPI            `hcl:"api,block"`
	TSIGKeys        []*rawTSIGKey        `hcl:"tsig_key,block"`
	SMTP            []*rawSMTP           `hcl:"smtp,block"`
	Contacts        []*rawContact        `hcl:"contact,block"`
	Zones           []*rawZone           `hcl:"zone,block"`
	ActiveFailovers []*rawActiveFailover `hcl:"active_failover,block"`
	GSLBs           []*rawGSLB           `hcl:"gslb,block"`
	RTTMs           []*rawRTTM           `hcl:"rttm,block"`
	SFPools         []*rawSFPool         `hcl:"sf_pool,block"`
	Clusters        []*rawCluster        `hcl:"cluster,block"`
	Etcd            []*rawEtcd           `hcl:"etcd,block"`
}

type rawServer struct {
	Hostname         *string   `hcl:"hostname,optional"`
	Site             *string   `hcl:"site,optional"`
	StateDir         *string   `hcl:"state_dir,optional"`
	LogLevel         *string   `hcl:"log_level,optional"`
	LogFormat        *string   `hcl:"log_format,optional"`
	HistoryRetention *string   `hcl:"history_retention,optional"`
	ManagedDir       *string   `hcl:"managed_dir,optional"`
	ProbeSource      *string   `hcl:"probe_source,optional"`
	Body             hcl.Body  `hcl:",body"`
	DefRange         hcl.Range `hcl:",def_range"`
}

type rawDNS struct {
	Listen        *[]string           `hcl:"listen,optional"`
	ECS           *bool               `hcl:"ecs,optional"`
	RegionMap     map[string][]string `hcl:"region_map,optional"`
	GeoIPDatabase *string             `hcl:"geoip_database,optional"`
	Transfer      []*rawTransfer      `hcl:"transfer,block"`
	RRL           []*rawRRL           `hcl:"rrl,block"`
	Cookies       *bool               `hcl:"cookies,optional"`
	HideIdentity  *bool               `hcl:"hide_identity,optional"`
	Body          hcl.Body            `hcl:",body"`
	DefRange      hcl.Range           `hcl:",def_range"`
}

type rawTransfer struct {
	Allow    []string  `hcl:"allow,optional"`
	Notify   []string  `hcl:"notify,optional"`
	TSIG     *string   `hcl:"tsig,optional"`
	Body     hcl.Body  `hcl:",body"`
	DefRange hcl.Range `hcl:",def_range"`
}

type rawRRL struct {
	ResponsesPerSecond int       `hcl:"responses_per_second"`
	Slip               *int      `hcl:"slip,optional"`
	IPv4Prefix         *int      `hcl:"ipv4_prefix,optional"`
	IPv6Prefix         *int      `hcl:"ipv6_prefix,optional"`
	Exempt             []string  `hcl:"exempt,optional"`
	Body               hcl.Body  `hcl:",body"`
	DefRange           hcl.Range `hcl:",def_range"`
}

type rawTSIGKey struct {
	Name       string    `hcl:"name,label"`
	NameRange  hcl.Range `hcl:"name,label_range"`
	Algorithm  *string   `hcl:"algorithm,optional"`
	Secret     *string   `hcl:"secret,optional"`
	SecretFile *string   `hcl:"secret_file,optional"`
	Body       hcl.Body  `hcl:",body"`
	DefRange   hcl.Range `hcl:",def_range"`
}

type rawAPI struct {
	Listen      *string      `hcl:"listen,optional"`
	TokenFile   *string      `hcl:"token_file,optional"`
	TLSCertFile *string      `hcl:"tls_cert_file,optional"`
	TLSKeyFile  *string      `hcl:"tls_key_file,optional"`
	Compat      []*rawCompat `hcl:"compat,block"`
	Body        hcl.Body     `hcl:",body"`
	DefRange    hcl.Range    `hcl:",def_range"`
}

type rawCompat struct {
	Dyn      *bool     `hcl:"dyn,optional"`
	UltraDNS *bool     `hcl:"ultradns,optional"`
	Memset   *bool     `hcl:"memset,optional"`
	Body     hcl.Body  `hcl:",body"`
	DefRange hcl.Range `hcl:",def_range"`
}

type rawSMTP struct {
	Server       string    `hcl:"server"`
	From         string    `hcl:"from"`
	Username     *string   `hcl:"username,optional"`
	PasswordFile *string   `hcl:"password_file,optional"`
	StartTLS     *string   `hcl:"starttls,optional"`
	Body         hcl.Body  `hcl:",body"`
	DefRange     hcl.Range `hcl:",def_range"`
}

type rawContact struct {
	Name      string    `hcl:"name,label"`
	NameRange hcl.Range `hcl:"name,label_range"`
	Email     []string  `hcl:"email"`
	Body      hcl.Body  `hcl:",body"`
	DefRange  hcl.Range `hcl:",def_range"`
}

type rawZone struct {
	Name      string       `hcl:"name,label"`
	NameRange hcl.Range    `hcl:"name,label_range"`
	File      *string      `hcl:"file,optional"`
	TTL       *int         `hcl:"ttl,optional"`
	NS        []string     `hcl:"ns,optional"`
	Records   []*rawRecord `hcl:"record,block"`
	DNSSEC    []*rawDNSSEC `hcl:"dnssec,block"`
	Body      hcl.Body     `hcl:",body"`
	DefRange  hcl.Range    `hcl:",def_range"`
}

type rawDNSSEC struct {
	Algorithm         *string   `hcl:"algorithm,optional"`
	KeyFile           *string   `hcl:"key_file,optional"`
	SignatureLifetime *string   `hcl:"signature_lifetime,optional"`
	InceptionOffset   *string   `hcl:"inception_offset,optional"`
	Body              hcl.Body  `hcl:",body"`
	DefRange          hcl.Range `hcl:",def_range"`
}

type rawRecord struct {
	Name      string    `hcl:"name,label"`
	NameRange hcl.Range `hcl:"name,label_range"`
	Type      string    `hcl:"type"`
	TTL       *int      `hcl:"ttl,optional"`
	RData     []string  `hcl:"rdata"`
	Body      hcl.Body  `hcl:",body"`
	DefRange  hcl.Range `hcl:",def_range"`
}

type rawMonitor struct {
	Protocol      string    `hcl:"protocol"`
	Interval      string    `hcl:"interval"`
	Retries       *int      `hcl:"retries,optional"`
	Timeout       *string   `hcl:"timeout,optional"`
	Port          *int      `hcl:"port,optional"`
	Path          *string   `hcl:"path,optional"`
	Host          *string   `hcl:"host,optional"`
	Header        *string   `hcl:"header,optional"`
	Expected      *string   `hcl:"expected,optional"`
	TLSSkipVerify *bool     `hcl:"tls_skip_verify,optional"`
	Watch         *bool     `hcl:"watch,optional"`
	Body          hcl.Body  `hcl:",body"`
	DefRange      hcl.Range `hcl:",def_range"`
}

type rawSyslog struct {
	Server    string    `hcl:"server"`
	Port      *int      `hcl:"port,optional"`
	Transport *string   `hcl:"transport,optional"`
	Protocol  *string   `hcl:"protocol,optional"`
	Ident     *string   `hcl:"ident,optional"`
	Facility  *string   `hcl:"facility,optional"`
	Delivery  *string   `hcl:"delivery,optional"`
	ProbeFmt  *string   `hcl:"probe_fmt,optional"`
	StatusFmt *string   `hcl:"status_fmt,optional"`
	RTTMFmt   *string   `hcl:"rttm_fmt,optional"`
	Body      hcl.Body  `hcl:",body"`
	DefRange  hcl.Range `hcl:",def_range"`
}

// rawService holds the attributes every monitored service kind shares.
type rawService struct {
	AutoRecover     *bool         `hcl:"auto_recover,optional"`
	RecoveryDelay   *int          `hcl:"recovery_delay,optional"`
	TTL             *int          `hcl:"ttl,optional"`
	NotifyEvents    *[]string     `hcl:"notify_events,optional"`
	ContactNickname *string       `hcl:"contact_nickname,optional"`
	Active          *bool         `hcl:"active,optional"`
	Monitors        []*rawMonitor `hcl:"monitor,block"`
	Syslogs         []*rawSyslog  `hcl:"syslog,block"`
}

type rawActiveFailover struct {
	FQDN          string        `hcl:"fqdn,label"`
	FQDNRange     hcl.Range     `hcl:"fqdn,label_range"`
	Address       string        `hcl:"address"`
	FailoverMode  *string       `hcl:"failover_mode,optional"`
	FailoverData  string        `hcl:"failover_data"`
	AutoRecover   *bool         `hcl:"auto_recover,optional"`
	RecoveryDelay *int          `hcl:"recovery_delay,optional"`
	TTL           *int          `hcl:"ttl,optional"`
	NotifyEvents  *[]string     `hcl:"notify_events,optional"`
	Contact       *string       `hcl:"contact_nickname,optional"`
	Active        *bool         `hcl:"active,optional"`
	Monitors      []*rawMonitor `hcl:"monitor,block"`
	Syslogs       []*rawSyslog  `hcl:"syslog,block"`
	Body          hcl.Body      `hcl:",body"`
	DefRange      hcl.Range     `hcl:",def_range"`
}

func (r *rawActiveFailover) service() *rawService {
	return &rawService{r.AutoRecover, r.RecoveryDelay, r.TTL, r.NotifyEvents, r.Contact, r.Active, r.Monitors, r.Syslogs}
}

type rawGSLB struct {
	FQDN          string        `hcl:"fqdn,label"`
	FQDNRange     hcl.Range     `hcl:"fqdn,label_range"`
	AutoRecover   *bool         `hcl:"auto_recover,optional"`
	RecoveryDelay *int          `hcl:"recovery_delay,optional"`
	TTL           *int          `hcl:"ttl,optional"`
	NotifyEvents  *[]string     `hcl:"notify_events,optional"`
	Contact       *string       `hcl:"contact_nickname,optional"`
	Active        *bool         `hcl:"active,optional"`
	Monitors      []*rawMonitor `hcl:"monitor,block"`
	Syslogs       []*rawSyslog  `hcl:"syslog,block"`
	Regions       []*rawRegion  `hcl:"region,block"`
	Body          hcl.Body      `hcl:",body"`
	DefRange      hcl.Range     `hcl:",def_range"`
}

func (r *rawGSLB) service() *rawService {
	return &rawService{r.AutoRecover, r.RecoveryDelay, r.TTL, r.NotifyEvents, r.Contact, r.Active, r.Monitors, r.Syslogs}
}

type rawRTTM struct {
	FQDN          string        `hcl:"fqdn,label"`
	FQDNRange     hcl.Range     `hcl:"fqdn,label_range"`
	AutoRecover   *bool         `hcl:"auto_recover,optional"`
	RecoveryDelay *int          `hcl:"recovery_delay,optional"`
	TTL           *int          `hcl:"ttl,optional"`
	NotifyEvents  *[]string     `hcl:"notify_events,optional"`
	Contact       *string       `hcl:"contact_nickname,optional"`
	Active        *bool         `hcl:"active,optional"`
	Monitors      []*rawMonitor `hcl:"monitor,block"`
	PerfMonitors  []*rawMonitor `hcl:"performance_monitor,block"`
	Syslogs       []*rawSyslog  `hcl:"syslog,block"`
	Regions       []*rawRegion  `hcl:"region,block"`
	Body          hcl.Body      `hcl:",body"`
	DefRange      hcl.Range     `hcl:",def_range"`
}

func (r *rawRTTM) service() *rawService {
	return &rawService{r.AutoRecover, r.RecoveryDelay, r.TTL, r.NotifyEvents, r.Contact, r.Active, r.Monitors, r.Syslogs}
}

type rawRegion struct {
	Code         string     `hcl:"code,label"`
	CodeRange    hcl.Range  `hcl:"code,label_range"`
	ServeCount   *int       `hcl:"serve_count,optional"`
	MinHealthy   *int       `hcl:"min_healthy,optional"`
	FailoverMode *string    `hcl:"failover_mode,optional"`
	FailoverData *string    `hcl:"failover_data,optional"`
	Autopopulate *bool      `hcl:"autopopulate,optional"`
	EP           *int       `hcl:"ep,optional"`
	APMC         *int       `hcl:"apmc,optional"`
	EPMC         *int       `hcl:"epmc,optional"`
	Pools        []*rawPool `hcl:"pool,block"`
	Body         hcl.Body   `hcl:",body"`
	DefRange     hcl.Range  `hcl:",def_range"`
}

type rawPool struct {
	Address      string    `hcl:"address,label"`
	AddressRange hcl.Range `hcl:"address,label_range"`
	Label        *string   `hcl:"label,optional"`
	Weight       *int      `hcl:"weight,optional"`
	ServeMode    *string   `hcl:"serve_mode,optional"`
	Body         hcl.Body  `hcl:",body"`
	DefRange     hcl.Range `hcl:",def_range"`
}

type rawSFPool struct {
	FQDN                     string             `hcl:"fqdn,label"`
	FQDNRange                hcl.Range          `hcl:"fqdn,label_range"`
	RRType                   *string            `hcl:"rrtype,optional"`
	TTL                      *int               `hcl:"ttl,optional"`
	RData                    string             `hcl:"rdata"`
	PoolDescription          *string            `hcl:"pool_description,optional"`
	LiveRecordDescription    *string            `hcl:"live_record_description,optional"`
	LiveRecordState          *string            `hcl:"live_record_state,optional"`
	RegionFailureSensitivity *string            `hcl:"region_failure_sensitivity,optional"`
	Contact                  *string            `hcl:"contact_nickname,optional"`
	Monitors                 []*rawSFMonitor    `hcl:"monitor,block"`
	Backups                  []*rawBackupRecord `hcl:"backup_record,block"`
	Body                     hcl.Body           `hcl:",body"`
	DefRange                 hcl.Range          `hcl:",def_range"`
}

type rawSFMonitor struct {
	Method          *string   `hcl:"method,optional"`
	URL             string    `hcl:"url"`
	TransmittedData *string   `hcl:"transmitted_data,optional"`
	SearchString    *string   `hcl:"search_string,optional"`
	Interval        *string   `hcl:"interval,optional"`
	Timeout         *string   `hcl:"timeout,optional"`
	Retries         *int      `hcl:"retries,optional"`
	Body            hcl.Body  `hcl:",body"`
	DefRange        hcl.Range `hcl:",def_range"`
}

type rawBackupRecord struct {
	RData       string    `hcl:"rdata"`
	Description *string   `hcl:"description,optional"`
	Body        hcl.Body  `hcl:",body"`
	DefRange    hcl.Range `hcl:",def_range"`
}

type rawCluster struct {
	Name      string               `hcl:"name,label"`
	NameRange hcl.Range            `hcl:"name,label_range"`
	Services  []*rawClusterService `hcl:"service,block"`
	Body      hcl.Body             `hcl:",body"`
	DefRange  hcl.Range            `hcl:",def_range"`
}

type rawClusterService struct {
	Name         string            `hcl:"name,label"`
	NameRange    hcl.Range         `hcl:"name,label_range"`
	FQDN         string            `hcl:"fqdn"`
	Protocol     *string           `hcl:"protocol,optional"`
	TTL          *int              `hcl:"ttl,optional"`
	Monitors     []*rawMonitor     `hcl:"monitor,block"`
	RealServices []*rawRealService `hcl:"real_service,block"`
	Body         hcl.Body          `hcl:",body"`
	DefRange     hcl.Range         `hcl:",def_range"`
}

type rawRealService struct {
	Name      string    `hcl:"name,label"`
	NameRange hcl.Range `hcl:"name,label_range"`
	IPAddress string    `hcl:"ip_address"`
	Port      int       `hcl:"port"`
	Weight    *int      `hcl:"weight,optional"`
	Enabled   *bool     `hcl:"enabled,optional"`
	Fallback  *bool     `hcl:"fallback,optional"`
	Body      hcl.Body  `hcl:",body"`
	DefRange  hcl.Range `hcl:",def_range"`
}

type rawEtcd struct {
	Endpoints    []string  `hcl:"endpoints"`
	Prefix       *string   `hcl:"prefix,optional"`
	LeaseTTL     *string   `hcl:"lease_ttl,optional"`
	DialTimeout  *string   `hcl:"dial_timeout,optional"`
	CAFile       *string   `hcl:"ca_file,optional"`
	CertFile     *string   `hcl:"cert_file,optional"`
	KeyFile      *string   `hcl:"key_file,optional"`
	Username     *string   `hcl:"username,optional"`
	PasswordFile *string   `hcl:"password_file,optional"`
	Quorum       *string   `hcl:"quorum,optional"`
	OnPartition  *string   `hcl:"on_partition,optional"`
	Body         hcl.Body  `hcl:",body"`
	DefRange     hcl.Range `hcl:",def_range"`
}
