package config

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// marker shows, in a bad case, where the diagnostic must point.
const marker = "‸"

// base is loaded next to every rule case.
const base = `contact "ops" {
  email = ["ops@example.net"]
}
zone "example.com" {}
`

const mon10 = `  monitor {
    protocol = "TCP"
    interval = "10s"
  }
`

func afo(attrs, monitor string) string {
	return "active_failover \"www.example.com.\" {\n  address = \"192.0.2.1\"\n  failover_data = \"192.0.2.2\"\n" + attrs + monitor + "}\n"
}

func afoMon(monAttrs string) string {
	return afo("", "  monitor {\n"+monAttrs+"  }\n")
}

func gslb(attrs, regions string) string {
	return "gslb \"app.example.com.\" {\n" + attrs + mon10 + regions + "}\n"
}

const globalRegion = "  region \"global\" {\n    pool \"192.0.2.20\" {}\n  }\n"

func gslbRegion(regionAttrs string) string {
	return gslb("", "  region \"US East\" {\n"+regionAttrs+"    pool \"192.0.2.10\" {}\n  }\n"+globalRegion)
}

func gslbPool(poolAttrs string) string {
	return gslb("", "  region \"global\" {\n    pool \"192.0.2.20\" {\n"+poolAttrs+"    }\n  }\n")
}

func rttm(attrs, regions string) string {
	return "rttm \"api.example.com.\" {\n" + attrs + mon10 + regions + "}\n"
}

func syslog(attrs string) string {
	return afo("  syslog {\n    server = \"127.0.0.1\"\n"+attrs+"  }\n", mon10)
}

func sf(attrs, monitor string) string {
	return "sf_pool \"a.example.com.\" {\n  rdata = \"192.0.2.40\"\n" + attrs + monitor + "}\n"
}

const sfMon = "  monitor {\n    url = \"http://192.0.2.40/\"\n  }\n"

func sfMonitor(attrs string) string {
	return sf("", "  monitor {\n    url = \"http://192.0.2.40/\"\n"+attrs+"  }\n")
}

func cluster(name, svcAttrs, realServices string) string {
	return "cluster \"" + name + "\" {\n  service \"https\" {\n    fqdn = \"web.example.com.\"\n" + svcAttrs +
		"    monitor {\n      protocol = \"TCP\"\n      interval = \"10s\"\n    }\n" + realServices + "  }\n}\n"
}

func real(name, attrs string) string {
	return "    real_service \"" + name + "\" {\n      ip_address = \"192.0.2.51\"\n      port = 443\n" + attrs + "    }\n"
}

type ruleCase struct {
	name    string
	good    string // loads without any diagnostic
	bad     string // one error, at the marker
	summary string
}

// ruleCases are every rule case: the rules of each block, the numeric
// bounds (bounds_test.go) and the newer attributes (attributes_test.go).
var ruleCases = slices.Concat(blockRuleCases, boundRuleCases, attributeRuleCases)

var blockRuleCases = []ruleCase{
	{"unknown_block", `server {}`, marker + `servers {}`, "Unsupported block type"},
	{"unknown_attribute", `zone "a.example.net" { ttl = 60 }`, `zone "a.example.net" { ` + marker + `colour = 1 }`, "Unsupported argument"},
	{"missing_required_attribute", afo("", mon10), "active_failover \"www.example.com.\" " + marker + "{\n  address = \"192.0.2.1\"\n" + mon10 + "}\n", "Missing required argument"},
	{"missing_monitor", afo("", mon10), marker + afo("", ""), "Missing monitor block"},
	{"duplicate_monitor", afo("", mon10), afo("", mon10+strings.Replace(mon10, "monitor", marker+"monitor", 1)), "Duplicate monitor block"},
	{"duplicate_server_block", "server {}\n", "server {}\n" + marker + "server {}\n", "Duplicate server block"},

	{"server_log_level", `server { log_level = "debug" }`, `server { log_level = ` + marker + `"verbose" }`, "Invalid log_level"},
	{"server_log_format", `server { log_format = "console" }`, `server { log_format = ` + marker + `"text" }`, "Invalid log_format"},
	{"server_history_retention", `server { history_retention = "48h" }`, `server { history_retention = ` + marker + `"2 days" }`, "Invalid history_retention"},
	{"server_hostname", `server { hostname = "ns1.example.net" }`, `server { hostname = ` + marker + `"ns1 example" }`, "Invalid hostname"},

	{"dns_listen", `dns { listen = ["127.0.0.1:53", "[::1]:5353"] }`, `dns { listen = ["127.0.0.1:53", ` + marker + `"[::1]"] }`, "Invalid listen address"},
	{"region_map_prefix", `dns { region_map = { "Lab" = ["198.51.100.0/24", "2001:db8::/32"] } }`, `dns { region_map = { "Lab" = ["198.51.100.0/24", ` + marker + `"2001:db8::/129"] } }`, "Invalid prefix"},
	{"transfer_allow_prefix", "dns {\n  transfer { allow = [\"127.0.0.0/8\", \"::1\"] }\n}", "dns {\n  transfer { allow = [" + marker + "\"127.0.0.0/33\"] }\n}", "Invalid prefix"},
	{"transfer_notify_address", "dns {\n  transfer { notify = [\"127.0.0.1:5354\", \"192.0.2.53\"] }\n}", "dns {\n  transfer { notify = [" + marker + "\"127.0.0.1:99999\"] }\n}", "Invalid notify address"},

	{"api_listen_non_loopback_needs_token", `api {
  listen     = "0.0.0.0:8053"
  token_file = "token"
}`, `api { listen = ` + marker + `"0.0.0.0:8053" }`, "API token required"},
	{"api_listen_loopback_without_token", `api { listen = "[::1]:8053" }`, `api { listen = ` + marker + `"192.0.2.1:8053" }`, "API token required"},
	{"api_listen_address", `api { listen = "localhost:8053" }`, `api { listen = ` + marker + `"8053" }`, "Invalid listen address"},

	{"smtp_starttls", `smtp {
  server   = "127.0.0.1:25"
  from     = "f@example.net"
  starttls = "required"
}`, `smtp {
  server   = "127.0.0.1:25"
  from     = "f@example.net"
  starttls = ` + marker + `"always"
}`, "Invalid starttls"},
	{"smtp_from", `smtp {
  server = "127.0.0.1"
  from   = "failoverd <f@example.net>"
}`, `smtp {
  server = "127.0.0.1"
  from   = ` + marker + `"not an address"
}`, "Invalid from address"},
	{"contact_email", `contact "b" { email = ["b@example.net"] }`, `contact "b" { email = ["b@example.net", ` + marker + `"b"] }`, "Invalid e-mail address"},
	{"duplicate_contact", `contact "b" { email = ["b@example.net"] }`, `contact ` + marker + `"ops" { email = ["b@example.net"] }`, "Duplicate contact"},

	{"duplicate_zone", `zone "example.net" {}`, `zone ` + marker + `"Example.COM." {}`, "Duplicate zone"},
	{"dnssec_algorithm", `zone "example.net" {
  dnssec { algorithm = "ED25519" }
}`, `zone "example.net" {
  dnssec { algorithm = ` + marker + `"RSASHA256" }
}`, "Invalid algorithm"},
	{"dnssec_signature_lifetime_leaves_room_to_refresh", `zone "example.net" {
  dnssec { signature_lifetime = "15s" }
}`, `zone "example.net" {
  dnssec { signature_lifetime = ` + marker + `"10s" }
}`, "signature_lifetime too short"},
	{"dnssec_signature_lifetime_bounded", `zone "example.net" {
  dnssec { signature_lifetime = "87840h" }
}`, `zone "example.net" {
  dnssec { signature_lifetime = ` + marker + `"87841h" }
}`, "signature_lifetime too long"},
	{"dnssec_signature_lifetime_duration", `zone "example.net" {
  dnssec { signature_lifetime = "720h" }
}`, `zone "example.net" {
  dnssec { signature_lifetime = ` + marker + `"14d" }
}`, "Invalid signature_lifetime"},
	{"dnssec_inception_offset", `zone "example.net" {
  dnssec { inception_offset = "0s" }
}`, `zone "example.net" {
  dnssec { inception_offset = ` + marker + `"-1h" }
}`, "Invalid inception_offset"},
	{"dnssec_key_file_empty", `zone "example.net" {
  dnssec { key_file = "Kexample.net.+013+00001.key" }
}`, `zone "example.net" {
  dnssec { key_file = ` + marker + `"" }
}`, "Empty key_file"},
	{"duplicate_dnssec", `zone "example.net" {
  dnssec {}
}`, `zone "example.net" {
  dnssec {}
  ` + marker + `dnssec {}
}`, "Duplicate dnssec block"},
	{"zone_name", `zone "example.net" {}`, `zone ` + marker + `"exa mple.net" {}`, "Invalid zone name"},
	{"zone_ttl", `zone "example.net" { ttl = 0 }`, `zone "example.net" { ttl = ` + marker + `-1 }`, "Invalid ttl"},
	{"zone_ns", `zone "example.net" { ns = ["ns1.example.net."] }`, `zone "example.net" { ns = [` + marker + `"ns1..example.net."] }`, "Invalid name server"},
	{"record_type", `zone "example.net" {
  record "@" {
    type  = "mx"
    rdata = ["10 mail.example.net."]
  }
}`, `zone "example.net" {
  record "@" {
    type  = ` + marker + `"M X"
    rdata = ["10 mail.example.net."]
  }
}`, "Invalid record type"},
	{"record_rdata", `zone "example.net" {
  record "www" {
    type  = "A"
    rdata = ["192.0.2.80"]
  }
}`, `zone "example.net" {
  record "www" {
    type  = "A"
    rdata = ` + marker + `[]
  }
}`, "No record data"},
	{"record_outside_zone", `zone "example.net" {
  record "www.example.net." {
    type  = "A"
    rdata = ["192.0.2.80"]
  }
}`, `zone "example.net" {
  record ` + marker + `"www.example.org." {
    type  = "A"
    rdata = ["192.0.2.80"]
  }
}`, "Record outside its zone"},

	{"monitor_protocol", afoMon("    protocol = \"SMTP\"\n    interval = \"10s\"\n"), afoMon("    protocol = " + marker + "\"STMP\"\n    interval = \"10s\"\n"), "Invalid protocol"},
	{"monitor_protocol_case", afoMon("    protocol = \"HTTPS\"\n    interval = \"10s\"\n"), afoMon("    protocol = " + marker + "\"https\"\n    interval = \"10s\"\n"), "Invalid protocol"},
	{"monitor_interval_at_least_1s", afoMon("    protocol = \"TCP\"\n    interval = \"1s\"\n"), afoMon("    protocol = \"TCP\"\n    interval = " + marker + "\"999ms\"\n"), "Interval too short"},
	{"monitor_interval_syntax", afoMon("    protocol = \"TCP\"\n    interval = \"1m\"\n"), afoMon("    protocol = \"TCP\"\n    interval = " + marker + "\"1\"\n"), "Invalid interval"},
	{"monitor_retries", afoMon("    protocol = \"TCP\"\n    interval = \"10s\"\n    retries = 10\n"), afoMon("    protocol = \"TCP\"\n    interval = \"10s\"\n    retries = " + marker + "11\n"), "Invalid retries"},
	{"monitor_timeout_at_least_100ms", afoMon("    protocol = \"TCP\"\n    interval = \"10s\"\n    timeout = \"100ms\"\n"), afoMon("    protocol = \"TCP\"\n    interval = \"10s\"\n    timeout = " + marker + "\"99ms\"\n"), "Timeout too short"},
	{"monitor_timeout_less_than_interval", afoMon("    protocol = \"TCP\"\n    interval = \"10s\"\n    timeout = \"9s\"\n"), afoMon("    protocol = \"TCP\"\n    interval = \"10s\"\n    timeout = " + marker + "\"10s\"\n"), "Timeout too long"},
	{"monitor_port", afoMon("    protocol = \"TCP\"\n    interval = \"10s\"\n    port = 65535\n"), afoMon("    protocol = \"TCP\"\n    interval = \"10s\"\n    port = " + marker + "65536\n"), "Invalid port"},
	{"monitor_port_not_for_ping", afoMon("    protocol = \"PING\"\n    interval = \"10s\"\n"), afoMon("    protocol = \"PING\"\n    interval = \"10s\"\n    port = " + marker + "80\n"), "Port not used"},
	{"monitor_path_http_only", afoMon("    protocol = \"HTTPS\"\n    interval = \"10s\"\n    path = \"/health\"\n"), afoMon("    protocol = \"TCP\"\n    interval = \"10s\"\n    " + marker + "path = \"/health\"\n"), "Attribute not used"},
	{"monitor_expected_http_or_smtp", afoMon("    protocol = \"SMTP\"\n    interval = \"10s\"\n    expected = \"ESMTP\"\n"), afoMon("    protocol = \"PING\"\n    interval = \"10s\"\n    " + marker + "expected = \"x\"\n"), "Attribute not used"},
	{"monitor_header_lines", afoMon("    protocol = \"HTTP\"\n    interval = \"10s\"\n    header = \"X-A: 1\\nX-B: 2\"\n"), afoMon("    protocol = \"HTTP\"\n    interval = \"10s\"\n    header = " + marker + "\"X-A 1\"\n"), "Invalid header"},

	{"ttl_half_interval", afo("  ttl = 1\n", "  monitor {\n    protocol = \"TCP\"\n    interval = \"2s\"\n  }\n"), afo("  ttl = "+marker+"2\n", "  monitor {\n    protocol = \"TCP\"\n    interval = \"2s\"\n  }\n"), "TTL too long"},
	{"ttl_not_negative", afo("  ttl = 0\n", mon10), afo("  ttl = "+marker+"-1\n", mon10), "Invalid ttl"},
	{"ttl_gslb_half_interval", gslb("  ttl = 5\n", globalRegion), gslb("  ttl = "+marker+"6\n", globalRegion), "TTL too long"},
	{"ttl_rttm_monitor_counts", rttm("  ttl = 5\n  performance_monitor {\n    protocol = \"HTTP\"\n    interval = \"1m\"\n  }\n", globalRegion),
		rttm("  ttl = "+marker+"30\n  performance_monitor {\n    protocol = \"HTTP\"\n    interval = \"1m\"\n  }\n", globalRegion), "TTL too long"},
	{"ttl_cluster_half_interval", cluster("c", "    ttl = 5\n", real("web1", "")), cluster("c", "    ttl = "+marker+"6\n", real("web1", "")), "TTL too long"},
	{"notify_events_subset", afo("  notify_events = [\"ip\", \"svc\", \"nosrv\"]\n", mon10), afo("  notify_events = [\"ip\", "+marker+"\"all\"]\n", mon10), "Invalid notify_events"},
	{"recovery_delay", afo("  recovery_delay = 3\n", mon10), afo("  recovery_delay = "+marker+"-1\n", mon10), "Invalid recovery_delay"},
	{"contact_nickname_exists", afo("  contact_nickname = \"ops\"\n", mon10), afo("  contact_nickname = "+marker+"\"dev\"\n", mon10), "Unknown contact"},

	{"afo_address_ip_or_fqdn", afo("", mon10), strings.Replace(afo("", mon10), `address = "192.0.2.1"`, `address = `+marker+`"192.0.2.300"`, 1), "Invalid address"},
	{"afo_address_fqdn", strings.Replace(afo("", mon10), `"192.0.2.1"`, `"primary.example.net"`, 1), strings.Replace(afo("", mon10), `address = "192.0.2.1"`, `address = `+marker+`"primary..example.net"`, 1), "Invalid address"},
	{"afo_failover_mode", afo("  failover_mode = \"ip\"\n", mon10), afo("  failover_mode = "+marker+"\"region\"\n", mon10), "Invalid failover_mode"},
	{"afo_failover_data_ip", afo("", mon10), strings.Replace(afo("", mon10), `failover_data = "192.0.2.2"`, `failover_data = `+marker+`"backup.example.net"`, 1), "Invalid failover_data"},
	{"afo_failover_data_cname", strings.Replace(afo("  failover_mode = \"cname\"\n", mon10), `"192.0.2.2"`, `"backup.example.net"`, 1),
		strings.Replace(afo("  failover_mode = \"cname\"\n", mon10), `failover_data = "192.0.2.2"`, `failover_data = `+marker+`"192.0.2.2"`, 1), "Invalid failover_data"},

	{"syslog_transport", syslog("    transport = \"tcp\"\n"), syslog("    transport = " + marker + "\"tls\"\n"), "Invalid transport"},
	{"syslog_protocol", syslog("    protocol = \"rfc5424\"\n"), syslog("    protocol = " + marker + "\"rfc1234\"\n"), "Invalid protocol"},
	{"syslog_facility", syslog("    facility = \"local7\"\n"), syslog("    facility = " + marker + "\"local8\"\n"), "Invalid facility"},
	{"syslog_delivery", syslog("    delivery = \"all\"\n"), syslog("    delivery = " + marker + "\"every\"\n"), "Invalid delivery"},
	{"syslog_port", syslog("    port = 1514\n"), syslog("    port = " + marker + "0\n"), "Invalid port"},
	{"syslog_rttm_fmt_rttm_only", syslog("    status_fmt = \"%sta\"\n"), syslog("    " + marker + "rttm_fmt = \"%med\"\n"), "Attribute not used"},

	{"service_fqdn_in_zone", afo("", mon10), strings.Replace(afo("", mon10), `active_failover "www.example.com."`, `active_failover `+marker+`"www.example.org."`, 1), "Name outside every zone"},
	{"duplicate_service_fqdn_across_kinds", gslb("", globalRegion), gslb("", globalRegion) + strings.Replace(sf("", sfMon), `sf_pool "a.example.com."`, `sf_pool `+marker+`"App.Example.com"`, 1), "Duplicate service name"},
	{"duplicate_service_fqdn_cluster", afo("", mon10) + cluster("c", "", real("web1", "")), afo("", mon10) + strings.Replace(cluster("c", "", real("web1", "")), `fqdn = "web.example.com."`, `fqdn = `+marker+`"www.example.com."`, 1), "Duplicate service name"},

	{"region_code", gslbRegion(""), strings.Replace(gslbRegion(""), `region "US East"`, `region `+marker+`"US North"`, 1), "Unknown region code"},
	{"region_code_from_region_map", "dns { region_map = { \"Lab Net\" = [\"198.51.100.0/24\"] } }\n" + strings.Replace(gslbRegion(""), `"US East"`, `"Lab Net"`, 1),
		strings.Replace(gslbRegion(""), `region "US East"`, `region `+marker+`"Lab Net"`, 1), "Unknown region code"},
	{"global_region_required_gslb", gslb("", globalRegion), strings.Replace(gslb("", strings.Replace(globalRegion, "global", "Asia", 1)), "gslb", marker+"gslb", 1), "Missing global region"},
	{"global_region_required_rttm", rttm("", globalRegion), strings.Replace(rttm("", strings.Replace(globalRegion, "global", "Asia", 1)), "rttm", marker+"rttm", 1), "Missing global region"},
	{"duplicate_region", gslbRegion(""), gslb("", globalRegion+strings.Replace(globalRegion, `"global"`, marker+`"global"`, 1)), "Duplicate region"},
	{"region_serve_count", gslbRegion("    serve_count = 3\n"), gslbRegion("    serve_count = " + marker + "0\n"), "Invalid serve_count"},
	{"region_failover_mode", gslbRegion("    failover_mode = \"global\"\n"), gslbRegion("    failover_mode = " + marker + "\"backup\"\n"), "Invalid failover_mode"},
	{"region_failover_data_ip", gslbRegion("    failover_mode = \"ip\"\n    failover_data = \"2001:db8::9\"\n"), gslbRegion("    failover_mode = \"ip\"\n    failover_data = " + marker + "\"backup.example.net.\"\n"), "Invalid failover_data"},
	{"region_failover_data_cname", gslbRegion("    failover_mode = \"cname\"\n    failover_data = \"backup.example.net.\"\n"), gslbRegion("    failover_mode = \"cname\"\n    failover_data = " + marker + "\"\"\n"), "Invalid failover_data"},
	{"region_failover_data_region", gslbRegion("    failover_mode = \"region\"\n    failover_data = \"global\"\n"), gslbRegion("    failover_mode = \"region\"\n    failover_data = " + marker + "\"Asia\"\n"), "Invalid failover_data"},
	{"region_failover_data_global", gslbRegion("    failover_mode = \"global\"\n    failover_data = \"global\"\n"), gslbRegion("    failover_mode = \"global\"\n    failover_data = " + marker + "\"192.0.2.9\"\n"), "Invalid failover_data"},
	{"region_failover_data_required", gslbRegion("    failover_mode = \"ip\"\n    failover_data = \"192.0.2.9\"\n"), gslbRegion("    failover_mode = " + marker + "\"ip\"\n"), "Missing failover_data"},
	{"region_rttm_only_attributes", rttm("", "  region \"global\" {\n    ep = 2\n    apmc = 1\n    epmc = 1\n    pool \"192.0.2.20\" {}\n  }\n"), gslbRegion("    " + marker + "ep = 2\n"), "Unsupported argument"},
	{"region_needs_pool", rttm("", globalRegion+"  region \"Asia\" {\n    autopopulate = true\n  }\n"), gslb("", globalRegion+"  "+marker+"region \"Asia\" {\n  }\n"), "Empty region"},
	{"rttm_global_not_autopopulated", rttm("", globalRegion), rttm("", "  region \"global\" {\n    autopopulate = "+marker+"true\n  }\n"), "Invalid autopopulate"},
	{"pool_weight", gslbPool("      weight = 15\n"), gslbPool("      weight = " + marker + "16\n"), "Invalid weight"},
	{"pool_weight_zero", gslbPool("      weight = 1\n"), gslbPool("      weight = " + marker + "0\n"), "Invalid weight"},
	{"pool_serve_mode", gslbPool("      serve_mode = \"remove\"\n"), gslbPool("      serve_mode = " + marker + "\"sometimes\"\n"), "Invalid serve_mode"},
	{"pool_address", gslbPool(""), strings.Replace(gslbPool(""), `pool "192.0.2.20"`, `pool `+marker+`"www.example.net"`, 1), "Invalid pool address"},
	{"pool_host_name_has_trailing_dot", strings.Replace(gslbPool(""), `pool "192.0.2.20"`, `pool "lb-1.cdn.example.net."`, 1), strings.Replace(gslbPool(""), `pool "192.0.2.20"`, `pool `+marker+`"lb-1.cdn.example.net"`, 1), "Invalid pool address"},
	{"pool_host_name_valid_labels", strings.Replace(gslbPool(""), `pool "192.0.2.20"`, `pool "localhost."`, 1), strings.Replace(gslbPool(""), `pool "192.0.2.20"`, `pool `+marker+`"lb..example.net."`, 1), "Invalid pool address"},
	{"pool_host_name_not_numeric", strings.Replace(gslbPool(""), `pool "192.0.2.20"`, `pool "lb-1.example.net."`, 1), strings.Replace(gslbPool(""), `pool "192.0.2.20"`, `pool `+marker+`"192.0.2.20."`, 1), "Invalid pool address"},
	{"duplicate_pool_host_name", gslb("", "  region \"global\" {\n    pool \"lb-1.example.net.\" {}\n    pool \"lb-2.example.net.\" {}\n  }\n"), gslb("", "  region \"global\" {\n    pool \"lb-1.example.net.\" {}\n    pool "+marker+"\"LB-1.example.net.\" {}\n  }\n"), "Duplicate pool address"},
	{"duplicate_pool_address", gslb("", "  region \"global\" {\n    pool \"2001:db8::1\" {}\n    pool \"2001:db8::2\" {}\n  }\n"), gslb("", "  region \"global\" {\n    pool \"2001:db8::1\" {}\n    pool "+marker+"\"2001:DB8:0::1\" {}\n  }\n"), "Duplicate pool address"},

	{"sf_rrtype", sf("  rrtype = \"A\"\n", sfMon), sf("  rrtype = "+marker+"\"CNAME\"\n", sfMon), "Invalid rrtype"},
	{"sf_rdata_family", strings.Replace(sf("  rrtype = \"AAAA\"\n", sfMon), `"192.0.2.40"`, `"2001:db8::40"`, 1), strings.Replace(sf("  rrtype = \"AAAA\"\n", sfMon), `rdata = "192.0.2.40"`, `rdata = `+marker+`"192.0.2.40"`, 1), "Address family mismatch"},
	{"sf_rdata_one_address", sf("", sfMon), strings.Replace(sf("", sfMon), `rdata = "192.0.2.40"`, `rdata = `+marker+`"192.0.2.40,192.0.2.41"`, 1), "Invalid rdata"},
	{"sf_backup_same_family", sf("  backup_record {\n    rdata = \"192.0.2.41\"\n  }\n", sfMon), sf("  backup_record {\n    rdata = "+marker+"\"2001:db8::41\"\n  }\n", sfMon), "Address family mismatch"},
	{"sf_live_record_state", sf("  live_record_state = \"FORCED_INACTIVE\"\n", sfMon), sf("  live_record_state = "+marker+"\"FORCED\"\n", sfMon), "Invalid live_record_state"},
	{"sf_sensitivity", sf("  region_failure_sensitivity = \"LOW\"\n", sfMon), sf("  region_failure_sensitivity = "+marker+"\"MEDIUM\"\n", sfMon), "Invalid region_failure_sensitivity"},
	{"sf_pool_description_length", sf("  pool_description = \""+strings.Repeat("d", 254)+"\"\n", sfMon), sf("  pool_description = "+marker+"\""+strings.Repeat("d", 255)+"\"\n", sfMon), "Text too long"},
	{"sf_live_record_description_length", sf("  live_record_description = \""+strings.Repeat("d", 254)+"\"\n", sfMon), sf("  live_record_description = "+marker+"\""+strings.Repeat("d", 255)+"\"\n", sfMon), "Text too long"},
	{"sf_backup_description_length", sf("  backup_record {\n    rdata = \"192.0.2.41\"\n    description = \""+strings.Repeat("d", 254)+"\"\n  }\n", sfMon), sf("  backup_record {\n    rdata = \"192.0.2.41\"\n    description = "+marker+"\""+strings.Repeat("d", 255)+"\"\n  }\n", sfMon), "Text too long"},
	{"sf_transmitted_data_length", sfMonitor("    transmitted_data = \"" + strings.Repeat("d", 254) + "\"\n"), sfMonitor("    transmitted_data = " + marker + "\"" + strings.Repeat("d", 255) + "\"\n"), "Text too long"},
	{"sf_search_string_length", sfMonitor("    search_string = \"" + strings.Repeat("d", 254) + "\"\n"), sfMonitor("    search_string = " + marker + "\"" + strings.Repeat("d", 255) + "\"\n"), "Text too long"},
	{"sf_monitor_method", sfMonitor("    method = \"POST\"\n"), sfMonitor("    method = " + marker + "\"PUT\"\n"), "Invalid method"},
	{"sf_monitor_url", sf("", "  monitor {\n    url = \"https://www.example.com:8443/health?x=1\"\n  }\n"), sf("", "  monitor {\n    url = "+marker+"\"ftp://www.example.com/\"\n  }\n"), "Invalid url"},
	{"sf_monitor_url_absolute", sf("", sfMon), sf("", "  monitor {\n    url = "+marker+"\"/health\"\n  }\n"), "Invalid url"},
	{"sf_monitor_retries", sfMonitor("    retries = 0\n"), sfMonitor("    retries = " + marker + "-1\n"), "Invalid retries"},
	{"sf_monitor_timeout", sfMonitor("    interval = \"2s\"\n    timeout = \"1s\"\n"), sfMonitor("    interval = \"2s\"\n    timeout = " + marker + "\"3s\"\n"), "Timeout too long"},
	{"sf_monitor_required", sf("", sfMon), marker + sf("", ""), "Missing monitor block"},

	{"cluster_name", cluster("web-1.prod_A", "", real("web1", "")), strings.Replace(cluster("web cluster", "", real("web1", "")), `cluster "web cluster"`, `cluster `+marker+`"web cluster"`, 1), "Invalid cluster name"},
	{"cluster_name_length", cluster(strings.Repeat("c", 64), "", real("web1", "")), strings.Replace(cluster(strings.Repeat("c", 65), "", real("web1", "")), `cluster "`, `cluster `+marker+`"`, 1), "Invalid cluster name"},
	{"duplicate_cluster", cluster("a", "", real("web1", "")), cluster("a", "", real("web1", "")) + strings.Replace(strings.Replace(cluster("a", "", real("web1", "")), `cluster "a"`, `cluster `+marker+`"a"`, 1), "web.example.com.", "web2.example.com.", 1), "Duplicate cluster"},
	{"cluster_weight", cluster("c", "", real("web1", "      weight = 0\n")), cluster("c", "", real("web1", "      weight = "+marker+"-1\n")), "Invalid weight"},
	{"real_service_ip", cluster("c", "", real("web1", "")), strings.Replace(cluster("c", "", real("web1", "")), `ip_address = "192.0.2.51"`, `ip_address = `+marker+`"web1.example.net"`, 1), "Invalid ip_address"},
	{"real_service_port", cluster("c", "", real("web1", "")), strings.Replace(cluster("c", "", real("web1", "")), `port = 443`, `port = `+marker+`0`, 1), "Invalid port"},
	{"one_fallback", cluster("c", "", real("web1", "")+real("sorry", "      fallback = true\n")),
		cluster("c", "", real("web1", "      fallback = true\n")+real("sorry", "      fallback = "+marker+"true\n")), "Second fallback"},
	{"fallback_enabled", cluster("c", "", real("web1", "      enabled = false\n")+real("sorry", "      fallback = true\n")),
		cluster("c", "", real("web1", "")+real("sorry", "      fallback = true\n      enabled = "+marker+"false\n")), "Disabled fallback"},
	{"cluster_fqdn_in_zone", cluster("c", "", real("web1", "")), strings.Replace(cluster("c", "", real("web1", "")), `fqdn = "web.example.com."`, `fqdn = `+marker+`"web.example.org."`, 1), "Name outside every zone"},
	{"duplicate_real_service", cluster("c", "", real("web1", "")+real("web2", "")), cluster("c", "", real("web1", "")+strings.Replace(real("web1", ""), `real_service "web1"`, `real_service `+marker+`"web1"`, 1)), "Duplicate real service"},
}

// position returns the 1-based line and column of the marker and src
// without it.
func position(t *testing.T, src string) (string, int, int) {
	t.Helper()
	i := strings.Index(src, marker)
	if i < 0 || strings.Count(src, marker) != 1 {
		t.Fatalf("bad case needs exactly one marker:\n%s", src)
	}
	before := src[:i]
	line := strings.Count(before, "\n") + 1
	col := len([]rune(before[strings.LastIndex(before, "\n")+1:])) + 1
	return strings.Replace(src, marker, "", 1), line, col
}

// loadCase loads src next to base, with the files a case needs (ruleFiles)
// in the same directory.
func loadCase(t *testing.T, name, src string) (string, *Config, string) {
	t.Helper()
	dir := t.TempDir()
	for file, body := range ruleFiles[name] {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	casePath := filepath.Join(dir, "case.hcl")
	if err := os.WriteFile(filepath.Join(dir, "00-base.hcl"), []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(casePath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, files, diags := Load(dir)
	return casePath, cfg, render(t, files, diags)
}

func TestRules(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range ruleCases {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %s", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name+"/good", func(t *testing.T) {
			_, cfg, out := loadCase(t, tc.name, tc.good)
			if out != "" || cfg == nil {
				t.Fatalf("want no diagnostics for:\n%s\ngot:\n%s", tc.good, out)
			}
		})
		t.Run(tc.name+"/bad", func(t *testing.T) {
			src, line, col := position(t, tc.bad)
			path, cfg, out := loadCase(t, tc.name, src)
			if cfg != nil {
				t.Errorf("config returned despite errors")
			}
			want := path + ":" + strconv.Itoa(line) + ":" + strconv.Itoa(col) + ": error: " + tc.summary + "\n"
			if !strings.HasPrefix(out, want) {
				t.Fatalf("source:\n%s\nwant first line %q\ngot:\n%s", src, want, out)
			}
			if n := strings.Count(out, ": error: "); n != 1 {
				t.Errorf("want exactly one error, got %d:\n%s", n, out)
			}
		})
	}
}
