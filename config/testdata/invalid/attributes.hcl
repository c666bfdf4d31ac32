server {
  probe_source = "192.0.2.256"
}
dns {
  cookies = true
  rrl {
    responses_per_second = 0
    slip                 = 11
    ipv4_prefix          = 33
    ipv6_prefix          = 15
    exempt               = ["192.0.2.0/24", "2001:db8::/129"]
  }
  transfer {
    allow = ["127.0.0.0/8"]
    tsig  = "axfr"
  }
}
tsig_key "xfr" {
  algorithm = "hmac-md5"
  secret    = "not base64"
}
tsig_key "both" {
  secret      = "c2VjcmV0"
  secret_file = "secret.key"
}
tsig_key "none" {}
api {
  tls_cert_file = "cert.pem"
}
zone "example.com" {}
active_failover "www.example.com." {
  address       = "192.0.2.1"
  failover_data = "192.0.2.2"
  monitor {
    protocol = "PING"
    interval = "10s"
    watch    = true
  }
}
cluster "web" {
  service "https" {
    fqdn = "web.example.com."
    monitor {
      protocol = "TCP"
      interval = "10s"
    }
    real_service "web1" {
      ip_address = "192.0.2.51"
      port       = 443
      weight     = 4294967296
    }
  }
}
