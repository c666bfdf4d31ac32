# Imported by `failoverd import dyn` from gslb-host-name.json.
# Review every "not imported" comment and every contact before use.

contact "webops" {
  # The export names this contact but does not carry its addresses:
  # replace the placeholder with the e-mail addresses to notify.
  email = ["replace-me@example.invalid"]
}

zone "example.com" {}

# from gslb-host-name.json, $.data
gslb "cdn.example.com." {
  auto_recover     = true
  recovery_delay   = 0
  ttl              = 30
  notify_events    = ["ip", "svc"]
  contact_nickname = "webops"
  active           = true

  monitor {
    protocol = "TCP"
    interval = "1m"
    retries  = 0
    timeout  = "5s"
    port     = 443
  }

  # not imported: status = "ok"

  region "US East" {
    serve_count   = 2
    min_healthy   = 1
    failover_mode = "global"
    # not imported: status = "ok"

    pool "lb-1.cdn.example.net." {
      label      = "lb-1"
      weight     = 2
      serve_mode = "obey"
      # not imported: status = "up"
    }

    pool "192.0.2.40" {
      weight     = 1
      serve_mode = "obey"
      # not imported: status = "up"
    }
  }

  region "global" {
    serve_count   = 1
    min_healthy   = 1
    failover_mode = "global"
    # not imported: status = "ok"

    pool "lb-2.cdn.example.net." {
      label      = "lb-2"
      weight     = 1
      serve_mode = "obey"
      # not imported: status = "up"
    }
  }
}
