contact "ops" {
  email = ["ops@example.net"]
}

zone "example.com" {}

gslb "app.example.com." {
  ttl              = 10
  notify_events    = ["ip", "everything"]
  contact_nickname = "oncall"

  monitor {
    protocol = "HTTPS"
    interval = "10s"
    timeout  = "20s"
    retries  = 11
  }

  syslog {
    server   = "127.0.0.1"
    facility = "local9"
    rttm_fmt = "%med"
  }

  region "US East" {
    failover_mode = "region"
    failover_data = "Europe"

    pool "192.0.2.10" {
      weight     = 16
      serve_mode = "sometimes"
    }
    pool "192.0.2.10" {}
  }

  region "Mars" {
    pool "192.0.2.11" {}
  }
}
