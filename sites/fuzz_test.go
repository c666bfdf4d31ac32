package sites

import (
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

// FuzzViewApply: whatever key and value another writer puts under the
// prefix, applying it never panics, and a refused value leaves the view as
// it was (errUnreadable, never another error).
func FuzzViewApply(f *testing.F) {
	k := keys{prefix: "/failoverd/"}
	for _, seed := range [][2]string{
		{k.site("ams"), encode(siteValue{V: 1, Site: "ams", Hostname: "ns1"})},
		{k.obs("ams", "HTTP|192.0.2.1:80|/"), encode(obsValue{V: 1, Status: StatusDown, Message: "HTTP 503"})},
		{k.state("app.example.com."), encode(dataValue{V: 1, Data: []byte(`{}`)})},
		{k.serial("example.com."), `{"v":1,"serial":2026120601}`},
		{k.event("0000000000000007-00000001"), encode(eventValue{V: 1, Data: []byte("x")})},
		{k.delivered("0000000000000007-00000001"), `{"v":1}`},
		{k.cmd("ams", "ab"), encode(cmdValue{V: 1, Site: "ams"})},
		{k.job(42), encode(jobValue{V: 1})},
		{k.prefix + "election/1234", "ams"},
		{k.prefix + "obs/ams/%zz", `{"v":1,"status":"up"}`},
		{k.prefix + "state/x", `{"v":2}`},
		{k.prefix + "jobs/0", `{"v":1}`},
	} {
		f.Add(seed[0], []byte(seed[1]), false)
		f.Add(seed[0], []byte(seed[1]), true)
	}
	f.Fuzz(func(t *testing.T, key string, value []byte, del bool) {
		v := newView()
		v.sites["ams"] = SiteInfo{Site: "ams"}
		before := len(v.sites) + len(v.reports) + len(v.state) + len(v.serials) + len(v.events) + len(v.cmds) + len(v.jobs)
		kv := &mvccpb.KeyValue{Key: []byte(key), Value: value, CreateRevision: 3, ModRevision: 3}
		err := v.apply(k, kv, del, time.Unix(0, 0), newChanges(3))
		if err != nil {
			if !errors.Is(err, errUnreadable) {
				t.Fatalf("apply(%q) = %v, want errUnreadable", key, err)
			}
			after := len(v.sites) + len(v.reports) + len(v.state) + len(v.serials) + len(v.events) + len(v.cmds) + len(v.jobs)
			if after != before {
				t.Fatalf("a refused value changed the view (%d → %d entries)", before, after)
			}
		}
		_ = v.targetReports("HTTP|192.0.2.1:80|/")
		_ = v.full()
		_, _ = v.leader()
	})
}
