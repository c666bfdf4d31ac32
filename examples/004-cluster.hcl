# Mirrors Memset's hosted load-balancer cluster API (cluster real services).
#
# A cluster service whose real services have weights, one disabled, and an
# enabled fallback server that is served only when no other real service is
# up.

zone "example.com" {
  ns = ["ns1.example.net."]
}

cluster "web-cluster" {
  service "https" {
    fqdn     = "web.example.com."   # A/AAAA here, SRV at _https._tcp.web.example.com.
    protocol = "tcp"
    ttl      = 5

    monitor {
      protocol = "TCP"
      interval = "10s"              # no port: each real service's own port
    }

    real_service "web1" {
      ip_address = "192.0.2.51"
      port       = 443
      weight     = 10
    }
    real_service "web2" {
      ip_address = "192.0.2.52"
      port       = 443
      weight     = 5
      enabled    = false            # not part of the service
    }
    real_service "web3" {
      ip_address = "2001:db8::53"
      port       = 443
      weight     = 0                # no new traffic
    }
    real_service "sorry" {
      ip_address = "192.0.2.59"
      port       = 443
      weight     = 1
      fallback   = true
    }
  }
}
