package daemon

import (
	"reflect"
	"testing"
	"time"
)

// TestSameReadBack_AgreesWithDeepEqual checks that the read-back comparison
// of a reload's config events says what reflect.DeepEqual says, for the
// values read-backs are made of and for others.
func TestSameReadBack_AgreesWithDeepEqual(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{
			"ttl": 30, "auto_recover": true, "address": "192.0.2.1",
			"notify_events": []string{"ip", "nosrv"},
			"monitor":       map[string]any{"protocol": "HTTP", "interval": "1m0s", "header": []string{}},
			"region":        map[string]any{"global": map[string]any{"serve_count": 1, "pool": []map[string]any{{"address": "192.0.2.1", "weight": 2}}}},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(m map[string]any)
	}{
		{"same", func(map[string]any) {}},
		{"string differs", func(m map[string]any) { m["address"] = "192.0.2.2" }},
		{"number differs", func(m map[string]any) { m["ttl"] = 31 }},
		{"number of another type", func(m map[string]any) { m["ttl"] = int64(30) }},
		{"boolean differs", func(m map[string]any) { m["auto_recover"] = false }},
		{"list element differs", func(m map[string]any) { m["notify_events"] = []string{"ip", "trouble"} }},
		{"list shorter", func(m map[string]any) { m["notify_events"] = []string{"ip"} }},
		{"empty list against nil list", func(m map[string]any) { m["monitor"].(map[string]any)["header"] = []string(nil) }},
		{"key missing", func(m map[string]any) { delete(m, "ttl") }},
		{"key added", func(m map[string]any) { m["description"] = "" }},
		{"key holds nil", func(m map[string]any) { m["description"] = nil }},
		{"nested map differs", func(m map[string]any) { m["monitor"].(map[string]any)["interval"] = "2m0s" }},
		{"nested map nil", func(m map[string]any) { m["monitor"] = map[string]any(nil) }},
		{"list of maps element differs", func(m map[string]any) {
			m["region"].(map[string]any)["global"].(map[string]any)["pool"] = []map[string]any{{"address": "192.0.2.1", "weight": 3}}
		}},
		{"list of maps longer", func(m map[string]any) {
			m["region"].(map[string]any)["global"].(map[string]any)["pool"] = []map[string]any{{"address": "192.0.2.1", "weight": 2}, {}}
		}},
		{"other type, equal", func(m map[string]any) { m["timeout"] = time.Second }},
		{"value of another kind", func(m map[string]any) { m["ttl"] = "30" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base(), base()
			tc.change(b)
			if tc.name == "other type, equal" {
				tc.change(a)
			}
			want := reflect.DeepEqual(a, b)
			if got := sameReadBack(a, b); got != want {
				t.Errorf("sameReadBack = %v, reflect.DeepEqual = %v", got, want)
			}
			if got := sameReadBack(b, a); got != want {
				t.Errorf("sameReadBack reversed = %v, reflect.DeepEqual = %v", got, want)
			}
		})
	}
}
