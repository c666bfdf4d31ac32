# Imported by `failoverd import ultradns` from mixed-list.json.
# Review every "not imported" comment and every contact before use.

zone "domain.name" {}

# from mixed-list.json, $[0].rrsets[0]
sf_pool "sf.domain.name." {
  rrtype                     = "A"
  ttl                        = 300
  rdata                      = "1.2.3.4"
  pool_description           = "Pool description with \"quotes\" and $${braces}"
  live_record_description    = "Live record description"
  region_failure_sensitivity = "LOW"
  # not imported: status = "CRITICAL"

  monitor {
    method           = "POST"
    url              = "http://www.example.com/"
    transmitted_data = "foo=10&bar=20"
    search_string    = "testing"
    # not imported: interval = "5"
  }

  backup_record {
    rdata       = "5.6.7.8"
    description = "backup record description"
  }
}

# not imported: from mixed-list.json, $[0].rrsets[1]: www.domain.name. A ttl 3600 rdata ["192.0.2.80","192.0.2.81"]: a record set, not a pool
# not imported: from mixed-list.json, $[0].rrsets[2]: rd.domain.name. A ttl 300 rdata ["192.0.2.90","192.0.2.91"]: profile {"@context":"http://schemas.ultradns.com/RDPool.jsonschema","description":"rd","order":"RANDOM"} is not a Simple Monitor / Simple Failover pool

# from mixed-list.json, $[1]
sf_pool "backup-only.domain.name." {
  rrtype                     = "A"
  ttl                        = 120
  rdata                      = "192.0.2.60"
  live_record_state          = "NOT_FORCED"
  region_failure_sensitivity = "HIGH"

  monitor {
    method = "GET"
    url    = "http://192.0.2.60/"
  }
}
