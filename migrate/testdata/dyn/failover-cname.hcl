# Imported by `failoverd import dyn` from failover-cname.json.
# Review every "not imported" comment and every contact before use.

zone "example.org" {}

# from failover-cname.json, $
active_failover "example.org." {
  address        = "origin.example.net."
  failover_mode  = "cname"
  failover_data  = "standby.example.net."
  auto_recover   = false
  recovery_delay = 0
  ttl            = 150
  notify_events  = []
  active         = false

  monitor {
    protocol = "TCP"
    interval = "5m"
    # not imported: retries = 20: failoverd retries 0 to 10 times
    port = 443
    # not imported: path = "/ping": a TCP monitor does not use it
  }

  # not imported: syslog_ident = "afo-org": there is no syslog_server, so no syslog
  # not imported: escalation = "pager"
  # not imported: status = "unk"
}
