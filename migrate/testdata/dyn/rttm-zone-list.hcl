# Imported by `failoverd import dyn` from rttm-zone-list.json.
# Review every "not imported" comment and every contact before use.

contact "api team" {
  # The export names this contact but does not carry its addresses:
  # replace the placeholder with the e-mail addresses to notify.
  email = ["replace-me@example.invalid"]
}

zone "example.net" {}

# from rttm-zone-list.json, $.data[0]
rttm "api.example.net." {
  auto_recover     = true
  recovery_delay   = 0
  ttl              = 30
  notify_events    = ["ip", "svc"]
  contact_nickname = "api team"
  active           = true

  monitor {
    protocol = "HTTP"
    interval = "1m"
    retries  = 0
    timeout  = "10s"
    port     = 80
    expected = "Example"
  }

  performance_monitor {
    protocol = "HTTP"
    interval = "20m"
    retries  = 0
    timeout  = "5s"
    port     = 80
    path     = "/ping"
  }

  syslog {
    server     = "syslog.example.net"
    port       = 514
    ident      = "dynect"
    facility   = "daemon"
    delivery   = "change"
    probe_fmt  = "%hos probe %tim: %sit %sta %rti%msg%adr"
    status_fmt = "%hos status %tim: %reg %sta %ser %rda"
    rttm_fmt   = "%hos rttm %tim: %reg %sta %med %rts"
  }

  # not imported: status = "ok"

  region "global" {
    ep            = 2
    apmc          = 1
    epmc          = 1
    serve_count   = 1
    failover_mode = "global"
    # not imported: status = "ok"

    pool "192.0.2.30" {
      label      = "a"
      weight     = 5
      serve_mode = "always"
    }

    pool "192.0.2.31" {
      label      = "b"
      weight     = 1
      serve_mode = "obey"
    }

    pool "192.0.2.32" {
      label      = "c"
      weight     = 1
      serve_mode = "obey"
    }
  }

  region "EU West" {
    autopopulate  = true
    ep            = 0
    apmc          = 1
    epmc          = 1
    serve_count   = 1
    failover_mode = "global"
    # not imported: pool "192.0.2.30": an autopopulated region serves the global region's pool
    # not imported: status = "ok"
  }
}

# from rttm-zone-list.json, $.data[1]
rttm "cdn.example.net." {
  ttl              = 30
  notify_events    = ["svc"]
  contact_nickname = "api team"
  active           = true

  monitor {
    protocol = "PING"
    interval = "1m"
    retries  = 1
    timeout  = "2s"
    # not imported: port = 7: a PING monitor has no port
    # not imported: expected = "pong": a PING monitor does not use it
  }

  region "global" {
    serve_count   = 1
    failover_mode = "cname"
    failover_data = "fallback.cdn.example.org."

    pool "192.0.2.40" {
      label      = "edge"
      weight     = 3
      serve_mode = "obey"
    }
  }
}
