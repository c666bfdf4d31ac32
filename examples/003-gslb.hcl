# Mirrors Dyn's hosted Global Server Load Balancing (GSLB) service.
#
# Its REST update call with several regions and pools, monitor, syslog
# formats and failover modes.

server {
  hostname = "ns1.example.net"
  site     = "iad"
}

dns {
  region_map = {
    "US East" = ["198.51.100.0/24", "2001:db8:1::/48"]
    "EU West" = ["203.0.113.0/24"]
  }
}

contact "ops" {
  email = ["ops@example.net", "oncall@example.net"]
}

zone "example.com" {
  ns = ["ns1.example.net."]
}

gslb "app.example.com." {
  auto_recover     = true
  ttl              = 30
  notify_events    = ["ip", "svc", "nosrv"]
  recovery_delay   = 0
  contact_nickname = "ops"

  monitor {
    protocol = "HTTP"
    interval = "1m"
    retries  = 1
    timeout  = "10s"
    port     = 80
    path     = "/health"          # with a path, only a 2xx status is up
    host     = "app.example.com"
    header   = "X-Probe: failoverd\nX-Env: prod"
    expected = "OK"
  }

  syslog {
    server     = "127.0.0.1"
    port       = 514
    ident      = "dynect"
    facility   = "daemon"
    delivery   = "change"
    probe_fmt  = "%hos probe %tim: %sit %sta %rti%msg%adr"
    status_fmt = "%hos status %tim: %reg %sta %ser %rda"
  }

  region "US East" {
    serve_count   = 2
    min_healthy   = 1
    failover_mode = "region"
    failover_data = "global"

    pool "192.0.2.10" {
      label      = "use-1"
      weight     = 5
      serve_mode = "obey"
    }
    pool "192.0.2.11" {
      label      = "use-2"
      weight     = 10
      serve_mode = "obey"
    }
    pool "192.0.2.12" {
      label      = "use-canary"
      weight     = 1
      serve_mode = "no"           # probed, never served: changes are nosrv events
    }
  }

  region "EU West" {
    serve_count   = 1
    failover_mode = "ip"
    failover_data = "192.0.2.99"

    pool "192.0.2.20" {
      label      = "euw-1"
      weight     = 15
      serve_mode = "remove"       # once down, out until recovered by an operator
    }
  }

  region "Asia" {
    failover_mode = "cname"
    failover_data = "backup.example.net."

    pool "192.0.2.30" {
      label      = "asia-1"
      serve_mode = "always"
    }
  }

  region "global" {
    serve_count = 2

    pool "192.0.2.40" { weight = 1 }
    pool "192.0.2.41" { weight = 1 }
    pool "2001:db8::40" { weight = 1 }   # AAAA queries are answered from here
  }
}
