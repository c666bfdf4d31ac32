# Imported by `failoverd import dyn` from gslb.json.
# Review every "not imported" comment and every contact before use.

contact "webops" {
  # The export names this contact but does not carry its addresses:
  # replace the placeholder with the e-mail addresses to notify.
  email = ["replace-me@example.invalid"]
}

zone "example.com" {}

# from gslb.json, $.data
gslb "app.example.com." {
  auto_recover     = true
  recovery_delay   = 1
  ttl              = 30
  notify_events    = ["ip", "svc", "nosrv"]
  contact_nickname = "webops"
  active           = true

  monitor {
    protocol = "HTTP"
    interval = "1m"
    retries  = 1
    timeout  = "5s"
    path     = "/status"
    host     = "app.example.com"
    expected = "OK"
  }

  # not imported: status = "ok"

  region "US East" {
    serve_count   = 2
    min_healthy   = 1
    failover_mode = "region"
    failover_data = "EU West"
    # not imported: status = "ok"

    pool "192.0.2.10" {
      label      = "use-1"
      weight     = 5
      serve_mode = "obey"
      # not imported: log: 1 entry of monitoring history
      # not imported: status = "up"
    }

    pool "192.0.2.11" {
      label      = "use-2"
      weight     = 10
      serve_mode = "remove"
      # not imported: status = "up"
    }
  }

  region "EU West" {
    serve_count   = 1
    min_healthy   = 1
    failover_mode = "ip"
    failover_data = "198.51.100.99"
    # not imported: status = "ok"

    pool "198.51.100.20" {
      label      = "euw-1"
      weight     = 1
      serve_mode = "always"
      # not imported: status = "up"
    }

    pool "2001:db8::20" {
      label      = "euw-6"
      weight     = 1
      serve_mode = "obey"
      # not imported: status = "unk"
    }
  }

  region "global" {
    serve_count   = 1
    min_healthy   = 0
    failover_mode = "global"
    # not imported: status = "ok"

    pool "203.0.113.30" {
      weight     = 15
      serve_mode = "obey"
      # not imported: status = "up"
    }

    pool "203.0.113.31" {
      label      = "do not serve"
      weight     = 1
      serve_mode = "no"
      # not imported: status = "down"
    }
  }
}
