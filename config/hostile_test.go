package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// loadWithin runs Load on another goroutine and fails the test when it
// does not return within the limit (a read that blocks on a named pipe).
func loadWithin(t *testing.T, path string, limit time.Duration) (*Config, map[string]*hcl.File, hcl.Diagnostics) {
	t.Helper()
	type result struct {
		cfg   *Config
		files map[string]*hcl.File
		diags hcl.Diagnostics
	}
	done := make(chan result, 1)
	go func() {
		cfg, files, diags := Load(path)
		done <- result{cfg, files, diags}
	}()
	select {
	case r := <-done:
		return r.cfg, r.files, r.diags
	case <-time.After(limit):
		t.Fatalf("Load(%s) still running after %s", path, limit)
		return nil, nil, nil
	}
}

// mkfifo makes a named pipe and, at cleanup, opens it for writing without
// blocking so that a reader stuck on it (a failing test) is released.
func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	t.Cleanup(func() {
		if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
}

const hostileZone = "zone \"example.net\" {}\n"

// TestHostileFiles checks that a configuration that is, or names, a file
// which is not a regular file, is too large or nests too deeply gives a
// diagnostic at once: no hang, no exhausted memory, no stack overflow.
func TestHostileFiles(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the path to load
		want  string                                // expected in the rendered diagnostics
	}{
		{"config_file_is_a_named_pipe", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "fifo.hcl")
			mkfifo(t, p)
			return p
		}, "fifo.hcl:1:1: error: Not a regular file"},
		{"directory_member_is_a_named_pipe", func(t *testing.T, dir string) string {
			os.WriteFile(filepath.Join(dir, "a.hcl"), []byte(hostileZone), 0o644)
			mkfifo(t, filepath.Join(dir, "b.hcl"))
			return dir
		}, "b.hcl:1:1: error: Not a regular file"},
		{"config_file_is_dev_zero", func(t *testing.T, dir string) string {
			return "/dev/zero"
		}, "/dev/zero:1:1: error: Not a regular file"},
		{"directory_member_links_to_dev_zero", func(t *testing.T, dir string) string {
			os.WriteFile(filepath.Join(dir, "a.hcl"), []byte(hostileZone), 0o644)
			if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.hcl")); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "zero.hcl:1:1: error: Not a regular file"},
		{"zone_file_is_a_named_pipe", func(t *testing.T, dir string) string {
			mkfifo(t, filepath.Join(dir, "example.net.zone"))
			p := filepath.Join(dir, "c.hcl")
			os.WriteFile(p, []byte("zone \"example.net\" {\n  file = \"example.net.zone\"\n}\n"), 0o644)
			return p
		}, "c.hcl:2:10: error: Not a regular file"},
		{"token_file_is_a_named_pipe", func(t *testing.T, dir string) string {
			mkfifo(t, filepath.Join(dir, "token"))
			p := filepath.Join(dir, "c.hcl")
			os.WriteFile(p, []byte("api {\n  token_file = \"token\"\n}\n"), 0o644)
			return p
		}, "c.hcl:2:16: error: Not a regular file"},
		{"secret_file_is_dev_zero", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "c.hcl")
			os.WriteFile(p, []byte("tsig_key \"xfr\" {\n  secret_file = \"/dev/zero\"\n}\n"), 0o644)
			return p
		}, "c.hcl:2:17: error: Not a regular file"},
		{"config_file_over_the_size_limit", func(t *testing.T, dir string) string {
			// A sparse file: its size is refused before any byte is read.
			p := filepath.Join(dir, "big.hcl")
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(MaxConfigSize + 1); err != nil {
				t.Fatal(err)
			}
			return p
		}, "big.hcl:1:1: error: Configuration too large"},
		{"directory_over_the_size_limit_together", func(t *testing.T, dir string) string {
			// 40 MiB of comment, then a sparse file that takes the total
			// past MaxConfigSize.
			if err := os.WriteFile(filepath.Join(dir, "a.hcl"), []byte("# "+strings.Repeat("x", 40<<20)+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := os.Create(filepath.Join(dir, "b.hcl"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(30 << 20); err != nil {
				t.Fatal(err)
			}
			return dir
		}, "b.hcl:1:1: error: Configuration too large"},
		{"tokens_over_the_limit", func(t *testing.T, dir string) string {
			// Four tokens a line: the 2,000,001st line passes MaxTokens.
			p := filepath.Join(dir, "dense.hcl")
			os.WriteFile(p, []byte(strings.Repeat("a {}\n", MaxTokens/4+10)), 0o644)
			return p
		}, "dense.hcl:2000001:1: error: Configuration too large"},
		{"zone_file_over_the_size_limit", func(t *testing.T, dir string) string {
			f, err := os.Create(filepath.Join(dir, "big.zone"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Truncate(MaxZoneFileSize + 1); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, "c.hcl")
			os.WriteFile(p, []byte("zone \"example.net\" { file = \"big.zone\" }\n"), 0o644)
			return p
		}, "c.hcl:1:29: error: File too large"},
		{"nested_brackets_400KB", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "deep.hcl")
			os.WriteFile(p, []byte("zone \"example.net\" {\n  ns = "+strings.Repeat("[", 400<<10)+"\n}\n"), 0o644)
			return p
		}, "deep.hcl:2:107: error: Nesting too deep"},
		{"nested_blocks_400KB", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "deep.hcl")
			os.WriteFile(p, []byte(strings.Repeat("a {\n", 100<<10)), 0o644)
			return p
		}, "deep.hcl:101:3: error: Nesting too deep"},
		{"negations_400KB", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "deep.hcl")
			os.WriteFile(p, []byte("zone \"example.net\" {\n  ttl = "+strings.Repeat("-", 400<<10)+"1\n}\n"), 0o644)
			return p
		}, "deep.hcl:2:108: error: Nesting too deep"},
		{"additions_400KB", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, "deep.hcl")
			os.WriteFile(p, []byte("zone \"example.net\" {\n  ttl = "+strings.Repeat("1+", 200<<10)+"1\n}\n"), 0o644)
			return p
		}, "deep.hcl:2:208: error: Nesting too deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.setup(t, t.TempDir())
			cfg, files, diags := loadWithin(t, path, 20*time.Second)
			if cfg != nil || !diags.HasErrors() {
				t.Fatal("loaded without errors")
			}
			out := render(t, files, diags)
			if !strings.Contains(out, tc.want) {
				t.Errorf("want %q in:\n%s", tc.want, out)
			}
			if len(out) > 4096 {
				t.Errorf("diagnostics of %d bytes: a snippet shows only a window of a long line", len(out))
			}
		})
	}
}

// TestReadRegularFile checks the exported helper the daemon uses for files
// it reads after Load.
func TestReadRegularFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	os.WriteFile(small, []byte("0123456789"), 0o644)
	fifo := filepath.Join(dir, "fifo")
	mkfifo(t, fifo)

	if b, err := ReadRegularFile(small, 10); err != nil || string(b) != "0123456789" {
		t.Errorf("file at the limit: %q %v", b, err)
	}
	for _, tc := range []struct {
		name, path string
		max        int64
		want       error
	}{
		{"over_the_limit", small, 9, ErrTooLarge},
		{"named_pipe", fifo, 1 << 20, ErrNotRegular},
		{"directory", dir, 1 << 20, ErrNotRegular},
		{"character_device", "/dev/zero", 1 << 20, ErrNotRegular},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := ReadRegularFile(tc.path, tc.max)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, tc.want) {
					t.Errorf("err = %v, want %v", err, tc.want)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("ReadRegularFile blocked")
			}
		})
	}
}

// TestHostileServiceBodies checks the texts the control API hands to
// config (a service in JSON syntax, native HCL to convert): deep nesting is
// a diagnostic, not a stack overflow that kills the daemon.
func TestHostileServiceBodies(t *testing.T) {
	deepJSON := `{"gslb": {"app.example.com.": {"ttl": ` + strings.Repeat("[", 400<<10) + `}}}`
	deepTemplate := `{"gslb": {"app.example.com.": {"ttl": "` + strings.Repeat("${", 200<<10) + `"}}}`
	for _, tc := range []struct {
		name  string
		parse func() hcl.Diagnostics
		want  string
	}{
		{"json_service_nested_brackets", func() hcl.Diagnostics {
			_, diags := ParseService("request", []byte(deepJSON))
			return diags
		}, "request:1:136: error: Nesting too deep"},
		{"json_service_nested_templates", func() hcl.Diagnostics {
			_, diags := ParseService("request", []byte(deepTemplate))
			return diags
		}, "request:1:"},
		{"json_service_not_utf8", func() hcl.Diagnostics {
			_, diags := ParseService("request", []byte("{\"gslb\": \xff}"))
			return diags
		}, "request:1:10: error: Invalid character encoding"},
		{"native_services_nested_brackets", func() hcl.Diagnostics {
			_, diags := ServicesAsJSON("apply.hcl", []byte("gslb \"app.example.com.\" {\n  ttl = "+strings.Repeat("(", 400<<10)+"\n}\n"))
			return diags
		}, "apply.hcl:2:108: error: Nesting too deep"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			diags := tc.parse()
			out := render(t, nil, diags)
			if !diags.HasErrors() || !strings.Contains(out, tc.want) || !strings.Contains(out, "error: ") {
				t.Errorf("want %q in:\n%s", tc.want, out)
			}
		})
	}
}
