package daemon

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// A refused API change names the managed file relative to managed_dir
// (never the daemon's own paths) and says which attribute is wrong.
func TestManagedDiagnostics_NameTheFileRelativelyAndTheAttribute(t *testing.T) {
	td := startTestDaemon(t, `zone "example.test" {}`+"\n")
	body := `{"gslb": {"gnew.example.test.": {"syslog": {"port": 514}, "monitor": {"protocol": "NONE", "interval": "10s"},
  "region": {"global": {"pool": {"192.0.2.5": {}}}}}}}`
	req, _ := http.NewRequest(http.MethodPut, "http://"+td.apiAddr+"/v1/services/gnew.example.test.", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		ErrorType   string   `json:"error_type"`
		Diagnostics []string `json:"diagnostics"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != http.StatusBadRequest || len(e.Diagnostics) != 1 {
		t.Fatalf("HTTP %d %+v %v", resp.StatusCode, e, err)
	}
	d := e.Diagnostics[0]
	for _, c := range []struct{ rule, want string }{
		{"the file relative to managed_dir", "gnew.example.test.hcl.json:1:"},
		{"the summary", "error: Missing required argument"},
		{"the attribute", `"server"`},
	} {
		if !strings.Contains(d, c.want) {
			t.Errorf("%s: %q lacks %q", c.rule, d, c.want)
		}
	}
	if strings.Contains(d, td.path[:strings.LastIndex(td.path, "/")]) {
		t.Errorf("%q shows the daemon's own directory", d)
	}
}
