# Imported by `failoverd import dyn` from failover-envelope.json.
# Review every "not imported" comment and every contact before use.

contact "webops" {
  # The export names this contact but does not carry its addresses:
  # replace the placeholder with the e-mail addresses to notify.
  email = ["replace-me@example.invalid"]
}

zone "example.com" {}

# from failover-envelope.json, $.data
active_failover "www.example.com." {
  address          = "192.0.2.1"
  failover_mode    = "ip"
  failover_data    = "192.0.2.2"
  auto_recover     = true
  recovery_delay   = 2
  ttl              = 30
  notify_events    = ["ip", "svc"]
  contact_nickname = "webops"
  active           = true

  monitor {
    protocol = "HTTPS"
    interval = "1m"
    retries  = 2
    timeout  = "10s"
    port     = 8443
    path     = "/health"
    host     = "www.example.com"
    header   = "X-Probe: dyn\nX-Env: prod"
    expected = "Example $${OK} 100%%{done}"
  }

  syslog {
    server     = "192.0.2.250"
    port       = 5514
    ident      = "dynect"
    facility   = "local3"
    delivery   = "all"
    probe_fmt  = "%hos probe %tim: %sit %sta %rti%msg%adr"
    status_fmt = "%hos status %tim: %reg %sta %ser %rda"
  }

  # not imported: status = "ok"
}
