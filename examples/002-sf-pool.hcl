# Mirrors UltraDNS's hosted Simple Monitor / Simple Failover (SF) pools.
#
# The "Create Simple Monitor / Failover Pool" JSON example of its REST API
#
#   "ownerName": "a.domain.name.", "rrtype": "A", "ttl": 300,
#   "rdata": ["1.2.3.4"],
#   "profile": { "poolDescription": "Pool description",
#     "liveRecordDescription": "Live Record description",
#     "liveRecordState": "FORCED_INACTIVE",
#     "backupRecord": { "rdata": "5.6.7.8", "description": "backup record description" },
#     "monitor": { "method": "POST", "url": "http://www.cnn.com/",
#                  "transmittedData": "foo=10&bar=20", "searchString": "testing" },
#     "regionFailureSensitivity": "LOW" }
#
# with documentation addresses and names. FORCED_INACTIVE: the backup record
# is served (status MANUAL) until the pool is unforced through the API.

contact "ops" {
  email = ["ops@example.net"]
}

zone "domain.example" {
  ns = ["ns1.example.net."]
}

sf_pool "a.domain.example." {
  rrtype                     = "A"
  ttl                        = 300
  rdata                      = "192.0.2.40"
  pool_description           = "Pool description"
  live_record_description    = "Live Record description"
  live_record_state          = "FORCED_INACTIVE"
  region_failure_sensitivity = "LOW"
  contact_nickname           = "ops"

  backup_record {
    rdata       = "192.0.2.41"
    description = "backup record description"
  }

  monitor {
    method           = "POST"
    url              = "http://www.example.com/"
    transmitted_data = "foo=10&bar=20"
    search_string    = "testing"
  }
}

# A Simple Monitor: no backup record, alerts only; IPv6 with AAAA.
sf_pool "b.domain.example." {
  rrtype                     = "AAAA"
  rdata                      = "2001:db8::40"
  region_failure_sensitivity = "HIGH"
  contact_nickname           = "ops"

  monitor {
    method = "GET"
    url    = "https://www.example.com/health"
  }
}
