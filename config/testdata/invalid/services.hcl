zone "example.com" {}

active_failover "www.example.org." {
  address       = "192.0.2.1"
  failover_mode = "cname"
  failover_data = "192.0.2.2"
  ttl           = 2

  monitor {
    protocol = "TCP"
    interval = "2s"
  }
}

sf_pool "a.example.com." {
  rrtype            = "AAAA"
  rdata             = "192.0.2.40"
  live_record_state = "FORCED"

  monitor {
    method = "PUT"
    url    = "ftp://192.0.2.40/"
  }

  backup_record {
    rdata = "192.0.2.41"
  }
}

rttm "a.example.com." {
  monitor {
    protocol = "ping"
    interval = "1m"
  }
  region "global" {
    autopopulate = true
  }
}
