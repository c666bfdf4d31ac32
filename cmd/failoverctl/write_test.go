package main

import (
	"strings"
	"testing"
)

func TestApply_SplitsAFileIntoOneBodyPerServiceBlock(t *testing.T) {
	tests := []struct {
		rule, src string
		want      []string // kind fqdn body
		err       string
	}{
		{"an object of labels gives one body per label",
			`{"gslb": {"b.example.com.": {"ttl": 5}, "a.example.com.": {}}, "sf_pool": {"c.example.com.": {"rdata": "192.0.2.1"}}}`,
			[]string{`gslb a.example.com. {"gslb":{"a.example.com.":{}}}`, `gslb b.example.com. {"gslb":{"b.example.com.":{"ttl":5}}}`,
				`sf_pool c.example.com. {"sf_pool":{"c.example.com.":{"rdata":"192.0.2.1"}}}`}, ""},
		{"an array of label objects is HCL's other JSON form",
			`{"rttm": [{"a.example.com.": {}}, {"b.example.com.": {}}]}`,
			[]string{`rttm a.example.com. {"rttm":{"a.example.com.":{}}}`, `rttm b.example.com. {"rttm":{"b.example.com.":{}}}`}, ""},
		{"native HCL syntax is refused", `gslb "a.example.com." {}`, nil, "HCL's JSON syntax"},
		{"a block that is not a service is refused", `{"zone": {"example.com": {}}}`, nil, "not a service block"},
		{"a file without services is refused", `{}`, nil, "no service block"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			got, err := splitServices([]byte(tt.src))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, b := range got {
				lines = append(lines, b.kind+" "+b.fqdn+" "+string(b.body))
			}
			if strings.Join(lines, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
