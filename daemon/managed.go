package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/config"
	"github.com/failoverd/failoverd/store"
)

// PutService implements api.ServiceWriter: the service is checked with the
// whole configuration in memory, written atomically into managed_dir and
// applied through the reload path before the call returns. A change that
// cannot be applied is rolled back, so a refused call changes nothing.
func (c *controller) PutService(ctx context.Context, fqdn string, body []byte) (*api.Job, error) {
	fqdn = strings.ToLower(fqdn)
	block, diags := config.ParseService("request", body)
	if diags.HasErrors() {
		return nil, &api.DiagnosticsError{Summary: "the body is not one service block in HCL's JSON syntax", Diagnostics: config.DiagnosticLines(diags)}
	}
	if label := block.Labels[0]; config.ManagedFile(label) != config.ManagedFile(fqdn) {
		return nil, fmt.Errorf("%w: the path names %s but the body's %s block is %q", api.ErrBadRequest, fqdn, block.Type, label)
	}
	return c.changeManaged(ctx, fqdn, body)
}

// ServiceSource implements api.ServiceWriter.
func (c *controller) ServiceSource(ctx context.Context, fqdn string) ([]byte, bool, error) {
	var cfg *config.Config
	if err := c.loop.call(ctx, func() error { cfg = c.loop.plan.cfg; return nil }); err != nil {
		return nil, false, err
	}
	ref, ok := cfg.LookupService(fqdn)
	if !ok {
		return nil, false, fmt.Errorf("%w: service %s", api.ErrDoesNotExist, strings.ToLower(fqdn))
	}
	body, err := cfg.ServiceSource(fqdn)
	if err != nil {
		c.log.Warn("service source unreadable; answering from the running state only", zap.String("fqdn", ref.FQDN), zap.Error(err))
		return nil, ref.Managed, nil
	}
	return body, ref.Managed, nil
}

// ServicesAsJSON implements api.ServiceWriter.
func (c *controller) ServicesAsJSON(_ context.Context, filename string, src []byte) ([]api.ServiceBlock, error) {
	blocks, diags := config.ServicesAsJSON(filename, src)
	if diags.HasErrors() {
		return nil, &api.DiagnosticsError{Summary: "the file's service blocks cannot be read", Diagnostics: config.DiagnosticLines(diags)}
	}
	out := make([]api.ServiceBlock, len(blocks))
	for i, b := range blocks {
		out[i] = api.ServiceBlock{Kind: b.Kind, FQDN: b.FQDN, Body: b.Body}
	}
	return out, nil
}

// DeleteService implements api.ServiceWriter.
func (c *controller) DeleteService(ctx context.Context, fqdn string) (*api.Job, error) {
	return c.changeManaged(ctx, strings.ToLower(fqdn), nil)
}

func (c *controller) changeManaged(ctx context.Context, fqdn string, body []byte) (*api.Job, error) {
	if c.daemon == nil {
		return nil, errors.New("services cannot be changed here")
	}
	return c.daemon.changeManaged(ctx, fqdn, body)
}

// changeManaged puts (body != nil) or deletes (body == nil) the managed
// service fqdn. Changes and reloads are serialised by configMu, so each
// one checks the configuration it replaces.
func (d *Daemon) changeManaged(ctx context.Context, fqdn string, body []byte) (*api.Job, error) {
	d.configMu.Lock()
	defer d.configMu.Unlock()
	running, err := d.runningConfig(ctx)
	if err != nil {
		return nil, err
	}
	ref, exists := running.LookupService(fqdn)
	switch {
	case exists && !ref.Managed:
		verb := "replaced"
		if body == nil {
			verb = "deleted"
		}
		return nil, fmt.Errorf("%w: service %s is defined in the configuration files at %s and cannot be %s over the API; change it there",
			api.ErrPreconditionFailed, ref.FQDN, ref.Where(), verb)
	case !exists && body == nil:
		return nil, fmt.Errorf("%w: service %s", api.ErrDoesNotExist, fqdn)
	}

	name := config.ManagedFile(fqdn)
	cfg, _, diags := config.LoadChanged(d.configPath, map[string][]byte{name: body})
	if !diags.HasErrors() {
		// The daemon's own checks (zone files, listen addresses, ...) as
		// a reload makes them, before anything is written.
		diags = Check(cfg)
	}
	if diags.HasErrors() {
		return nil, &api.DiagnosticsError{Summary: "the configuration with this change has errors; nothing was changed", Diagnostics: config.ManagedDiagnosticLines(diags, running.Server.ManagedDir)}
	}
	dir := cfg.Server.ManagedDir
	path := filepath.Join(dir, name)
	old, err := os.ReadFile(path)
	hadOld := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("managed service %s: %w", path, err)
	}
	if hadOld && body != nil && exists && string(old) == string(body) {
		return nil, nil // the same service again: nothing to change
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	if body != nil {
		err = writeAtomic(dir, name, body)
	} else {
		err = removeSynced(dir, name)
	}
	if err != nil {
		return nil, fmt.Errorf("managed service %s: %w", path, err)
	}
	// From here the change runs to its end even if the client goes away:
	// the file is written, and it and the served configuration must agree.
	ctx = context.WithoutCancel(ctx)
	undo := func() {
		var rerr error
		if hadOld {
			rerr = writeAtomic(dir, name, old)
		} else {
			rerr = removeSynced(dir, name)
		}
		if rerr != nil {
			d.log.Error("managed service: restoring the previous file failed", zap.String("file", path), zap.Error(rerr))
		}
	}
	if err := d.Reload(ctx, cfg); err != nil {
		undo()
		d.metrics.reloads.WithLabelValues("failure").Inc()
		var de *diagnosticsError
		if errors.As(err, &de) {
			return nil, &api.DiagnosticsError{Summary: "the configuration with this change has errors; nothing was changed", Diagnostics: config.ManagedDiagnosticLines(de.diags, dir)}
		}
		return nil, fmt.Errorf("the change cannot be applied; nothing was changed: %w", err)
	}
	d.metrics.reloads.WithLabelValues("success").Inc()
	action := api.ActionCreate
	switch {
	case body == nil:
		action = api.ActionDelete
	case exists:
		action = api.ActionUpdate
	}
	job, err := d.recordJob(ctx, action, fqdn)
	if err != nil {
		// Not recorded: put the previous configuration back.
		undo()
		if rerr := d.Reload(ctx, running); rerr != nil {
			d.log.Error("managed service: reloading the previous configuration failed", zap.Error(rerr))
		}
		return nil, err
	}
	return job, nil
}

// runningConfig is the configuration being served.
func (d *Daemon) runningConfig(ctx context.Context) (*config.Config, error) {
	var cfg *config.Config
	err := d.loop.call(ctx, func() error { cfg = d.loop.plan.cfg; return nil })
	return cfg, err
}

// recordJob commits a job for a change made by a reload (a managed
// service), with the engine's state.
func (d *Daemon) recordJob(ctx context.Context, action, target string) (*api.Job, error) {
	var job *api.Job
	err := d.loop.call(ctx, func() error {
		j := store.Job{Action: action, Target: target, Status: store.JobStatusComplete, Created: time.Now().UTC(), Actor: api.ActorOf(ctx)}
		if err := d.store.Commit(store.Batch{Job: &j, EngineState: engineState(d.loop.engine)}); err != nil {
			return fmt.Errorf("%s %s was not recorded, nothing changed: %w", action, target, err)
		}
		d.log.Info("managed service changed", zap.Uint64("job", j.ID), zap.String("action", j.Action), zap.String("target", j.Target))
		job = &api.Job{ID: j.ID, Action: j.Action, Target: j.Target, Status: j.Status, Created: j.Created}
		return nil
	})
	return job, err
}

// writeAtomic replaces dir/name with data so that a crash at any point
// leaves the old file or the new one: written to a hidden temporary file
// (which Load ignores), synced, renamed over the old name, and the
// directory synced so that the rename itself is durable.
func writeAtomic(dir, name string, data []byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	removeStale(dir, name)
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			_ = os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	ok = true
	return syncDir(dir)
}

// removeSynced removes dir/name durably; a missing file is no error.
func removeSynced(dir, name string) error {
	if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	removeStale(dir, name)
	return syncDir(dir)
}

// removeStale deletes temporary files of name left by a crash mid-write.
func removeStale(dir, name string) {
	stale, _ := filepath.Glob(filepath.Join(dir, "."+escapeGlob(name)+".*.tmp"))
	for _, s := range stale {
		_ = os.Remove(s)
	}
}

// escapeGlob quotes the pattern characters of filepath.Match in s.
func escapeGlob(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`)
	return r.Replace(s)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
