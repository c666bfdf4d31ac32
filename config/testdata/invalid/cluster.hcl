zone "example.com" {}

api {
  listen = "0.0.0.0:8053"
}

cluster "web cluster" {
  service "https" {
    fqdn = "web.example.com."
    ttl  = 6

    monitor {
      protocol = "TCP"
      interval = "10s"
    }

    real_service "web1" {
      ip_address = "192.0.2.351"
      port       = 443
      weight     = -1
      fallback   = true
    }
    real_service "sorry" {
      ip_address = "192.0.2.59"
      port       = 443
      enabled    = false
      fallback   = true
    }
  }
}
