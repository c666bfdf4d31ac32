# Imported by `failoverd import ultradns` from sf-pool.json.
# Review every "not imported" comment and every contact before use.

zone "example.com" {}

# from sf-pool.json, $.rrSets[0]
sf_pool "a.example.com." {
  rrtype                     = "A"
  ttl                        = 300
  rdata                      = "192.0.2.40"
  pool_description           = "Pool description"
  live_record_description    = "Live record description"
  live_record_state          = "FORCED_INACTIVE"
  region_failure_sensitivity = "HIGH"
  # not imported: status = "MANUAL"

  monitor {
    method           = "POST"
    url              = "http://192.0.2.40/health"
    transmitted_data = "foo=10&bar=20"
    search_string    = "testing"
  }

  backup_record {
    rdata       = "192.0.2.41"
    description = "backup record description"
  }
}
