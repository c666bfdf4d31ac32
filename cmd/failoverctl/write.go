package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/failoverd/failoverd/api"
)

// serviceKinds are the block types of services.
var serviceKinds = map[string]bool{"active_failover": true, "gslb": true, "rttm": true, "sf_pool": true}

// serviceBlock is one service of a file, as the body of its PUT.
type serviceBlock struct {
	kind, fqdn string
	body       []byte
}

// splitServices cuts a file in HCL's JSON syntax into one body per service
// block, in the file's order of kinds (then names). A block type may hold
// an object of labels or, as HCL's JSON syntax also allows, an array of
// such objects.
func splitServices(src []byte) ([]serviceBlock, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(src, &top); err != nil {
		return nil, fmt.Errorf("the file must be in HCL's JSON syntax, {\"gslb\": {\"app.example.com.\": {...}}}: %w", err)
	}
	var kinds []string
	for k := range top {
		if !serviceKinds[k] {
			return nil, fmt.Errorf("%q is not a service block: the file may hold active_failover, gslb, rttm and sf_pool blocks only", k)
		}
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var out []serviceBlock
	for _, k := range kinds {
		raw := bytes.TrimSpace(top[k])
		var objs []json.RawMessage
		if len(raw) > 0 && raw[0] == '[' {
			if err := json.Unmarshal(raw, &objs); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
		} else {
			objs = []json.RawMessage{raw}
		}
		for _, o := range objs {
			var byName map[string]json.RawMessage
			if err := json.Unmarshal(o, &byName); err != nil {
				return nil, fmt.Errorf("%s: a service block is an object keyed by its fqdn: %w", k, err)
			}
			var names []string
			for n := range byName {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				body, err := json.Marshal(map[string]map[string]json.RawMessage{k: {n: byName[n]}})
				if err != nil {
					return nil, err
				}
				out = append(out, serviceBlock{kind: k, fqdn: n, body: body})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the file holds no service block")
	}
	return out, nil
}

// apply sends one PUT per service block of the file and stops at the first
// refused one.
func (c *cli) apply(ctx context.Context, path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var blocks []serviceBlock
	if trimmed := bytes.TrimSpace(src); len(trimmed) > 0 && trimmed[0] == '{' {
		// HCL's JSON syntax: split here, one body per service.
		if blocks, err = splitServices(src); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	} else {
		// Native syntax: the daemon, which owns the configuration
		// language, turns each service block into a body.
		converted, err := c.client.ServicesAsJSON(ctx, path, src)
		if err != nil {
			return err
		}
		for _, b := range converted {
			blocks = append(blocks, serviceBlock{kind: b.Kind, fqdn: b.FQDN, body: b.Body})
		}
	}
	var jobs []*api.Job
	for _, b := range blocks {
		job, err := c.client.PutService(ctx, b.fqdn, b.body)
		if err != nil {
			if ae, ok := err.(*api.APIError); ok {
				ae.Message = fmt.Sprintf("%s %s: %s", b.kind, b.fqdn, ae.Message)
				return ae
			}
			return fmt.Errorf("%s %s: %w", b.kind, b.fqdn, err)
		}
		jobs = append(jobs, job)
	}
	if c.json {
		out := make([]api.JobResponse, len(jobs))
		for i, j := range jobs {
			out[i] = api.JobResponse{Job: j}
		}
		return c.printJSON(map[string]any{"jobs": out})
	}
	var rows [][]string
	for i, j := range jobs {
		if j == nil {
			rows = append(rows, []string{"-", "unchanged", blocks[i].fqdn, "-", "-"})
			continue
		}
		rows = append(rows, []string{strconv.FormatUint(j.ID, 10), j.Action, j.Target, j.Status, j.Created.UTC().Format(time.RFC3339)})
	}
	return c.table("JOB\tACTION\tTARGET\tSTATUS\tCREATED", rows)
}
