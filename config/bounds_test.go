package config

import "strings"

func rttmRegion(regionAttrs string) string {
	return rttm("", "  region \"global\" {\n"+regionAttrs+"    pool \"192.0.2.20\" {}\n  }\n")
}

func rrl(attrs string) string {
	return "dns {\n  rrl {\n" + attrs + "  }\n}\n"
}

func rps(attrs string) string { return rrl("    responses_per_second = 20\n" + attrs) }

// boundRuleCases check every numeric attribute at both edges of its range:
// the good case holds the edge value, the bad case the first value past it.
// Numbers that are not whole or do not fit 64 bits are refused by the
// decoder, never wrapped.
var boundRuleCases = []ruleCase{
	{"bound_zone_ttl_max", `zone "example.net" { ttl = 2147483647 }`, `zone "example.net" { ttl = ` + marker + `2147483648 }`, "Invalid ttl"},
	{"bound_record_ttl_max", "zone \"example.net\" {\n  record \"www\" {\n    type  = \"A\"\n    ttl   = 2147483647\n    rdata = [\"192.0.2.80\"]\n  }\n}",
		"zone \"example.net\" {\n  record \"www\" {\n    type  = \"A\"\n    ttl   = " + marker + "2147483648\n    rdata = [\"192.0.2.80\"]\n  }\n}", "Invalid ttl"},
	{"bound_record_ttl_min", "zone \"example.net\" {\n  record \"www\" {\n    type  = \"A\"\n    ttl   = 0\n    rdata = [\"192.0.2.80\"]\n  }\n}",
		"zone \"example.net\" {\n  record \"www\" {\n    type  = \"A\"\n    ttl   = " + marker + "-1\n    rdata = [\"192.0.2.80\"]\n  }\n}", "Invalid ttl"},
	{"bound_service_ttl_max", afo("  ttl = 5\n", mon10), afo("  ttl = "+marker+"2147483648\n", mon10), "Invalid ttl"},
	{"bound_sf_ttl_max", sf("  ttl = 2147483647\n", sfMon), sf("  ttl = "+marker+"2147483648\n", sfMon), "Invalid ttl"},
	{"bound_sf_ttl_min", sf("  ttl = 0\n", sfMon), sf("  ttl = "+marker+"-1\n", sfMon), "Invalid ttl"},
	{"bound_recovery_delay_max", afo("  recovery_delay = 1000\n", mon10), afo("  recovery_delay = "+marker+"1001\n", mon10), "Invalid recovery_delay"},
	{"bound_recovery_delay_min", afo("  recovery_delay = 0\n", mon10), afo("  recovery_delay = "+marker+"-1\n", mon10), "Invalid recovery_delay"},
	{"bound_monitor_retries_min", afoMon("    protocol = \"TCP\"\n    interval = \"10s\"\n    retries = 0\n"), afoMon("    protocol = \"TCP\"\n    interval = \"10s\"\n    retries = " + marker + "-1\n"), "Invalid retries"},
	{"bound_monitor_port_min", afoMon("    protocol = \"TCP\"\n    interval = \"10s\"\n    port = 1\n"), afoMon("    protocol = \"TCP\"\n    interval = \"10s\"\n    port = " + marker + "0\n"), "Invalid port"},
	{"bound_sf_monitor_retries_max", sfMonitor("    retries = 10\n"), sfMonitor("    retries = " + marker + "11\n"), "Invalid retries"},
	{"bound_syslog_port_max", syslog("    port = 65535\n"), syslog("    port = " + marker + "65536\n"), "Invalid port"},
	{"bound_syslog_port_min", syslog("    port = 1\n"), syslog("    port = " + marker + "0\n"), "Invalid port"},

	{"bound_pool_weight_wraps_never", gslbPool("      weight = 15\n"), gslbPool("      weight = " + marker + "4294967296\n"), "Invalid weight"},
	{"bound_pool_weight_fractional", gslbPool("      weight = 2\n"), gslbPool("      weight = " + marker + "2.5\n"), "Unsuitable value type"},
	{"bound_pool_weight_over_int64", gslbPool("      weight = 2\n"), gslbPool("      weight = " + marker + "1e30\n"), "Unsuitable value type"},
	{"bound_real_service_weight_srv_max", cluster("c", "", real("web1", "      weight = 65535\n")), cluster("c", "", real("web1", "      weight = "+marker+"65536\n")), "Invalid weight"},
	{"bound_real_service_weight_wraps_never", cluster("c", "", real("web1", "      weight = 0\n")), cluster("c", "", real("web1", "      weight = "+marker+"4294967296\n")), "Invalid weight"},
	{"bound_real_service_weight_fractional", cluster("c", "", real("web1", "      weight = 3\n")), cluster("c", "", real("web1", "      weight = "+marker+"0.5\n")), "Unsuitable value type"},
	{"bound_real_service_port_max", strings.Replace(cluster("c", "", real("web1", "")), `port = 443`, `port = 65535`, 1),
		strings.Replace(cluster("c", "", real("web1", "")), `port = 443`, `port = `+marker+`65536`, 1), "Invalid port"},

	{"bound_serve_count_min", gslbRegion("    serve_count = 1\n"), gslbRegion("    serve_count = " + marker + "0\n"), "Invalid serve_count"},
	{"bound_serve_count_max", gslbRegion("    serve_count = 64\n"), gslbRegion("    serve_count = " + marker + "65\n"), "Invalid serve_count"},
	{"bound_min_healthy_min", gslbRegion("    min_healthy = 0\n"), gslbRegion("    min_healthy = " + marker + "-1\n"), "Invalid min_healthy"},
	{"bound_min_healthy_max", gslbRegion("    min_healthy = 64\n"), gslbRegion("    min_healthy = " + marker + "65\n"), "Invalid min_healthy"},
	{"bound_ep_min", rttmRegion("    ep = 0\n"), rttmRegion("    ep = " + marker + "-1\n"), "Invalid ep"},
	{"bound_ep_max", rttmRegion("    ep = 64\n"), rttmRegion("    ep = " + marker + "65\n"), "Invalid ep"},
	{"bound_apmc_min", rttmRegion("    apmc = 0\n"), rttmRegion("    apmc = " + marker + "-1\n"), "Invalid apmc"},
	{"bound_apmc_max", rttmRegion("    apmc = 64\n"), rttmRegion("    apmc = " + marker + "65\n"), "Invalid apmc"},
	{"bound_epmc_min", rttmRegion("    epmc = 0\n"), rttmRegion("    epmc = " + marker + "-1\n"), "Invalid epmc"},
	{"bound_epmc_max", rttmRegion("    epmc = 64\n"), rttmRegion("    epmc = " + marker + "65\n"), "Invalid epmc"},

	{"bound_rrl_responses_per_second_min", rrl("    responses_per_second = 1\n"), rrl("    responses_per_second = " + marker + "0\n"), "Invalid responses_per_second"},
	{"bound_rrl_responses_per_second_max", rrl("    responses_per_second = 1000000\n"), rrl("    responses_per_second = " + marker + "1000001\n"), "Invalid responses_per_second"},
	{"bound_rrl_slip_min", rps("    slip = 0\n"), rps("    slip = " + marker + "-1\n"), "Invalid slip"},
	{"bound_rrl_slip_max", rps("    slip = 10\n"), rps("    slip = " + marker + "11\n"), "Invalid slip"},
	{"bound_rrl_ipv4_prefix_min", rps("    ipv4_prefix = 8\n"), rps("    ipv4_prefix = " + marker + "7\n"), "Invalid ipv4_prefix"},
	{"bound_rrl_ipv4_prefix_max", rps("    ipv4_prefix = 32\n"), rps("    ipv4_prefix = " + marker + "33\n"), "Invalid ipv4_prefix"},
	{"bound_rrl_ipv6_prefix_min", rps("    ipv6_prefix = 16\n"), rps("    ipv6_prefix = " + marker + "15\n"), "Invalid ipv6_prefix"},
	{"bound_rrl_ipv6_prefix_max", rps("    ipv6_prefix = 128\n"), rps("    ipv6_prefix = " + marker + "129\n"), "Invalid ipv6_prefix"},
}
