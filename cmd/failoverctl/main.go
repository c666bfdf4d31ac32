// Command failoverctl is the command-line client of failoverd's control API:
// one command per API call, tables for people and JSON with -json.
//
// It reads FAILOVERD_ADDR (http://127.0.0.1:8053, https://... for an API
// with TLS, or a bare host:port), FAILOVERD_TOKEN (the token itself) and
// FAILOVERD_CA_FILE (PEM certificates to trust besides the system's), or the
// -addr, -token-file and -ca-file flags, which win over the environment. On
// failure it prints the API's error text and exits 1; a usage error exits 2.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/failoverd/failoverd/api"
)

// version is set with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: failoverctl [flags] COMMAND [ARGS]

commands:
  status [FQDN] [-kind K] [-status S] every service (filtered by kind / status), or one service in full;
         [-limit N] [-after FQDN] [-q TEXT]  a page of the list: N services after FQDN whose name holds TEXT
  activate FQDN                       start monitoring a service
  deactivate FQDN                     stop monitoring; the primary / full pool is served
  recover FQDN [ADDRESS]              bring ADDRESS back, or clear the service's latch and removed addresses
  force FQDN                          sf_pool: force the live record inactive (MANUAL)
  unforce FQDN                        sf_pool: back to NOT_FORCED
  log FQDN [START [END]]              events; START/END RFC 3339 or a duration ago (default START 24h)
  rrsets FQDN [TS]                    what each region served at TS (UNIX seconds or RFC 3339; default now)
  apply FILE                          create or replace each service block of FILE (HCL, native or JSON syntax)
  delete FQDN                         remove a service created over the API
  job ID                              one job
  clusters                            clusters with their services
  cluster list CLUSTER SERVICE        real services of a cluster service
  cluster info CLUSTER SERVICE SERVER
  cluster statistics CLUSTER SERVICE SERVER
  cluster enable|disable|enable_fallback|disable_fallback CLUSTER SERVICE SERVER
  cluster weight CLUSTER SERVICE SERVER WEIGHT
  dnssec ds ZONE                      the DS records of a signed zone, to hand to its parent
  why FQDN [-client IP] [-type T] [-ecs PREFIX]
                                      why a client gets its answer: region and rule, candidates,
                                      every address with its reason, failover chain, steps
  whatif -down ADDR[,ADDR] [-up ADDR[,ADDR]]
                                      what every service would serve if those were down/up now
  reload                              re-read the configuration, as SIGHUP does
  zones                               served zones with their serials
  sites                               the deployment's live sites, the leader and the etcd connection
  health                              GET /healthz
  version                             print failoverctl's version

flags (anywhere on the line):
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a wrong command line: exit 2 with the usage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

type cli struct {
	client *api.Client
	json   bool
	out    io.Writer
	now    func() time.Time
	// Command flags: why, whatif and the status filters.
	clientAddr, qtype, ecs string
	down, up               string
	kind, status           string
	// Paging of status: a page of at most limit services after after,
	// whose FQDN contains query.
	limit        int
	after, query string
}

// run is failoverctl without the process: it returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("failoverctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("addr", "", "API address, a URL or host:port (default $FAILOVERD_ADDR, else http://127.0.0.1:8053)")
	tokenFile := fs.String("token-file", "", "file holding the API token (default: $FAILOVERD_TOKEN)")
	caFile := fs.String("ca-file", "", "PEM certificates to trust for an https:// API (default $FAILOVERD_CA_FILE)")
	asJSON := fs.Bool("json", false, "print the API's JSON instead of tables")
	timeout := fs.Duration("timeout", 30*time.Second, "deadline of the whole call")
	clientAddr := fs.String("client", "", "why: the querying client's address (default: this host's)")
	qtype := fs.String("type", "A", "why: the query type, A, AAAA, CNAME or SRV")
	ecs := fs.String("ecs", "", "why: the query's EDNS Client Subnet, e.g. 198.51.100.0/24")
	down := fs.String("down", "", "whatif: addresses that go down, comma separated")
	up := fs.String("up", "", "whatif: addresses that come up, comma separated")
	kind := fs.String("kind", "", "status: only services of these kinds, comma separated")
	status := fs.String("status", "", "status: only services with these statuses, comma separated")
	limit := fs.Int("limit", 0, "status: at most this many services, in FQDN order (0: all)")
	after := fs.String("after", "", "status: only services after this FQDN (the next page)")
	query := fs.String("q", "", "status: only services whose FQDN contains this text")
	printUsage := func() {
		fmt.Fprint(stderr, usage)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}

	// Flags may come before, between or after the positional arguments.
	var pos []string
	rest := args
	for {
		if len(rest) > 0 && isNegativeNumber(rest[0]) { // a weight such as -1 is an argument, not a flag
			pos = append(pos, rest[0])
			rest = rest[1:]
			continue
		}
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage()
				return 0
			}
			fmt.Fprintf(stderr, "failoverctl: %v\n", err)
			printUsage()
			return 2
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		if rest[0] == "--" {
			pos = append(pos, rest[1:]...)
			break
		}
		pos = append(pos, rest[0])
		rest = rest[1:]
	}
	if len(pos) == 0 {
		printUsage()
		return 2
	}
	if pos[0] == "help" {
		printUsage()
		return 0
	}
	if pos[0] == "version" {
		fmt.Fprintf(stdout, "failoverctl %s\n", version)
		return 0
	}

	a := *addr
	if a == "" {
		a = getenv("FAILOVERD_ADDR")
	}
	token := strings.TrimSpace(getenv("FAILOVERD_TOKEN"))
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "failoverctl: %v\n", err)
			return 1
		}
		token = strings.TrimSpace(string(b))
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	client := api.NewClient(a, token)
	ca := *caFile
	if ca == "" {
		ca = getenv("FAILOVERD_CA_FILE")
	}
	if ca != "" {
		if err := client.SetCAFile(ca); err != nil {
			fmt.Fprintf(stderr, "failoverctl: %v\n", err)
			return 1
		}
	}
	c := &cli{client: client, json: *asJSON, out: stdout, now: time.Now,
		clientAddr: *clientAddr, qtype: *qtype, ecs: *ecs, down: *down, up: *up, kind: *kind, status: *status,
		limit: *limit, after: *after, query: *query}
	if err := c.dispatch(ctx, pos[0], pos[1:]); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "failoverctl: %s\n", ue.msg)
			printUsage()
			return 2
		}
		var ae *api.APIError
		if errors.As(err, &ae) && ae.Type != "" {
			fmt.Fprintf(stderr, "failoverctl: %s (%s)\n", ae.Message, ae.Type)
			for _, d := range ae.Diagnostics {
				fmt.Fprintf(stderr, "  %s\n", d)
			}
			return 1
		}
		fmt.Fprintf(stderr, "failoverctl: %v\n", err)
		return 1
	}
	return 0
}

func isNegativeNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return strings.HasPrefix(s, "-") && err == nil
}

func nargs(cmd string, args []string, min, max int, names string) error {
	if len(args) < min || len(args) > max {
		return usagef("%s: want %s, got %d argument(s)", cmd, names, len(args))
	}
	return nil
}

func (c *cli) dispatch(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "status":
		if err := nargs(cmd, args, 0, 1, "[FQDN]"); err != nil {
			return err
		}
		if len(args) == 0 {
			return c.services(ctx)
		}
		if c.kind != "" || c.status != "" || c.limit != 0 || c.after != "" || c.query != "" {
			return usagef("status: -kind, -status, -limit, -after and -q select from the list of services, not one service")
		}
		return c.service(ctx, args[0])
	case "activate", "deactivate", "force", "unforce":
		if err := nargs(cmd, args, 1, 1, "FQDN"); err != nil {
			return err
		}
		ops := map[string]func(context.Context, string) (*api.Job, error){
			"activate": c.client.Activate, "deactivate": c.client.Deactivate,
			"force": c.client.Force, "unforce": c.client.Unforce,
		}
		job, err := ops[cmd](ctx, args[0])
		if err != nil {
			return err
		}
		return c.job(job)
	case "recover":
		if err := nargs(cmd, args, 1, 2, "FQDN [ADDRESS]"); err != nil {
			return err
		}
		address := ""
		if len(args) == 2 {
			address = args[1]
		}
		job, err := c.client.Recover(ctx, args[0], address)
		if err != nil {
			return err
		}
		return c.job(job)
	case "log":
		return c.log(ctx, args)
	case "rrsets":
		return c.rrsets(ctx, args)
	case "apply":
		if err := nargs(cmd, args, 1, 1, "FILE"); err != nil {
			return err
		}
		return c.apply(ctx, args[0])
	case "delete":
		if err := nargs(cmd, args, 1, 1, "FQDN"); err != nil {
			return err
		}
		job, err := c.client.DeleteService(ctx, args[0])
		if err != nil {
			return err
		}
		return c.job(job)
	case "job":
		if err := nargs(cmd, args, 1, 1, "ID"); err != nil {
			return err
		}
		id, err := strconv.ParseUint(args[0], 10, 64)
		if err != nil {
			return usagef("job: %q is not a job id", args[0])
		}
		job, err := c.client.Job(ctx, id)
		if err != nil {
			return err
		}
		return c.job(job)
	case "clusters":
		if err := nargs(cmd, args, 0, 0, "no arguments"); err != nil {
			return err
		}
		return c.clusters(ctx)
	case "cluster":
		return c.cluster(ctx, args)
	case "dnssec":
		return c.dnssec(ctx, args)
	case "why":
		if err := nargs(cmd, args, 1, 1, "FQDN"); err != nil {
			return err
		}
		return c.why(ctx, args[0])
	case "whatif":
		if err := nargs(cmd, args, 0, 0, "-down ADDR[,ADDR] [-up ADDR[,ADDR]]"); err != nil {
			return err
		}
		return c.whatIf(ctx)
	case "reload":
		if err := nargs(cmd, args, 0, 0, "no arguments"); err != nil {
			return err
		}
		job, err := c.client.Reload(ctx)
		if err != nil {
			return err
		}
		return c.job(job)
	case "zones":
		if err := nargs(cmd, args, 0, 0, "no arguments"); err != nil {
			return err
		}
		return c.zones(ctx)
	case "sites":
		if err := nargs(cmd, args, 0, 0, "no arguments"); err != nil {
			return err
		}
		return c.sites(ctx)
	case "health":
		if err := c.client.Healthz(ctx); err != nil {
			return err
		}
		if c.json {
			return c.printJSON(map[string]string{"status": "ok"})
		}
		fmt.Fprintln(c.out, "ok")
		return nil
	}
	return usagef("unknown command %q", cmd)
}

// dnssec runs "dnssec ds ZONE": the DS records, one per line, as the
// parent zone holds them.
func (c *cli) dnssec(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "ds" {
		return usagef("dnssec: want \"dnssec ds ZONE\"")
	}
	if err := nargs("dnssec ds", args[1:], 1, 1, "ZONE"); err != nil {
		return err
	}
	zone, err := api.NormalizeFQDN(args[1])
	if err != nil {
		return usagef("dnssec ds: %v", err)
	}
	d, err := c.client.ZoneDNSSEC(ctx, zone)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(d)
	}
	for _, ds := range d.DS {
		fmt.Fprintln(c.out, ds)
	}
	return nil
}

func (c *cli) printJSON(v any) error {
	enc := json.NewEncoder(c.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (c *cli) table(header string, rows [][]string) error {
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func rtt(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.3fs", *v)
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (c *cli) services(ctx context.Context) error {
	page, err := c.client.ServicesPage(ctx, api.ServiceQuery{Kinds: splitList(c.kind), Statuses: splitList(c.status),
		Query: c.query, After: c.after, Limit: c.limit})
	if err != nil {
		return err
	}
	if page.Services == nil {
		page.Services = []api.ServiceSummary{}
	}
	if c.json {
		return c.printJSON(page)
	}
	rows := make([][]string, 0, len(page.Services))
	for _, s := range page.Services {
		rows = append(rows, []string{s.FQDN, s.Kind, s.Status, yesNo(s.Active)})
	}
	if err := c.table("FQDN\tKIND\tSTATUS\tACTIVE", rows); err != nil {
		return err
	}
	if page.Next != "" {
		// The table stays parseable; the hint is the last line, like a pager's.
		_, err = fmt.Fprintf(c.out, "more: -after %s\n", page.Next)
	}
	return err
}

func (c *cli) service(ctx context.Context, fqdn string) error {
	d, err := c.client.Service(ctx, fqdn)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(d)
	}
	head := [][]string{{"SERVICE", d.FQDN}, {"KIND", d.Kind}, {"STATUS", d.Status}, {"ACTIVE", yesNo(d.Active)}}
	if d.LiveRecordState != "" {
		head = append(head, []string{"LIVE RECORD", d.LiveRecordState})
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	for _, h := range head {
		fmt.Fprintf(tw, "%s\t%s\n", h[0], h[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(c.out)
	var regions, entries [][]string
	for _, r := range d.Regions {
		regions = append(regions, []string{r.Code, r.Status, dash(strings.Join(r.Served, ","))})
		for _, e := range r.Entries {
			removed := ""
			if e.Removed {
				removed = "removed"
			}
			entries = append(entries, []string{r.Code, e.Address, dash(e.Label), strconv.Itoa(e.Weight), e.ServeMode,
				e.Status, dash(removed), rtt(e.RTTSeconds), when(e.LastProbe), dash(e.Message)})
		}
	}
	if err := c.table("REGION\tSTATUS\tSERVED", regions); err != nil {
		return err
	}
	fmt.Fprintln(c.out)
	return c.table("REGION\tADDRESS\tLABEL\tWEIGHT\tSERVE MODE\tSTATUS\tREMOVED\tRTT\tLAST PROBE\tMESSAGE", entries)
}

func (c *cli) job(j *api.Job) error {
	if c.json {
		return c.printJSON(api.JobResponse{Job: j})
	}
	if j == nil {
		fmt.Fprintln(c.out, "nothing to change (no job)")
		return nil
	}
	return c.table("JOB\tACTION\tTARGET\tSTATUS\tCREATED",
		[][]string{{strconv.FormatUint(j.ID, 10), j.Action, j.Target, j.Status, j.Created.UTC().Format(time.RFC3339)}})
}

// parseWhen reads RFC 3339, or a duration meaning that long ago.
func (c *cli) parseWhen(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return c.now().Add(-d), nil
	}
	return time.Time{}, usagef("%q is neither RFC 3339 (2006-01-02T15:04:05Z) nor a duration ago (24h)", v)
}

func (c *cli) log(ctx context.Context, args []string) error {
	if err := nargs("log", args, 1, 3, "FQDN [START [END]]"); err != nil {
		return err
	}
	start := c.now().Add(-24 * time.Hour)
	var end time.Time
	var err error
	if len(args) > 1 {
		if start, err = c.parseWhen(args[1]); err != nil {
			return err
		}
	}
	if len(args) > 2 {
		if end, err = c.parseWhen(args[2]); err != nil {
			return err
		}
	}
	events, err := c.client.Log(ctx, args[0], start, end)
	if err != nil {
		return err
	}
	if c.json {
		if events == nil {
			events = []api.Event{}
		}
		return c.printJSON(api.LogResponse{Events: events})
	}
	rows := make([][]string, 0, len(events))
	for _, e := range events {
		rows = append(rows, []string{e.Time.UTC().Format(time.RFC3339), e.Kind, dash(e.Region), dash(e.Address), dash(e.OldStatus), dash(e.NewStatus), dash(e.Message)})
	}
	return c.table("TIME\tKIND\tREGION\tADDRESS\tOLD\tNEW\tMESSAGE", rows)
}

func (c *cli) rrsets(ctx context.Context, args []string) error {
	if err := nargs("rrsets", args, 1, 2, "FQDN [TS]"); err != nil {
		return err
	}
	ts := c.now()
	if len(args) == 2 {
		if n, err := strconv.ParseInt(args[1], 10, 64); err == nil {
			ts = time.Unix(n, 0)
		} else if t, err := time.Parse(time.RFC3339, args[1]); err == nil {
			ts = t
		} else {
			return usagef("rrsets: %q is neither UNIX seconds nor RFC 3339", args[1])
		}
	}
	rep, err := c.client.RRSets(ctx, args[0], ts)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(rep)
	}
	fmt.Fprintf(c.out, "TS  %d (%s)\n\n", rep.TS, time.Unix(rep.TS, 0).UTC().Format(time.RFC3339))
	rows := make([][]string, 0, len(rep.Regions))
	for _, r := range rep.Regions {
		rows = append(rows, []string{r.Code, dash(strings.Join(r.Served, ","))})
	}
	return c.table("REGION\tSERVED", rows)
}

func (c *cli) clusters(ctx context.Context) error {
	list, err := c.client.Clusters(ctx)
	if err != nil {
		return err
	}
	if c.json {
		if list == nil {
			list = []api.ClusterSummary{}
		}
		return c.printJSON(api.ClustersResponse{Clusters: list})
	}
	var rows [][]string
	for _, cl := range list {
		if len(cl.Services) == 0 {
			rows = append(rows, []string{cl.Name, "-", "-", "-", "-"})
		}
		for _, s := range cl.Services {
			rows = append(rows, []string{cl.Name, s.Name, s.FQDN, s.Protocol, dash(strings.Join(s.RealServices, ","))})
		}
	}
	return c.table("CLUSTER\tSERVICE\tFQDN\tPROTOCOL\tREAL SERVICES", rows)
}

func realRow(r api.RealService) []string {
	return []string{r.Name, r.IPAddress, strconv.Itoa(r.Port), strconv.Itoa(r.Weight), yesNo(r.Fallback), yesNo(r.Enabled), r.Status}
}

const realHeader = "NAME\tIP ADDRESS\tPORT\tWEIGHT\tFALLBACK\tENABLED\tSTATUS"

func (c *cli) cluster(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("cluster: want a subcommand (list, info, statistics, enable, disable, enable_fallback, disable_fallback, weight)")
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "list":
		if err := nargs("cluster list", args, 2, 2, "CLUSTER SERVICE"); err != nil {
			return err
		}
		list, err := c.client.RealServices(ctx, args[0], args[1])
		if err != nil {
			return err
		}
		if c.json {
			if list == nil {
				list = []api.RealService{}
			}
			return c.printJSON(api.RealServicesResponse{RealServices: list})
		}
		rows := make([][]string, 0, len(list))
		for _, r := range list {
			rows = append(rows, realRow(r))
		}
		return c.table(realHeader, rows)
	case "info":
		if err := nargs("cluster info", args, 3, 3, "CLUSTER SERVICE SERVER"); err != nil {
			return err
		}
		r, err := c.client.RealService(ctx, args[0], args[1], args[2])
		if err != nil {
			return err
		}
		if c.json {
			return c.printJSON(r)
		}
		return c.table(realHeader, [][]string{realRow(*r)})
	case "statistics", "stats":
		if err := nargs("cluster statistics", args, 3, 3, "CLUSTER SERVICE SERVER"); err != nil {
			return err
		}
		st, err := c.client.RealServiceStatistics(ctx, args[0], args[1], args[2])
		if err != nil {
			return err
		}
		if c.json {
			return c.printJSON(st)
		}
		return c.table("ACTIVE\tSTATUS\tRTT\tANSWERS\tPROBES\tPROBE FAILURES\tLAST UPDATE", [][]string{{
			yesNo(st.Active), st.Status, rtt(st.RTTSeconds), strconv.FormatUint(st.AnswersTotal, 10),
			strconv.FormatUint(st.ProbesTotal, 10), strconv.FormatUint(st.ProbeFailuresTotal, 10), when(st.LastUpdate),
		}})
	case "enable", "disable", "enable_fallback", "disable_fallback":
		if err := nargs("cluster "+sub, args, 3, 3, "CLUSTER SERVICE SERVER"); err != nil {
			return err
		}
		job, err := c.client.ClusterOp(ctx, args[0], args[1], args[2], sub)
		if err != nil {
			return err
		}
		return c.job(job)
	case "weight", "set_weight":
		if err := nargs("cluster weight", args, 4, 4, "CLUSTER SERVICE SERVER WEIGHT"); err != nil {
			return err
		}
		w, err := strconv.Atoi(args[3])
		if err != nil {
			return usagef("cluster weight: %q is not an integer", args[3])
		}
		job, err := c.client.SetWeight(ctx, args[0], args[1], args[2], w)
		if err != nil {
			return err
		}
		return c.job(job)
	}
	return usagef("unknown cluster subcommand %q", sub)
}
