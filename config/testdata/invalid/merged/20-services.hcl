zone "EXAMPLE.com." {}

server {}

active_failover "www.example.com." {
  address       = "192.0.2.1"
  failover_data = "192.0.2.2"
  monitor {
    protocol = "TCP"
    interval = "1m"
  }
}

gslb "www.example.com." {
  monitor {
    protocol = "TCP"
    interval = "1m"
  }
  region "global" {
    pool "192.0.2.3" {}
  }
}
