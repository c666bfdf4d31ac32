package api_test

import (
	"context"
	"slices"
	"testing"

	"github.com/failoverd/failoverd/api"
)

// The memory controller holds app, www, a and api (example.com.), listed in
// that order; paged answers are in FQDN order.
func TestServicesPaging(t *testing.T) {
	ts := startServer(t, testToken)
	tests := []struct {
		name       string
		query      string
		wantStatus int
		want       []string
		wantNext   string
	}{
		{"without limit the whole list stays in engine order", "", 200, []string{"app.example.com.", "www.example.com.", "a.example.com.", "api.example.com."}, ""},
		{"limit gives the first page in FQDN order and next", "?limit=2", 200, []string{"a.example.com.", "api.example.com."}, "api.example.com."},
		{"after continues past the given FQDN", "?limit=2&after=api.example.com.", 200, []string{"app.example.com.", "www.example.com."}, ""},
		{"after without the trailing dot means the same name", "?limit=2&after=API.example.com", 200, []string{"app.example.com.", "www.example.com."}, ""},
		{"a page exactly at the end has no next", "?limit=4", 200, []string{"a.example.com.", "api.example.com.", "app.example.com.", "www.example.com."}, ""},
		{"q is a substring of the FQDN in any letter case", "?q=AP", 200, []string{"api.example.com.", "app.example.com."}, ""},
		{"q with limit pages the matches", "?q=ap&limit=1", 200, []string{"api.example.com."}, "api.example.com."},
		{"q matching nothing is []", "?q=nothere", 200, []string{}, ""},
		{"paging keeps the kind filter", "?kind=gslb,rttm&limit=1", 200, []string{"api.example.com."}, "api.example.com."},
		{"paging keeps the status filter", "?status=ok&limit=1&after=a.example.com.", 200, []string{"www.example.com."}, ""},
		{"limit zero is a bad request", "?limit=0", 400, nil, ""},
		{"limit not a number is a bad request", "?limit=ten", 400, nil, ""},
		{"limit above the maximum is a bad request", "?limit=1001", 400, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := ts.call(t, "GET", "/v1/services"+tt.query, testToken, "")
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %v", status, tt.wantStatus, body)
			}
			if tt.wantStatus != 200 {
				if body["error_type"] != "ApiErrorBadRequest" {
					t.Errorf("error %v", body)
				}
				return
			}
			list, ok := body["services"].([]any)
			if !ok {
				t.Fatalf("services %v, want a list", body["services"])
			}
			got := []string{}
			for _, s := range list {
				got = append(got, s.(map[string]any)["fqdn"].(string))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("services %v, want %v", got, tt.want)
			}
			next, has := body["next"]
			if tt.wantNext == "" && has {
				t.Errorf("next %v, want none", next)
			}
			if tt.wantNext != "" && next != tt.wantNext {
				t.Errorf("next %v, want %s", next, tt.wantNext)
			}
		})
	}
}

// Walking the pages with the Client's ServicesPage visits every service
// once, in FQDN order.
func TestServicesPagesCoverTheListOnce(t *testing.T) {
	ts := startServer(t, testToken)
	c := api.NewClient(ts.base, testToken)
	ctx := context.Background()
	all, err := c.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, s := range all {
		want = append(want, s.FQDN)
	}
	slices.Sort(want)
	var got []string
	sq := api.ServiceQuery{Limit: 1}
	for range len(all) + 1 {
		page, err := c.ServicesPage(ctx, sq)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Services {
			got = append(got, s.FQDN)
		}
		if page.Next == "" {
			break
		}
		sq.After = page.Next
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages %v, want %v", got, want)
	}
}
