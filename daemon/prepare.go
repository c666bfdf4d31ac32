package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/config"
	"github.com/failoverd/failoverd/dnsserver"
	"github.com/failoverd/failoverd/notify"
	"github.com/failoverd/failoverd/probe"
	"github.com/failoverd/failoverd/store"
)

// Prepared is a configuration made ready to run: its plan is built, every
// zone parsed, every secret read, and everything the daemon would refuse at
// start-up has been checked. `failoverd validate`, `failoverd run` and every
// reload go through Prepare, so they cannot disagree about a configuration.
type Prepared struct {
	cfg   *config.Config
	plan  *plan
	token string
	// notify holds the dispatcher's options, SMTP password included.
	notify notify.Options
}

// Check reports, as diagnostics pointing into the configuration (or into a
// zone file), every problem that would make `failoverd run` refuse to start
// with cfg. It binds no real port: a listen address is checked by binding
// its IP on an ephemeral port, since the daemon may already be running.
func Check(cfg *config.Config) config.Diagnostics {
	_, diags := Prepare(cfg)
	return diags
}

// Prepare builds everything cfg needs before anything runs, or reports
// every problem found.
func Prepare(cfg *config.Config) (*Prepared, config.Diagnostics) {
	var diags config.Diagnostics
	p := &Prepared{cfg: cfg}
	pl, err := buildPlan(cfg)
	if err != nil {
		var pe *planError
		if errors.As(err, &pe) {
			diags = append(diags, config.Error(pe.at, pe.summary, pe.err.Error()))
		} else {
			diags = append(diags, config.Error(config.Range{}, "Invalid configuration", err.Error()))
		}
	}
	p.plan = pl
	if pl != nil {
		for _, z := range cfg.Zones {
			zd, err := dnsserver.LoadZone(zoneConfig(cfg, z))
			if err != nil {
				diags = append(diags, zoneDiagnostic(z, err))
				continue
			}
			pl.zones = append(pl.zones, zd)
		}
		diags = append(diags, checkDNSSEC(cfg, pl)...)
		if pl.pingUsed {
			if err := probe.CheckPing(); err != nil {
				diags = append(diags, config.Error(pingMonitor(cfg), "PING probes cannot run", err.Error()))
			}
		}
	}

	token, err := readSecret(cfg.API.TokenFile)
	switch {
	case err != nil:
		diags = append(diags, config.Error(cfg.API.TokenFileRange, "Unreadable token_file", secretError(err)))
	case cfg.API.TokenFile != "" && token == "":
		diags = append(diags, config.Error(cfg.API.TokenFileRange, "Empty token_file", "The token file holds no token: write the bearer token into it, or remove token_file."))
	}
	p.token = token
	p.notify = notify.Options{Hostname: cfg.Server.Hostname}
	if s := cfg.SMTP; s != nil {
		pw, err := readSecret(s.PasswordFile)
		if err != nil {
			diags = append(diags, config.Error(s.PasswordFileRange, "Unreadable password_file", secretError(err)))
		}
		p.notify.SMTP = &notify.SMTPOptions{Server: s.Server, From: s.From, Username: s.Username, Password: pw, StartTLS: s.StartTLS}
	}
	if db := cfg.DNS.GeoIPDatabase; db != "" {
		if err := dnsserver.CheckGeoIP(db); err != nil {
			diags = append(diags, config.Error(cfg.DNS.GeoIPDatabaseRange, "Unusable geoip_database", err.Error()+". Give the path of a readable MaxMind database (.mmdb)."))
		}
	}
	if err := dnsserver.CheckRegionMap(cfg.DNS.RegionMap); err != nil {
		diags = append(diags, config.Error(cfg.DNS.RegionMapRange, "Invalid region_map", err.Error()+". A prefix belongs to one region: remove it from all but one."))
	}
	diags = append(diags, checkListen(cfg)...)
	if !diags.HasErrors() {
		// The API server checks its own options (token, TLS files) when it
		// is built, which binds nothing: build one and drop it, so run and
		// validate agree on them.
		if _, err := api.NewServer(apiOptions(p), &controller{}, zap.NewNop()); err != nil {
			diags = append(diags, config.Error(cfg.API.ListenRange, "The API cannot start", err.Error()+"."))
		}
	}
	if err := checkStateDir(cfg.Server.StateDir); err != nil {
		diags = append(diags, config.Error(cfg.Server.StateDirRange, "Unusable state_dir", err.Error()))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return p, diags
}

// apiOptions are the API server's options from p (the daemon adds its
// metrics and store).
func apiOptions(p *Prepared) api.Options {
	cfg := p.cfg
	return api.Options{
		Listen:       cfg.API.Listen,
		Token:        p.token,
		TokenFile:    cfg.API.TokenFile,
		AllowedHosts: []string{cfg.Server.Hostname},
		TLSCertFile:  cfg.API.TLSCertFile,
		TLSKeyFile:   cfg.API.TLSKeyFile,
		Compat:       api.CompatOptions{Dyn: cfg.API.Compat.Dyn, UltraDNS: cfg.API.Compat.UltraDNS, Memset: cfg.API.Compat.Memset},
	}
}

// dnsOptions are the DNS server's options from cfg.
func dnsOptions(cfg *config.Config, version string) dnsserver.Options {
	o := dnsserver.Options{
		Listen:        cfg.DNS.Listen,
		ECS:           cfg.DNS.ECS,
		RegionMap:     cfg.DNS.RegionMap,
		GeoIPDatabase: cfg.DNS.GeoIPDatabase,
		TransferAllow: transferAllow(cfg),
		Notify:        transferNotify(cfg),
		Hostname:      cfg.Server.Hostname,
		Version:       "failoverd " + version,
		HideIdentity:  cfg.DNS.HideIdentity,
		Cookies:       cfg.DNS.Cookies,
	}
	if r := cfg.DNS.RRL; r != nil {
		o.RRL = &dnsserver.RRL{ResponsesPerSecond: r.ResponsesPerSecond, Slip: r.Slip,
			IPv4Prefix: r.IPv4Prefix, IPv6Prefix: r.IPv6Prefix, Exempt: r.Exempt}
	}
	for _, k := range cfg.TSIGKeys {
		o.TSIGKeys = append(o.TSIGKeys, dnsserver.TSIGKey{Name: k.Name, Algorithm: k.Algorithm, Secret: k.Secret})
	}
	if t := cfg.DNS.Transfer; t != nil && t.TSIG != nil {
		o.TransferTSIG = t.TSIG.Name
	}
	return o
}

// zoneDiagnostic places a zone that does not load: an inline record's bad
// rdata at that element, a master file's error at its own line and column,
// anything else at the zone block.
func zoneDiagnostic(z *config.Zone, err error) *config.Diagnostic {
	var (
		re *dnsserver.RecordError
		fe *dnsserver.FileError
	)
	switch {
	case errors.As(err, &re) && re.Record < len(z.Records):
		rec := z.Records[re.Record]
		at := rec.TypeRange
		summary := "Invalid record type"
		if re.RData >= 0 && re.RData < len(rec.RDataRanges) {
			at, summary = rec.RDataRanges[re.RData], "Invalid record data"
		}
		return config.Error(at, summary, fmt.Sprintf("%s %s: %v. Write the data in zone-file syntax, such as \"192.0.2.80\" for an A record.", rec.Name, rec.Type, re.Err))
	case errors.As(err, &fe):
		return config.Error(config.FilePos(displayPath(z.FileRange.Filename, z.File, fe.File), fe.Line, fe.Column),
			"Invalid zone file", fmt.Sprintf("Zone %s: %s. Fix the master file, then validate again.", z.Name, fe.Msg))
	case z.File != "" && errors.Is(err, fs.ErrNotExist), z.File != "" && errors.Is(err, fs.ErrPermission):
		return config.Error(z.FileRange, "Unreadable zone file", fmt.Sprintf("Zone %s: %s.", z.Name, secretError(err)))
	}
	return config.Error(z.DefRange, "Invalid zone", strings.TrimPrefix(err.Error(), "zone "+z.Name+": ")+".")
}

// displayPath names file the way the configuration file that refers to it
// (named cfgFile as given to Load) would: relative to that file's directory
// as given, when it lies below it; ref is the absolute path the
// configuration resolved.
func displayPath(cfgFile, ref, file string) string {
	if file == "" {
		file = ref
	}
	base, err := filepath.Abs(filepath.Dir(cfgFile))
	if err != nil || cfgFile == "" {
		return file
	}
	rel, err := filepath.Rel(base, file)
	if err != nil || strings.HasPrefix(rel, "..") {
		return file
	}
	return filepath.Join(filepath.Dir(cfgFile), rel)
}

// secretError is a file error without the file's content: only the
// operation, the path and the reason.
func secretError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Sprintf("%s %s: %v", pe.Op, pe.Path, pe.Err)
	}
	return err.Error()
}

// pingMonitor is where the first PING monitor is configured.
func pingMonitor(cfg *config.Config) config.Range {
	var found config.Range
	check := func(m *config.Monitor) {
		if m != nil && m.Protocol == config.ProtocolPING && found.Filename == "" {
			found = m.DefRange
		}
	}
	for _, s := range cfg.ActiveFailovers {
		check(s.Monitor)
	}
	for _, s := range cfg.GSLBs {
		check(s.Monitor)
	}
	for _, s := range cfg.RTTMs {
		check(s.Monitor)
		check(s.PerformanceMonitor)
	}
	for _, c := range cfg.Clusters {
		for _, s := range c.Services {
			check(s.Monitor)
		}
	}
	return found
}

// checkListen checks that every listen address can be bound: its IP is one
// of this host's (bound on an ephemeral port and released) and no address
// is listed twice. The real ports are not bound: the daemon may be running.
func checkListen(cfg *config.Config) config.Diagnostics {
	var diags config.Diagnostics
	seen := map[string]bool{}
	check := func(addr string, at config.Range, udp bool, what string) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			diags = append(diags, config.Error(at, "Invalid listen address", err.Error()))
			return
		}
		key := strings.ToLower(net.JoinHostPort(host, port))
		if port != "0" && seen[key] {
			diags = append(diags, config.Error(at, "Listen address used twice", fmt.Sprintf("%s is already a listen address of the daemon; two listeners cannot share it.", addr)))
			return
		}
		seen[key] = true
		if err := bindable(host, udp); err != nil {
			diags = append(diags, config.Error(at, "Listen address cannot be bound",
				fmt.Sprintf("The %s cannot listen on %s: %v. Use an address of this host, such as 127.0.0.1.", what, addr, unwrapNetError(err))))
		}
	}
	for i, a := range cfg.DNS.Listen {
		var at config.Range
		if i < len(cfg.DNS.ListenRanges) {
			at = cfg.DNS.ListenRanges[i]
		}
		check(a, at, true, "DNS server")
	}
	check(cfg.API.Listen, cfg.API.ListenRange, false, "API")
	return diags
}

// bindable binds host on an ephemeral TCP (and UDP) port and releases it.
func bindable(host string, udp bool) error {
	addr := net.JoinHostPort(host, "0")
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	l.Close()
	if udp {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		c.Close()
	}
	return nil
}

// unwrapNetError drops the "listen tcp 1.2.3.4:0:" prefix, which names the
// ephemeral port rather than the configured one.
func unwrapNetError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err
	}
	return err
}

// checkStateDir checks that the state directory exists and is writable, or
// can be created; and that an existing state file can be read and written.
// It takes no lock: a running daemon holds it.
func checkStateDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	case err == nil:
		if err := unix.Access(dir, unix.W_OK|unix.X_OK); err != nil {
			return fmt.Errorf("%s is not writable: %v", dir, err)
		}
		state := filepath.Join(dir, store.FileName)
		if _, err := os.Stat(state); err == nil {
			if err := unix.Access(state, unix.R_OK|unix.W_OK); err != nil {
				return fmt.Errorf("state file %s cannot be read and written: %v", state, err)
			}
		}
		return nil
	case errors.Is(err, fs.ErrNotExist):
		parent := filepath.Dir(dir)
		for parent != filepath.Dir(parent) {
			if _, err := os.Stat(parent); err == nil {
				break
			}
			parent = filepath.Dir(parent)
		}
		pfi, err := os.Stat(parent)
		if err != nil {
			return err
		}
		if !pfi.IsDir() {
			return fmt.Errorf("%s cannot be created: %s is not a directory", dir, parent)
		}
		if err := unix.Access(parent, unix.W_OK|unix.X_OK); err != nil {
			return fmt.Errorf("%s cannot be created in %s: %v", dir, parent, err)
		}
		return nil
	}
	return err
}
