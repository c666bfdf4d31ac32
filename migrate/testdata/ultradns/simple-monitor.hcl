# Imported by `failoverd import ultradns` from simple-monitor.json.
# Review every "not imported" comment and every contact before use.

zone "example.org" {}

# from simple-monitor.json, $
sf_pool "v6.example.org." {
  rrtype                     = "AAAA"
  ttl                        = 60
  rdata                      = "2001:db8::40"
  region_failure_sensitivity = "LOW"
  # not imported: status = "OK"

  monitor {
    method = "GET"
    url    = "https://v6.example.org/health"
  }
}
