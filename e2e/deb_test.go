package e2e

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/failoverd/failoverd/internal/testutil"
)

// debFiles are the paths the package ships, with their modes, and where
// each comes from in the tree ("" for the built binaries).
var debFiles = []struct {
	path, mode, src string
}{
	{"/etc/failoverd/failoverd.hcl", "-rw-r--r--", "examples/quickstart.hcl"},
	{"/lib/systemd/system/failoverd.service", "-rw-r--r--", "systemd/failoverd.service"},
	{"/usr/bin/failoverctl", "-rwxr-xr-x", ""},
	{"/usr/bin/failoverd", "-rwxr-xr-x", ""},
}

// runCmd runs a command and fails the test with its output when it fails.
func runCmd(t *testing.T, env []string, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Issue 7, packaging: make deb builds a .deb (nfpm as a Go module) whose
// file list is exactly the two binaries, the unit and the default config (a
// conffile); extracted, the files are the tree's, the binaries static and
// stamped with the version; installed with dpkg into a throw-away root the
// package registers, keeps its config on remove and cleans up on purge.
func TestDeb_MakeDebBuildsAPackageWithTheExpectedFiles(t *testing.T) {
	testutil.RequireTool(t, "make", "make")
	testutil.RequireTool(t, "dpkg-deb", "dpkg")
	dpkg := testutil.RequireTool(t, "dpkg", "dpkg")

	dist := t.TempDir()
	const version = "v1.2.3-4-gabc1234-dirty"
	const debVersion = "1.2.3+4.gabc1234.dirty" // no "-": that would be a Debian revision
	runCmd(t, nil, "..", "make", "deb", "DIST="+dist, "VERSION="+version)
	debs, _ := filepath.Glob(filepath.Join(dist, "*.deb"))
	if len(debs) != 1 {
		t.Fatalf("make deb made %v in %s, want one .deb", debs, dist)
	}
	deb := debs[0]
	arch := strings.TrimSpace(runCmd(t, nil, "", "go", "env", "GOARCH"))
	if want := "failoverd_" + debVersion + "_" + arch + ".deb"; filepath.Base(deb) != want {
		t.Errorf("package file %s, want %s", filepath.Base(deb), want)
	}

	// Control fields.
	for field, want := range map[string]string{"Package": "failoverd", "Version": debVersion, "Architecture": arch} {
		if got := strings.TrimSpace(runCmd(t, nil, "", "dpkg-deb", "-f", deb, field)); got != want {
			t.Errorf("control %s = %q, want %q", field, got, want)
		}
	}
	ctl := t.TempDir()
	runCmd(t, nil, "", "dpkg-deb", "-e", deb, ctl)
	if b, err := os.ReadFile(filepath.Join(ctl, "conffiles")); err != nil || strings.TrimSpace(string(b)) != "/etc/failoverd/failoverd.hcl" {
		t.Errorf("conffiles = %q, %v; want /etc/failoverd/failoverd.hcl", b, err)
	}
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		if fi, err := os.Stat(filepath.Join(ctl, s)); err != nil || fi.Mode()&0o111 == 0 {
			t.Errorf("maintainer script %s: %v", s, err)
		}
	}

	// The file list: regular files exactly as expected, nothing else but
	// their directories.
	listing := runCmd(t, nil, "", "dpkg-deb", "-c", deb)
	files := map[string]string{}
	for line := range strings.Lines(listing) {
		f := strings.Fields(line)
		if len(f) < 6 {
			t.Fatalf("dpkg-deb -c line %q", line)
		}
		mode, owner, path := f[0], f[1], strings.TrimPrefix(f[5], ".")
		if owner != "root/root" {
			t.Errorf("%s owned by %s, want root/root", path, owner)
		}
		if mode[0] == 'd' {
			continue
		}
		files[path] = mode
	}
	var want, got []string
	for _, f := range debFiles {
		want = append(want, f.path+" "+f.mode)
	}
	for p, m := range files {
		got = append(got, p+" "+m)
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("dpkg-deb -c files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// dpkg -x: the files are the tree's, the binaries static and stamped.
	x := t.TempDir()
	runCmd(t, nil, "", dpkg, "-x", deb, x)
	checkTree := func(root string) {
		t.Helper()
		for _, f := range debFiles {
			b, err := os.ReadFile(filepath.Join(root, f.path))
			if err != nil {
				t.Errorf("%s: %v", f.path, err)
				continue
			}
			if f.src == "" {
				continue
			}
			src, err := os.ReadFile(filepath.Join("..", f.src))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b, src) {
				t.Errorf("%s differs from %s", f.path, f.src)
			}
		}
		for _, bin := range []string{"failoverd", "failoverctl"} {
			p := filepath.Join(root, "usr/bin", bin)
			ef, err := elf.Open(p)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			for _, prog := range ef.Progs {
				if prog.Type == elf.PT_INTERP {
					t.Errorf("%s is dynamically linked; the package ships static binaries", bin)
				}
			}
			ef.Close()
		}
		if out := runCmd(t, nil, "", filepath.Join(root, "usr/bin/failoverd"), "version"); strings.TrimSpace(out) != "failoverd "+version {
			t.Errorf("failoverd version: %q, want %q", out, "failoverd "+version)
		}
		runCmd(t, nil, "", filepath.Join(root, "usr/bin/failoverd"), "validate", "-config", filepath.Join(root, "etc/failoverd/failoverd.hcl"))
	}
	checkTree(x)

	// dpkg --root: install into a throw-away root (maintainer scripts run
	// outside a chroot with DPKG_ROOT set, so they leave the host's systemd
	// alone), remove (the conffile stays), purge (it and the state go).
	if os.Geteuid() != 0 {
		t.Log("not root: dpkg --root install skipped (dpkg -x checked above)")
		return
	}
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"var/lib/dpkg/status", "var/lib/dpkg/available"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	dpkgRoot := []string{"--root=" + root, "--force-script-chrootless", "--log=/dev/null"}
	runCmd(t, nil, "", dpkg, append(dpkgRoot, "-i", deb)...)
	if st := runCmd(t, nil, "", "dpkg-query", "--root="+root, "-W", "-f=${Status} ${Version}", "failoverd"); st != "install ok installed "+debVersion {
		t.Errorf("dpkg-query status %q", st)
	}
	listed := map[string]bool{}
	for line := range strings.Lines(runCmd(t, nil, "", dpkg, "--root="+root, "-L", "failoverd")) {
		listed[strings.TrimSpace(line)] = true
	}
	for _, f := range debFiles {
		if !listed[f.path] {
			t.Errorf("dpkg -L does not list %s", f.path)
		}
	}
	checkTree(root)

	state := filepath.Join(root, "var/lib/private/failoverd")
	if err := os.MkdirAll(state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(state, "failoverd.db"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	runCmd(t, nil, "", dpkg, append(dpkgRoot, "-r", "failoverd")...)
	if _, err := os.Stat(filepath.Join(root, "usr/bin/failoverd")); err == nil {
		t.Error("remove left /usr/bin/failoverd")
	}
	if _, err := os.Stat(filepath.Join(root, "etc/failoverd/failoverd.hcl")); err != nil {
		t.Errorf("remove took the conffile: %v", err)
	}
	runCmd(t, nil, "", dpkg, append(dpkgRoot, "-P", "failoverd")...)
	for _, p := range []string{"etc/failoverd/failoverd.hcl", "var/lib/private/failoverd"} {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			t.Errorf("purge left /%s", p)
		}
	}
}
