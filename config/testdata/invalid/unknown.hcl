zone "example.com" {
  colour = "blue"
}

loadbalancer "web" {}

active_failover "www.example.com." {
  address       = "192.0.2.1"
  failover_data = "192.0.2.2"
  monitor {
    protocol = "HTTP"
    interval = "1m"
    verb     = "GET"
  }
}
