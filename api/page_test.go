package api_test

import (
	"bytes"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/failoverd/failoverd/api"
	"github.com/failoverd/failoverd/api/apitest"
	"github.com/failoverd/failoverd/internal/testutil"
)

func TestStatusPageIsServedWithoutTokenAndSelfContained(t *testing.T) {
	ts := startServer(t, testToken)
	tests := []struct {
		path, wantType string
		want           []string
	}{
		{"/", "text/html", []string{`<script src="/static/app.js"`, `href="/static/style.css"`, `id="services"`, `id="events"`}},
		{"/static/app.js", "text/javascript", []string{"sessionStorage", "/v1/services", "createElementNS"}},
		{"/static/style.css", "text/css", []string{".badge.status-down"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			status, body, hdr := ts.call(t, "GET", tt.path, "", "")
			raw, _ := body["_raw"].(string)
			if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), tt.wantType) {
				t.Fatalf("status %d, Content-Type %q", status, hdr.Get("Content-Type"))
			}
			if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			for _, w := range tt.want {
				if !strings.Contains(raw, w) {
					t.Errorf("%s lacks %q", tt.path, w)
				}
			}
			for _, bad := range []string{"http://", "https://", "//cdn"} {
				if strings.Contains(strings.ReplaceAll(raw, "http://www.w3.org/2000/svg", ""), bad) {
					t.Errorf("%s refers to an external asset (%q)", tt.path, bad)
				}
			}
		})
	}
	if status, _, _ := ts.call(t, "GET", "/nothing", "", ""); status != 404 {
		t.Errorf("GET /nothing = %d, want 404", status)
	}
}

func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FAILOVERD_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestStatusPageInBrowser loads the page in headless chromium against a
// running server with a token, checks that the script rendered every
// service, region, address, status, chart, event and cluster, and keeps a
// screenshot as a test artifact.
func TestStatusPageInBrowser(t *testing.T) {
	ctl := apitest.NewMemoryAt(time.Now().UTC().Add(-time.Hour).Truncate(time.Second))
	srv, err := api.NewServer(api.Options{Listen: "127.0.0.1:0", Token: testToken}, ctl, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	apitest.Run(t, srv)
	base := "http://" + srv.Addr().String() + "/"
	withToken := base + "#token=" + url.QueryEscape(testToken)

	t.Run("renders every service with its statuses", func(t *testing.T) {
		dom := testutil.Chromium(t, withToken, "--window-size=1280,900", "--dump-dom")
		want := []string{
			`data-state="ok"`,
			`data-fqdn="app.example.com."`, `data-fqdn="www.example.com."`, `data-fqdn="a.example.com."`, `data-fqdn="api.example.com."`,
			`class="service status-trouble"`, `class="service status-failover"`, `class="service status-ok"`,
			`data-region="US East"`, `data-region="global"`,
			`data-address="192.0.2.10"`, `data-address="192.0.2.11"`, `data-address="2001:db8::20"`,
			`class="badge status-up"`, `class="badge status-down"`, `class="badge status-unk"`, `class="badge status-ok"`,
			`connection refused`, `removed`, `NOT_FORCED`, `backup.example.net.`,
			`<svg class="chart"`, `<path class="line" d="M`, `<circle class="down"`,
			`class="event"`, `192.0.2.21`, `nosrv`,
			`data-cluster="web-cluster"`, `data-real="sorry"`, `192.0.2.51:443`,
			// the sites panel and each site's view of an entry
			`data-connected="yes"`, `leader: ams`, `etcd revision 4242`,
			`<tr data-site="ams" data-leader="yes">`, `<tr data-site="iad" data-leader="no">`, `ns2.example.net`,
			`class="site-view" data-site="iad"`,
		}
		for _, w := range want {
			if !strings.Contains(dom, w) {
				t.Errorf("rendered DOM lacks %q", w)
			}
		}
		if t.Failed() {
			t.Logf("DOM:\n%s", dom)
		}
	})

	t.Run("the explain box shows why a client gets its answer", func(t *testing.T) {
		page := base + "?explain=app.example.com.&client=198.51.100.7#token=" + url.QueryEscape(testToken)
		dom := testutil.Chromium(t, page, "--window-size=1280,900", "--dump-dom")
		want := []string{
			`id="explain"`, `data-explain="done"`, `data-region="US East"`, `data-rule="region_map"`,
			`region_map: the source address 198.51.100.7`, `data-address="192.0.2.11" data-in-answer="no"`,
			`removed until recovered`, `data-address="192.0.2.10" data-in-answer="yes"`, `class="explain-steps"`,
		}
		for _, w := range want {
			if !strings.Contains(dom, w) {
				t.Errorf("rendered DOM lacks %q", w)
			}
		}
		if i := strings.Index(dom, `id="explain-result"`); i < 0 || strings.Contains(dom[i:], ">null<") {
			t.Errorf("the explanation shows a stray null")
		}
		if t.Failed() {
			t.Logf("DOM:\n%s", dom)
		}
	})

	t.Run("shows services a page at a time with a search box", func(t *testing.T) {
		tests := []struct {
			name, query   string
			want, wantNot []string
		}{
			{"the first page has a next page", "?limit=2",
				[]string{`id="service-search-input"`, `data-page="1"`, `data-next="api.example.com."`, `data-fqdn="a.example.com."`, `data-fqdn="api.example.com."`},
				[]string{`data-fqdn="app.example.com."`, `data-fqdn="www.example.com."`}},
			{"the page after a cursor is the last", "?limit=2&after=api.example.com.",
				[]string{`data-page="2"`, `data-next=""`, `data-fqdn="app.example.com."`, `data-fqdn="www.example.com."`},
				[]string{`data-fqdn="a.example.com."`, `data-fqdn="api.example.com."`}},
			{"a search shows only matching names", "?q=ww",
				[]string{`data-fqdn="www.example.com."`, "matching “ww”"},
				[]string{`data-fqdn="app.example.com."`, `data-fqdn="a.example.com."`}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				dom := testutil.Chromium(t, base+tt.query+"#token="+url.QueryEscape(testToken), "--window-size=1280,900", "--dump-dom")
				for _, w := range tt.want {
					if !strings.Contains(dom, w) {
						t.Errorf("rendered DOM lacks %q", w)
					}
				}
				for _, w := range tt.wantNot {
					if strings.Contains(dom, w) {
						t.Errorf("rendered DOM has %q", w)
					}
				}
				if t.Failed() {
					t.Logf("DOM:\n%s", dom)
				}
			})
		}
	})

	t.Run("asks for the token", func(t *testing.T) {
		dom := testutil.Chromium(t, base, "--window-size=1280,900", "--dump-dom")
		if !strings.Contains(dom, `data-state="login"`) || strings.Contains(dom, `data-fqdn=`) {
			t.Errorf("without a token the page should ask for one and show no data:\n%s", dom)
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		shot, err := filepath.Abs(filepath.Join(artifactsDir(t), "status-page.png"))
		if err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(shot)
		testutil.Chromium(t, withToken, "--window-size=1280,900", "--screenshot="+shot)
		b, err := os.ReadFile(shot)
		if err != nil {
			t.Fatalf("no screenshot: %v", err)
		}
		if len(b) < 1000 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Errorf("screenshot %s is not a PNG (%d bytes)", shot, len(b))
		}
		t.Logf("screenshot: %s", shot)
	})
}

// TestStatusPageShowsAFailingStore loads the page in headless chromium
// while the store fails, then once it works again.
func TestStatusPageShowsAFailingStore(t *testing.T) {
	var failing atomic.Bool
	failing.Store(true)
	srv, err := api.NewServer(api.Options{Listen: "127.0.0.1:0", StoreHealth: func() error {
		if failing.Load() {
			return errors.New("state file /var/lib/failoverd/failoverd.db: commit: no space left on device")
		}
		return nil
	}}, apitest.NewMemory(), zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	apitest.Run(t, srv)
	base := "http://" + srv.Addr().String() + "/"

	dom := testutil.Chromium(t, base, "--window-size=1280,900", "--dump-dom")
	for _, w := range []string{`data-store="failing"`, `id="store-alert"`, "State is not being saved", "no space left on device", `data-fqdn="app.example.com."`} {
		if !strings.Contains(dom, w) {
			t.Errorf("page with a failing store lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("DOM:\n%s", dom)
	}

	failing.Store(false)
	dom = testutil.Chromium(t, base, "--window-size=1280,900", "--dump-dom")
	if !strings.Contains(dom, `data-store="ok"`) || strings.Contains(dom, "no space left") {
		t.Errorf("page with a working store still shows the banner:\n%s", dom)
	}
}
