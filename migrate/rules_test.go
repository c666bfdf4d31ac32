package migrate

import (
	"regexp"
	"strings"
	"testing"
)

// afo is a Dyn Active Failover export with extra fields (each starting with
// a comma) and the given monitor.
func afo(monitor, extra string) string {
	if monitor == "" {
		monitor = `{"protocol": "HTTP", "interval": 1}`
	}
	return `{"zone": "example.com", "fqdn": "www.example.com", "address": "192.0.2.1",
	  "failover_data": "192.0.2.2", "monitor": ` + monitor + extra + `}`
}

// gslb is a Dyn GSLB export with extra service fields and the given
// regions; an empty regions string is one global region of one address.
func gslb(extra, regions string) string {
	if regions == "" {
		regions = `{"region_code": "global", "pool": [{"address": "192.0.2.10"}]}`
	}
	return `{"zone": "example.com", "fqdn": "app.example.com",
	  "monitor": {"protocol": "TCP", "interval": 1}` + extra + `, "region": [` + regions + `]}`
}

// rttm is gslb with a performance monitor, which makes it an RTTM export.
func rttm(regions string) string {
	return gslb(`, "performance_monitor": {"protocol": "HTTP", "interval": 5}`, regions)
}

// sf is an UltraDNS rrset list envelope of one SF pool rrset whose fields
// (after ownerName) are given.
func sf(fields string) string {
	return `{"zoneName": "example.com.", "rrSets": [{"ownerName": "a.example.com.", ` + fields + `}]}`
}

const sfProfileA = `"profile": {"@context": "http://schemas.ultradns.com/SFPool.jsonschema",
  "monitor": {"method": "GET", "url": "http://192.0.2.40/"}, "regionFailureSensitivity": "HIGH"}`

var spaces = regexp.MustCompile(`\s+`)

// lines are the output's lines with indentation removed and runs of spaces
// (the alignment of equals signs) made one, so a rule can name one line.
func lines(out string) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		m[spaces.ReplaceAllString(strings.TrimSpace(l), " ")] = true
	}
	return m
}

func TestDyn_FieldMappings(t *testing.T) {
	for _, tc := range []struct {
		rule  string
		input string
		want  []string // lines the output has
		not   []string // lines it must not have
	}{
		{"interval_in_minutes_becomes_a_duration", afo(`{"protocol": "HTTP", "interval": "15"}`, ""),
			[]string{`interval = "15m"`}, nil},
		{"timeout_in_seconds_becomes_a_duration", afo(`{"protocol": "HTTP", "interval": 1, "timeout": 10}`, ""),
			[]string{`timeout = "10s"`}, nil},
		{"timeout_not_below_the_interval_is_a_comment", afo(`{"protocol": "HTTP", "interval": 1, "timeout": 60}`, ""),
			[]string{`# not imported: timeout = 60: a timeout is less than the interval (1m)`}, []string{`timeout = "1m0s"`}},
		{"numbers_as_strings_are_numbers", afo(`{"protocol": "TCP", "interval": 1, "port": "8443", "retries": "3"}`, ""),
			[]string{`port = 8443`, `retries = 3`}, nil},
		{"protocol_any_case_is_upper_case", afo(`{"protocol": "https", "interval": 1}`, ""),
			[]string{`protocol = "HTTPS"`}, nil},
		{"Y_and_N_become_booleans", afo("", `, "auto_recover": "N", "active": "Y"`),
			[]string{`auto_recover = false`, `active = true`}, nil},
		{"notify_events_comma_string_becomes_a_list", afo("", `, "notify_events": "ip, nosrv"`),
			[]string{`notify_events = ["ip", "nosrv"]`}, nil},
		{"empty_notify_events_means_no_events", afo("", `, "notify_events": ""`),
			[]string{`notify_events = []`}, nil},
		{"unknown_notify_event_is_a_comment", afo("", `, "notify_events": "svc,pager"`),
			[]string{`notify_events = ["svc"]`, `# not imported: notify_events "pager": failoverd's events are ip, svc, nosrv`}, nil},
		{"address_host_name_gets_the_final_dot", afo("", `, "address": "origin.example.net"`),
			[]string{`address = "origin.example.net."`}, nil},
		{"cname_failover_data_gets_the_final_dot", afo("", `, "failover_mode": "CNAME", "failover_data": "backup.example.net"`),
			[]string{`failover_mode = "cname"`, `failover_data = "backup.example.net."`}, nil},
		{"service_name_is_absolute", afo("", ""),
			[]string{`active_failover "www.example.com." {`}, nil},
		{"zone_named_by_the_export_gets_a_zone_block", afo("", ""),
			[]string{`zone "example.com" {}`}, nil},
		{"blank_contact_nickname_is_no_contact", afo("", `, "contact_nickname": " "`),
			nil, []string{`contact_nickname = " "`, `contact " " {`}},
		{"contact_nickname_gets_a_placeholder_contact", afo("", `, "contact_nickname": "ops"`),
			[]string{`contact_nickname = "ops"`, `contact "ops" {`, `email = ["replace-me@example.invalid"]`}, nil},
		{"ttl_within_half_the_interval_is_kept", afo(`{"protocol": "HTTP", "interval": 1}`, `, "ttl": 30`),
			[]string{`ttl = 30`}, nil},
		{"ttl_above_half_the_interval_is_lowered_with_a_comment", afo(`{"protocol": "HTTP", "interval": 1}`, `, "ttl": 60`),
			[]string{`# not imported: ttl = 60: a ttl is at most half the monitor interval (1m) here, so it is 30`, `ttl = 30`}, []string{`ttl = 60`}},
		{"syslog_fields_become_a_syslog_block", afo("", `, "syslog_server": "192.0.2.250", "syslog_port": "5514", "syslog_facility": "LOCAL3", "syslog_delivery": "all", "syslog_ident": "x"`),
			[]string{`syslog {`, `server = "192.0.2.250"`, `port = 5514`, `facility = "local3"`, `delivery = "all"`, `ident = "x"`}, nil},
		{"syslog_defaults_without_a_server_say_nothing", afo("", `, "syslog_server": "", "syslog_port": "514", "syslog_ident": "dynect"`),
			nil, []string{`syslog {`, `# not imported: syslog_port = "514": there is no syslog_server, so no syslog`}},
		{"syslog_settings_without_a_server_are_comments", afo("", `, "syslog_server": "", "syslog_ident": "mine"`),
			[]string{`# not imported: syslog_ident = "mine": there is no syslog_server, so no syslog`}, []string{`syslog {`}},
		{"rttm_format_outside_rttm_is_a_comment", gslb(`, "syslog_server": "s.example.net", "syslog_rttm_fmt": "%med"`, ""),
			// syslog_rttm_fmt makes the export an RTTM, so it is kept.
			[]string{`rttm "app.example.com." {`, `rttm_fmt = "%med"`}, nil},
		{"fields_a_protocol_does_not_use_are_comments", afo(`{"protocol": "TCP", "interval": 1, "path": "/x", "expected": "hi"}`, ""),
			[]string{`# not imported: path = "/x": a TCP monitor does not use it`, `# not imported: expected = "hi": a TCP monitor does not use it`}, []string{`path = "/x"`}},
		{"smtp_monitor_keeps_expected", afo(`{"protocol": "SMTP", "interval": 1, "expected": "ESMTP"}`, ""),
			[]string{`expected = "ESMTP"`}, nil},
		{"ping_monitor_has_no_port", afo(`{"protocol": "PING", "interval": 1, "port": 7}`, ""),
			[]string{`# not imported: port = 7: a PING monitor has no port`}, []string{`port = 7`}},
		{"retries_beyond_ten_are_a_comment", afo(`{"protocol": "HTTP", "interval": 1, "retries": 11}`, ""),
			[]string{`# not imported: retries = 11: failoverd retries 0 to 10 times`}, nil},
		{"empty_strings_are_unset", afo(`{"protocol": "HTTP", "interval": 1, "path": "", "host": "", "port": ""}`, ""),
			nil, []string{`path = ""`, `host = ""`, `port = 0`}},
		{"unknown_fields_are_comments_where_they_were", afo(`{"protocol": "HTTP", "interval": 1, "status": "up"}`, `, "escalation": {"after": 3}`),
			[]string{`# not imported: status = "up"`, `# not imported: escalation = {"after":3}`}, nil},
		{"strings_with_template_sequences_are_escaped", afo(`{"protocol": "HTTP", "interval": 1, "expected": "${a} %{b} \"q\" \\ tab\t"}`, ""),
			[]string{`expected = "$${a} %%{b} \"q\" \\ tab\t"`}, nil},
		{"envelope_status_job_id_and_msgs_are_not_configuration", `{"status": "success", "job_id": 1, "msgs": [{"INFO": "x"}], "data": ` + afo("", "") + `}`,
			[]string{`active_failover "www.example.com." {`}, []string{`# not imported: job_id = 1`}},
		{"a_list_of_services_imports_each", `[` + afo("", "") + `, ` + gslb("", "") + `]`,
			[]string{`active_failover "www.example.com." {`, `gslb "app.example.com." {`}, nil},
		{"pool_host_name_gets_the_final_dot", gslb("", `{"region_code": "global", "pool": [{"address": "LB-1.cdn.example.net"}]}`),
			[]string{`pool "lb-1.cdn.example.net." {}`}, nil},
		{"pool_ipv6_address_is_written_canonically", gslb("", `{"region_code": "global", "pool": [{"address": "2001:DB8:0::1"}]}`),
			[]string{`pool "2001:db8::1" {}`}, nil},
		{"pool_fields_keep_their_names", gslb("", `{"region_code": "global", "pool": [{"address": "192.0.2.10", "label": "a", "weight": "7", "serve_mode": "Remove"}]}`),
			[]string{`label = "a"`, `weight = 7`, `serve_mode = "remove"`}, nil},
		{"pool_log_is_summarised", gslb("", `{"region_code": "global", "pool": [{"address": "192.0.2.10", "log": [{}, {}]}]}`),
			[]string{`# not imported: log: 2 entries of monitoring history`}, nil},
		{"region_code_any_case_is_the_built_in_code", gslb("", `{"region_code": "GLOBAL", "pool": [{"address": "192.0.2.10"}]}, {"region_code": "us east", "failover_mode": "region", "failover_data": "Global", "pool": [{"address": "192.0.2.11"}]}`),
			[]string{`region "global" {`, `region "US East" {`, `failover_data = "global"`}, nil},
		{"region_fields_keep_their_names", gslb("", `{"region_code": "global", "serve_count": "2", "min_healthy": "0", "failover_mode": "ip", "failover_data": "192.0.2.99", "pool": [{"address": "192.0.2.10"}]}`),
			[]string{`serve_count = 2`, `min_healthy = 0`, `failover_mode = "ip"`, `failover_data = "192.0.2.99"`}, nil},
		{"global_failover_data_is_dropped_when_global", gslb("", `{"region_code": "global", "failover_mode": "global", "failover_data": "global", "pool": [{"address": "192.0.2.10"}]}`),
			[]string{`failover_mode = "global"`}, []string{`failover_data = "global"`}},
		{"gslb_region_with_rttm_fields_makes_an_rttm", gslb("", `{"region_code": "global", "ep": 1, "pool": [{"address": "192.0.2.10"}]}`),
			[]string{`rttm "app.example.com." {`, `ep = 1`}, nil},
		{"performance_monitor_makes_an_rttm", rttm(""),
			[]string{`rttm "app.example.com." {`, `performance_monitor {`, `interval = "5m"`}, nil},
		{"rttm_region_fields_keep_their_names", rttm(`{"region_code": "global", "autopopulate": "N", "ep": 2, "apmc": 1, "epmc": 1, "pool": [{"address": "192.0.2.10"}]}`),
			[]string{`ep = 2`, `apmc = 1`, `epmc = 1`}, []string{`autopopulate = false`}},
		{"autopopulated_region_keeps_its_copied_pool_as_comments", rttm(`{"region_code": "global", "pool": [{"address": "192.0.2.10"}]}, {"region_code": "Asia", "autopopulate": "Y", "pool": [{"address": "192.0.2.10"}]}`),
			[]string{`autopopulate = true`, `# not imported: pool "192.0.2.10": an autopopulated region serves the global region's pool`}, nil},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			out, err := Dyn([]File{{Name: "export.json", Data: []byte(tc.input)}})
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			got := lines(string(out))
			for _, w := range tc.want {
				if !got[w] {
					t.Errorf("no line %s in:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if got[n] {
					t.Errorf("line %s should not be in:\n%s", n, out)
				}
			}
		})
	}
}

func TestDyn_InputErrorsNameFileAndJSONPath(t *testing.T) {
	for _, tc := range []struct {
		rule  string
		input string
		want  string
	}{
		{"not_json", `{"zone": `, `export.json: $: not JSON: line 1, column 10: the JSON ends too early`},
		{"syntax_error_has_line_and_column", "{\n  \"zone\": x}", `export.json: $: not JSON: line 2, column 11: invalid character 'x' looking for beginning of value`},
		{"text_after_the_json", afo("", "") + ` x`, `export.json: $: not JSON: text after the JSON value`},
		{"not_a_service", `"hello"`, `export.json: $: "hello" is not a Dyn service, a Dyn API reply, or a list of them`},
		{"failed_call", `{"status": "failure", "data": {}, "job_id": 1, "msgs": [{"INFO": "node: Node is not in the zone", "ERR_CD": "NOT_FOUND"}]}`,
			`export.json: $.status: the call that produced this export did not succeed ("failure"): node: Node is not in the zone`},
		{"missing_zone", `{"fqdn": "a.example.com", "address": "192.0.2.1", "failover_data": "192.0.2.2", "monitor": {"protocol": "TCP", "interval": 1}}`,
			`export.json: $.zone: missing: the zone the service is in`},
		{"fqdn_outside_its_zone", afo("", `, "fqdn": "www.example.org"`), `export.json: $.fqdn: www.example.org. is not inside the zone example.com.`},
		{"neither_address_nor_region", `{"zone": "example.com", "fqdn": "example.com"}`,
			`export.json: $: not a Dyn service: no address (Active Failover) and no region (GSLB, RTTM)`},
		{"pool_address_neither_ip_nor_host_name", gslb("", `{"region_code": "global", "pool": [{"address": "192.0.2.1"}]}, {"region_code": "Asia", "pool": [{"address": "10.0.0.1.2"}]}`),
			`export.json: $.region[1].pool[0].address: "10.0.0.1.2": not an IP address or host name`},
		{"address_neither_ip_nor_host_name", afo("", `, "address": "not an address"`), `export.json: $.address: "not an address": not an IP address or host name`},
		{"ip_failover_data_not_an_ip", afo("", `, "failover_data": "backup.example.net"`), `export.json: $.failover_data: "backup.example.net" is not an IP address (failover_mode ip)`},
		{"unknown_region_code", gslb("", `{"region_code": "global", "pool": [{"address": "192.0.2.1"}]}, {"region_code": "Mars", "pool": [{"address": "192.0.2.2"}]}`),
			`export.json: $.region[1].region_code: "Mars" is not a Dyn region code`},
		{"no_global_region", gslb("", `{"region_code": "Asia", "pool": [{"address": "192.0.2.1"}]}`),
			`export.json: $.region: no "global" region`},
		{"region_twice", gslb("", `{"region_code": "global", "pool": [{"address": "192.0.2.1"}]}, {"region_code": "global", "pool": [{"address": "192.0.2.2"}]}`),
			`export.json: $.region[1].region_code: a second region "global"`},
		{"region_without_pool", gslb("", `{"region_code": "global", "pool": []}`), `export.json: $.region[0].pool: no address: a region needs at least one pool entry`},
		{"weight_beyond_15", gslb("", `{"region_code": "global", "pool": [{"address": "192.0.2.1", "weight": 16}]}`),
			`export.json: $.region[0].pool[0].weight: 16 is not a weight from 1 to 15`},
		{"unknown_serve_mode", gslb("", `{"region_code": "global", "pool": [{"address": "192.0.2.1", "serve_mode": "sometimes"}]}`),
			`export.json: $.region[0].pool[0].serve_mode: "sometimes" is not one of always, obey, remove, no`},
		{"address_twice_in_a_region", gslb("", `{"region_code": "global", "pool": [{"address": "192.0.2.1"}, {"address": "192.0.2.1"}]}`),
			`export.json: $.region[0].pool[1].address: 192.0.2.1 is already in this region's pool`},
		{"failover_to_a_region_the_service_lacks", gslb("", `{"region_code": "global", "failover_mode": "region", "failover_data": "Asia", "pool": [{"address": "192.0.2.1"}]}`),
			`export.json: $.region[0].failover_data: "Asia" is not another region of this service`},
		{"autopopulated_global_region", rttm(`{"region_code": "global", "autopopulate": "Y", "pool": [{"address": "192.0.2.1"}]}`),
			`export.json: $.region[0].autopopulate: the global region is where autopopulated regions copy their pool from`},
		{"interval_zero", afo(`{"protocol": "HTTP", "interval": 0}`, ""), `export.json: $.monitor.interval: 0 is not a number of minutes of 1 or more`},
		{"interval_not_a_number", afo(`{"protocol": "HTTP", "interval": "often"}`, ""), `export.json: $.monitor.interval: "often" is not a whole number of minutes`},
		{"unknown_protocol", afo(`{"protocol": "GOPHER", "interval": 1}`, ""), `export.json: $.monitor.protocol: "GOPHER" is not one of HTTP, HTTPS, PING, SMTP, TCP, NONE`},
		{"missing_monitor", `{"zone": "example.com", "fqdn": "www.example.com", "address": "192.0.2.1", "failover_data": "192.0.2.2"}`,
			`export.json: $.monitor: missing: the service's health monitor`},
		{"syslog_server_neither_ip_nor_host_name", afo("", `, "syslog_server": "syslog:514"`), `export.json: $.syslog_server: "syslog:514": not an IP address or host name`},
		{"ttl_negative", afo("", `, "ttl": -1`), `export.json: $.ttl: -1 is not a ttl from 0 to 2147483647`},
		{"flag_neither_Y_nor_N", afo("", `, "auto_recover": "maybe"`), `export.json: $.auto_recover: "maybe" is not Y or N`},
		{"one_name_twice", `[` + afo("", "") + `, ` + afo("", "") + `]`, `export.json: $[1]: www.example.com. is already imported from export.json $[0]`},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			out, err := Dyn([]File{{Name: "export.json", Data: []byte(tc.input)}})
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
			if out != nil {
				t.Errorf("output on error:\n%s", out)
			}
		})
	}
}

// Every problem of every file is reported, not only the first.
func TestDyn_EveryProblemIsReported(t *testing.T) {
	_, err := Dyn([]File{
		{Name: "a.json", Data: []byte(afo("", `, "auto_recover": "maybe", "active": "perhaps"`))},
		{Name: "b.json", Data: []byte(`{`)},
	})
	if err == nil {
		t.Fatal("no error")
	}
	got := strings.Split(err.Error(), "\n")
	if len(got) != 3 || !strings.HasPrefix(got[0], "a.json: $.auto_recover:") || !strings.HasPrefix(got[1], "a.json: $.active:") || !strings.HasPrefix(got[2], "b.json: $:") {
		t.Errorf("errors:\n%v", err)
	}
}

func TestUltraDNS_FieldMappings(t *testing.T) {
	for _, tc := range []struct {
		rule  string
		input string
		want  []string
		not   []string
	}{
		{"rrtype_A_(1)_becomes_A", sf(`"rrtype": "A (1)", "ttl": 300, "rdata": ["192.0.2.40"], ` + sfProfileA),
			[]string{`sf_pool "a.example.com." {`, `rrtype = "A"`, `ttl = 300`, `rdata = "192.0.2.40"`}, nil},
		{"rrtype_28_becomes_AAAA", sf(`"rrtype": "28", "rdata": ["2001:DB8::1"], ` + sfProfileA),
			[]string{`rrtype = "AAAA"`, `rdata = "2001:db8::1"`}, nil},
		{"relative_owner_name_is_made_absolute", `{"zoneName": "example.com", "ownerName": "pool", "rrtype": "A", "rdata": ["192.0.2.40"], ` + sfProfileA + `}`,
			[]string{`sf_pool "pool.example.com." {`, `zone "example.com" {}`}, nil},
		{"profile_fields_become_snake_case", sf(`"rrtype": "A", "rdata": ["192.0.2.40"], "profile": {"@context": "http://schemas.ultradns.com/SFPool.jsonschema",
			"poolDescription": "p", "liveRecordDescription": "l", "liveRecordState": "FORCED_INACTIVE", "regionFailureSensitivity": "low",
			"monitor": {"method": "post", "url": "https://a.example.com/h", "transmittedData": "x=1", "searchString": "ok"},
			"backupRecord": {"rdata": "192.0.2.41", "description": "b"}}`),
			[]string{`pool_description = "p"`, `live_record_description = "l"`, `live_record_state = "FORCED_INACTIVE"`, `region_failure_sensitivity = "LOW"`,
				`method = "POST"`, `url = "https://a.example.com/h"`, `transmitted_data = "x=1"`, `search_string = "ok"`,
				`backup_record {`, `rdata = "192.0.2.41"`, `description = "b"`}, nil},
		{"live_record_state_NULL_is_not_forced", sf(`"rrtype": "A", "rdata": ["192.0.2.40"], "profile": {"@context": "http://schemas.ultradns.com/SFPool.jsonschema",
			"liveRecordState": "NULL", "monitor": {"url": "http://192.0.2.40/"}}`),
			nil, []string{`live_record_state = "NULL"`}},
		{"no_backup_record_is_a_simple_monitor", sf(`"rrtype": "A", "rdata": ["192.0.2.40"], ` + sfProfileA),
			nil, []string{`backup_record {`}},
		{"singular_schema_context_is_accepted", sf(`"rrtype": "A", "rdata": ["192.0.2.40"], "profile": {"@context": "http://schema.ultradns.com/SFPool.jsonschema", "monitor": {"url": "http://192.0.2.40/"}}`),
			[]string{`sf_pool "a.example.com." {`}, nil},
		{"field_names_in_any_case", `{"zonename": "example.com", "OwnerName": "a", "RRType": "A", "RData": ["192.0.2.40"], "Profile": {"@context": "http://schemas.ultradns.com/SFPool.jsonschema", "PoolDescription": "p", "monitor": {"URL": "http://192.0.2.40/"}}}`,
			[]string{`sf_pool "a.example.com." {`, `pool_description = "p"`}, nil},
		{"status_is_a_comment", sf(`"rrtype": "A", "rdata": ["192.0.2.40"], "profile": {"@context": "http://schemas.ultradns.com/SFPool.jsonschema", "status": "CRITICAL", "monitor": {"url": "http://192.0.2.40/"}}`),
			[]string{`# not imported: status = "CRITICAL"`}, nil},
		{"record_set_without_pool_profile_is_a_comment", sf(`"rrtype": "A (1)", "ttl": 60, "rdata": ["192.0.2.80"]`),
			[]string{`# not imported: from export.json, $.rrSets[0]: a.example.com. A ttl 60 rdata ["192.0.2.80"]: a record set, not a pool`}, []string{`sf_pool "a.example.com." {`}},
		{"other_pool_profile_is_a_comment", sf(`"rrtype": "A (1)", "rdata": ["192.0.2.80"], "profile": {"@context": "http://schemas.ultradns.com/SLBPool.jsonschema"}`),
			[]string{`# not imported: from export.json, $.rrSets[0]: a.example.com. A ttl null rdata ["192.0.2.80"]: profile {"@context":"http://schemas.ultradns.com/SLBPool.jsonschema"} is not a Simple Monitor / Simple Failover pool`}, nil},
		{"backup_rdata_final_dot_is_dropped", sf(`"rrtype": "A", "rdata": ["192.0.2.40"], "profile": {"@context": "http://schemas.ultradns.com/SFPool.jsonschema",
			"monitor": {"url": "http://192.0.2.40/"}, "backupRecord": {"rdata": "192.0.2.41."}}`),
			[]string{`rdata = "192.0.2.41"`}, nil},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			out, err := UltraDNS([]File{{Name: "export.json", Data: []byte(tc.input)}})
			if err != nil {
				t.Fatalf("import: %v", err)
			}
			got := lines(string(out))
			for _, w := range tc.want {
				if !got[w] {
					t.Errorf("no line %s in:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if got[n] {
					t.Errorf("line %s should not be in:\n%s", n, out)
				}
			}
		})
	}
}

func TestUltraDNS_InputErrorsNameFileAndJSONPath(t *testing.T) {
	for _, tc := range []struct {
		rule  string
		input string
		want  string
	}{
		{"more_than_one_live_record", sf(`"rrtype": "A", "rdata": ["192.0.2.40", "192.0.2.41"], ` + sfProfileA),
			`export.json: $.rrSets[0].rdata: 2 records: a Simple Failover pool has exactly one live record`},
		{"live_record_of_the_other_family", sf(`"rrtype": "AAAA (28)", "rdata": ["192.0.2.40"], ` + sfProfileA),
			`export.json: $.rrSets[0].rdata[0]: "192.0.2.40" is not an IPv6 address (rrtype AAAA)`},
		{"backup_record_not_an_address", sf(`"rrtype": "A", "rdata": ["192.0.2.40"], "profile": {"@context": "http://schemas.ultradns.com/SFPool.jsonschema",
			"monitor": {"url": "http://192.0.2.40/"}, "backupRecord": {"rdata": "backup.example.com"}}`),
			`export.json: $.rrSets[0].profile.backupRecord.rdata: "backup.example.com": not an IP address`},
		{"pool_of_another_type", sf(`"rrtype": "CNAME (5)", "rdata": ["a.example.net."], ` + sfProfileA),
			`export.json: $.rrSets[0].rrtype: "CNAME (5)": a Simple Failover pool is an A (1) or AAAA (28) rrset`},
		{"monitor_url_not_http", sf(`"rrtype": "A", "rdata": ["192.0.2.40"], "profile": {"@context": "http://schemas.ultradns.com/SFPool.jsonschema", "monitor": {"url": "ftp://192.0.2.40/"}}`),
			`export.json: $.rrSets[0].profile.monitor.url: "ftp://192.0.2.40/" is not a full http or https URL`},
		{"missing_monitor", sf(`"rrtype": "A", "rdata": ["192.0.2.40"], "profile": {"@context": "http://schemas.ultradns.com/SFPool.jsonschema"}`),
			`export.json: $.rrSets[0].profile.monitor: missing: the pool's monitor`},
		{"description_of_255_characters", sf(`"rrtype": "A", "rdata": ["192.0.2.40"], "profile": {"@context": "http://schemas.ultradns.com/SFPool.jsonschema", "poolDescription": "` + strings.Repeat("x", 255) + `", "monitor": {"url": "http://192.0.2.40/"}}`),
			`export.json: $.rrSets[0].profile.poolDescription: 255 characters: at most 254`},
		{"unknown_sensitivity", sf(`"rrtype": "A", "rdata": ["192.0.2.40"], "profile": {"@context": "http://schemas.ultradns.com/SFPool.jsonschema", "regionFailureSensitivity": "MEDIUM", "monitor": {"url": "http://192.0.2.40/"}}`),
			`export.json: $.rrSets[0].profile.regionFailureSensitivity: "MEDIUM" is not LOW or HIGH`},
		{"bare_rrset_without_zone", `{"ownerName": "a.example.com.", "rrtype": "A", "rdata": ["192.0.2.40"], ` + sfProfileA + `}`,
			`export.json: $.zoneName: missing: the zone the rrset is in`},
		{"owner_outside_the_zone", sf(`"rrtype": "A", "rdata": ["192.0.2.40"], ` + sfProfileA)[:0] + `{"zoneName": "example.com.", "rrSets": [{"ownerName": "a.example.org.", "rrtype": "A", "rdata": ["192.0.2.40"], ` + sfProfileA + `}]}`,
			`export.json: $.rrSets[0].ownerName: a.example.org. is not inside the zone example.com.`},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			out, err := UltraDNS([]File{{Name: "export.json", Data: []byte(tc.input)}})
			if err == nil {
				t.Fatalf("no error; output:\n%s", out)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
		})
	}
}

func TestQuote_HCLStringEscapes(t *testing.T) {
	for _, tc := range []struct{ rule, in, want string }{
		{"plain", "abc", `"abc"`},
		{"quote_and_backslash", `a"b\c`, `"a\"b\\c"`},
		{"line_breaks_and_tabs", "a\nb\r\tc", `"a\nb\r\tc"`},
		{"interpolation_is_doubled", "${x}", `"$${x}"`},
		{"template_directive_is_doubled", "%{if}", `"%%{if}"`},
		{"lone_dollar_and_percent_stay", "$5 and 100%", `"$5 and 100%"`},
		{"control_characters_as_unicode_escapes", "a\x00b\x1bc", `"a\u0000b\u001Bc"`},
		{"printable_unicode_stays", "Zürich ✓", `"Zürich ✓"`},
	} {
		t.Run(tc.rule, func(t *testing.T) {
			if got := quote(tc.in); got != tc.want {
				t.Errorf("quote(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}
