package e2e

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/failoverd/failoverd/internal/testutil"
)

// browserArtifacts is $FAILOVERD_ARTIFACTS, else e2e/testdata/artifacts,
// which gets a .gitignore of its own so its files are never committed.
func browserArtifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FAILOVERD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// TestStatusPage_ChromiumAgainstDaemon loads the running daemon's status
// page in Debian's headless chromium, checks that every service, region,
// address and real service appears with its status, and keeps a screenshot
// as a test artifact.
func TestStatusPage_ChromiumAgainstDaemon(t *testing.T) {
	t.Parallel()
	const token = "page-token-5e7a"
	port := testutil.FreePort(t, "127.0.8.11")
	tg := startOpTargets(t, 8, port)
	d := startDaemon(t, opConfig(8, port, opTokenFile(t, token)))
	c := newOpCtl(t, d, token)
	const within = 8 * time.Second

	// Some colour on the page: the gslb's obey address is down (trouble),
	// the sf_pool is forced (MANUAL), the cluster's fallback never answers.
	tg.gKeep.Stop()
	c.mustJob("force", "sf.example.test.", "force", "sf.example.test")
	testutil.Eventually(t, within, "statuses settled with some history", func() (bool, string) {
		g := c.service("g.example.test")
		af := c.service("af.example.test")
		e := opEntry(t, g, "global", "127.0.8.21")
		return g.Status == "trouble" && af.Status == "ok" && len(e.History) >= 3,
			fmt.Sprintf("g %s af %s history %d", g.Status, af.Status, len(e.History))
	})
	opWaitDNS(t, d, "g.example.test.", "127.0.8.21", within)
	opWaitDNS(t, d, "sf.example.test.", "127.0.8.32", within)

	base := "http://" + d.apiAddr + "/"
	withToken := base + "#token=" + url.QueryEscape(token)

	dom := testutil.Chromium(t, withToken, "--window-size=1280,1400", "--dump-dom")
	want := []string{
		`data-state="ok"`,
		`data-fqdn="af.example.test."`, `data-fqdn="g.example.test."`, `data-fqdn="sf.example.test."`,
		`class="service status-ok"`, `class="service status-trouble"`, `class="service status-manual"`,
		`data-region="global"`,
		`data-address="127.0.8.11"`, `data-address="127.0.8.21"`, `data-address="127.0.8.22"`,
		`class="badge status-up"`, `class="badge status-down"`, `class="badge status-ok"`,
		`FORCED_INACTIVE`, `connection refused`, `127.0.8.32`,
		`<svg class="chart"`, `<path class="line" d="M`,
		`class="event"`,
		`data-cluster="web"`, `data-real="web1"`, `data-real="web2"`, `data-real="sorry"`,
		fmt.Sprintf("127.0.8.41:%d", port),
		// a single node is one connected site that leads
		`data-connected="yes"`, `data-leader="yes"`,
	}
	for _, w := range want {
		if !strings.Contains(dom, w) {
			t.Errorf("rendered DOM lacks %q", w)
		}
	}
	if t.Failed() {
		t.Fatalf("DOM:\n%s", dom)
	}

	// The explain box, filled in from the address: the trouble region's
	// down address is left out and says why.
	dom = testutil.Chromium(t, base+"?explain=g.example.test.&client=192.0.2.1#token="+url.QueryEscape(token), "--window-size=1280,1400", "--dump-dom")
	for _, w := range []string{
		`id="explain"`, `data-explain="done"`, `data-region="global"`, `data-rule="global"`,
		`data-address="127.0.8.21" data-in-answer="yes"`, `data-address="127.0.8.22" data-in-answer="no"`,
		`connection refused`, `class="explain-steps"`,
	} {
		if !strings.Contains(dom, w) {
			t.Errorf("explain box: rendered DOM lacks %q", w)
		}
	}
	if t.Failed() {
		t.Fatalf("DOM:\n%s", dom)
	}

	// Without the token the page asks for it and shows no data.
	if dom := testutil.Chromium(t, base, "--window-size=1280,1400", "--dump-dom"); !strings.Contains(dom, `data-state="login"`) || strings.Contains(dom, `data-fqdn=`) {
		t.Errorf("without a token the page should ask for one and show no data:\n%s", dom)
	}
	// A wrong token is refused the same way.
	if dom := testutil.Chromium(t, base+"#token=wrong", "--window-size=1280,1400", "--dump-dom"); !strings.Contains(dom, `data-state="login"`) || strings.Contains(dom, `data-fqdn=`) {
		t.Errorf("with a wrong token the page should ask for one and show no data:\n%s", dom)
	}

	shot := filepath.Join(browserArtifacts(t), "e2e-status-page.png")
	_ = os.Remove(shot)
	testutil.Chromium(t, withToken, "--window-size=1280,1400", "--screenshot="+shot)
	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", shot, err)
	}
	// A rendered page, not a blank one: many colours (text, status badges).
	if n := browserColours(img, 64); n < 16 {
		t.Errorf("screenshot %s has %d colours: the page did not render", shot, n)
	}
	t.Logf("screenshot: %s", shot)
}

// browserColours counts the distinct colours of img, stopping at max.
func browserColours(img image.Image, max int) int {
	seen := map[[4]uint32]bool{}
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			seen[[4]uint32{cr, cg, cb, ca}] = true
			if len(seen) >= max {
				return len(seen)
			}
		}
	}
	return len(seen)
}
