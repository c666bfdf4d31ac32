package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/failoverd/failoverd/api"
)

// splitList reads a comma-separated flag value.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// why prints GET /v1/explain: the region and its rule, the candidates,
// every address with its reason, the failover chain and the steps.
func (c *cli) why(ctx context.Context, fqdn string) error {
	x, err := c.client.Explain(ctx, fqdn, strings.ToUpper(c.qtype), c.clientAddr, c.ecs)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(x)
	}
	serveCount := "all"
	if x.ServeCount > 0 {
		serveCount = strconv.Itoa(x.ServeCount)
	}
	var hops []string
	for _, h := range x.Failover {
		hops = append(hops, fmt.Sprintf("%s -> %s (%s)", h.From, h.To, h.Mode))
	}
	client := x.Client
	if x.ECS != "" {
		client += " (ECS " + x.ECS + ")"
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	for _, row := range [][2]string{
		{"SERVICE", fmt.Sprintf("%s %s (%s, %s)", x.FQDN, x.Type, dash(x.Kind), dash(x.Status))},
		{"CLIENT", dash(client)},
		{"REGION", x.Region.Code + " (" + x.Region.Reason + ")"},
		{"RULE", x.Region.Detail},
		{"ANSWER", dash(strings.Join(x.Answer, ","))},
		{"SERVE COUNT", serveCount},
		{"FAILOVER", dash(strings.Join(hops, ", "))},
	} {
		fmt.Fprintf(tw, "%s\t%s\n", row[0], row[1])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(x.Entries) > 0 {
		fmt.Fprintln(c.out)
		rows := make([][]string, 0, len(x.Entries))
		for _, e := range x.Entries {
			rank := "-"
			if e.EPRank > 0 {
				rank = strconv.Itoa(e.EPRank)
			}
			rows = append(rows, []string{e.Address, e.Status, dash(e.ServeMode), strconv.Itoa(e.Weight), yesNo(e.Removed), rank, yesNo(e.InAnswer), e.Reason})
		}
		if err := c.table("ADDRESS\tSTATUS\tSERVE MODE\tWEIGHT\tREMOVED\tEP\tIN ANSWER\tWHY", rows); err != nil {
			return err
		}
	}
	if len(x.Steps) > 0 {
		fmt.Fprintln(c.out, "\nSTEPS")
		for i, s := range x.Steps {
			fmt.Fprintf(c.out, "%3d. %s\n", i+1, s)
		}
	}
	return nil
}

// whatIf prints POST /v1/whatif: every region whose status or answer
// would change.
func (c *cli) whatIf(ctx context.Context) error {
	down, up := splitList(c.down), splitList(c.up)
	if len(down) == 0 && len(up) == 0 {
		return usagef("whatif: want -down ADDR[,ADDR] and/or -up ADDR[,ADDR]")
	}
	changes, err := c.client.WhatIf(ctx, down, up)
	if err != nil {
		return err
	}
	if c.json {
		if changes == nil {
			changes = []api.WhatIfChange{}
		}
		return c.printJSON(api.WhatIfResponse{Changes: changes})
	}
	if len(changes) == 0 {
		fmt.Fprintln(c.out, "no service's status or answer would change")
		return nil
	}
	rows := make([][]string, 0, len(changes))
	for _, ch := range changes {
		rows = append(rows, []string{ch.FQDN, ch.Region, ch.StatusNow + " -> " + ch.StatusThen,
			dash(strings.Join(ch.ServedNow, ",")), dash(strings.Join(ch.ServedThen, ","))})
	}
	return c.table("FQDN\tREGION\tSTATUS\tSERVED NOW\tSERVED THEN", rows)
}

// zones prints GET /v1/zones.
func (c *cli) zones(ctx context.Context) error {
	zs, err := c.client.Zones(ctx)
	if err != nil {
		return err
	}
	if c.json {
		if zs == nil {
			zs = []api.Zone{}
		}
		return c.printJSON(api.ZonesResponse{Zones: zs})
	}
	rows := make([][]string, 0, len(zs))
	for _, z := range zs {
		rows = append(rows, []string{z.Zone, strconv.FormatUint(uint64(z.Serial), 10), yesNo(z.Signed)})
	}
	return c.table("ZONE\tSERIAL\tSIGNED", rows)
}

func (c *cli) sites(ctx context.Context) error {
	v, err := c.client.Sites(ctx)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(v)
	}
	leader := v.Leader
	if leader == "" {
		leader = "none"
	}
	fmt.Fprintf(c.out, "leader: %s  connected: %s  revision: %d\n", leader, yesNo(v.Connected), v.Revision)
	rows := make([][]string, 0, len(v.Sites))
	for _, s := range v.Sites {
		rows = append(rows, []string{s.Site, s.Hostname, yesNo(s.Leader), s.LastSeen.UTC().Format(time.RFC3339), s.Version})
	}
	return c.table("SITE\tHOSTNAME\tLEADER\tLAST SEEN\tVERSION", rows)
}
