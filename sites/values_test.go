package sites

import (
	"errors"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
)

func TestDecode_VersionedValues(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		wantOK bool
	}{
		{"this version is read", `{"v":1,"status":"up"}`, true},
		{"a newer version is refused", `{"v":2,"status":"up"}`, false},
		{"a value without a version is refused", `{"status":"up"}`, false},
		{"not JSON is refused", `up`, false},
		{"a wrong field type is refused", `{"v":1,"status":5}`, false},
	}
	for _, tt := range tests {
		var ov obsValue
		err := decode([]byte(tt.in), &ov)
		if (err == nil) != tt.wantOK {
			t.Errorf("%s: err = %v", tt.name, err)
		}
		if err != nil && !errors.Is(err, errUnreadable) {
			t.Errorf("%s: %v does not wrap errUnreadable", tt.name, err)
		}
	}
}

func TestKeys_RoundTripTargetsWithSlashes(t *testing.T) {
	k := keys{prefix: "/failoverd/"}
	v := newView()
	v.sites["ams"] = SiteInfo{Site: "ams"}
	ch := newChanges(1)
	target := "HTTP|192.0.2.1:80|/health?x=1 2"
	kv := &mvccpb.KeyValue{Key: []byte(k.obs("ams", target)), Value: []byte(encode(obsValue{V: valueVersion, Status: StatusDown, Message: "HTTP 503"}))}
	if err := v.apply(k, kv, false, time.Now(), ch); err != nil {
		t.Fatal(err)
	}
	got := v.targetReports(target)
	if len(got) != 1 || got[0].Site != "ams" || got[0].Status != StatusDown || got[0].Message != "HTTP 503" {
		t.Fatalf("reports %+v", got)
	}
	if !ch.targets[target] {
		t.Error("target not marked changed")
	}
}

func TestView_UnknownKindsAndBadKeysAreUnreadable(t *testing.T) {
	k := keys{prefix: "/failoverd/"}
	for _, key := range []string{"/failoverd/future/x", "/failoverd/obs/ams", "/failoverd/jobs/abc", "/failoverd/state/%zz"} {
		v := newView()
		err := v.apply(k, &mvccpb.KeyValue{Key: []byte(key), Value: []byte(`{"v":1}`)}, false, time.Now(), newChanges(1))
		if !errors.Is(err, errUnreadable) {
			t.Errorf("%s: err = %v, want unreadable", key, err)
		}
	}
}

func TestView_ReportsOfDeadSitesDoNotCount(t *testing.T) {
	k := keys{prefix: "/p/"}
	v := newView()
	now := time.Now()
	put := func(key, val string) {
		t.Helper()
		if err := v.apply(k, &mvccpb.KeyValue{Key: []byte(key), Value: []byte(val)}, false, now, newChanges(1)); err != nil {
			t.Fatal(err)
		}
	}
	put(k.site("ams"), encode(siteValue{V: 1, Site: "ams"}))
	put(k.site("fra"), encode(siteValue{V: 1, Site: "fra"}))
	put(k.obs("ams", "t"), encode(obsValue{V: 1, Status: StatusDown}))
	put(k.obs("fra", "t"), encode(obsValue{V: 1, Status: StatusUp}))
	ch := newChanges(2)
	if err := v.apply(k, &mvccpb.KeyValue{Key: []byte(k.site("fra"))}, true, now, ch); err != nil {
		t.Fatal(err)
	}
	if !ch.targets["t"] {
		t.Error("a site going away did not mark its targets changed")
	}
	if got := v.targetReports("t"); len(got) != 1 || got[0].Site != "ams" {
		t.Fatalf("reports %+v, want only ams", got)
	}
}

func TestOptions_Defaults(t *testing.T) {
	o, err := Options{Endpoints: []string{"http://127.0.0.1:2379"}, Site: "ams", LeaseTTL: 2500 * time.Millisecond}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if o.Prefix != DefaultPrefix || o.DialTimeout != DefaultDialTimeout || o.MaxTxnOps != DefaultMaxTxnOps {
		t.Errorf("defaults not applied: %+v", o)
	}
	if o.LeaseTTL != 3*time.Second {
		t.Errorf("lease_ttl 2.5s became %s, want 3s (etcd leases are whole seconds, rounded up)", o.LeaseTTL)
	}
	o, err = Options{Endpoints: []string{"http://127.0.0.1:2379"}, Site: "ams"}.withDefaults()
	if err != nil || o.LeaseTTL != DefaultLeaseTTL {
		t.Errorf("default lease_ttl %s, %v", o.LeaseTTL, err)
	}
}
