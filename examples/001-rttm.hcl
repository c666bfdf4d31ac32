# Mirrors Dyn's hosted Real Time Traffic Manager (RTTM).
#
# The dyn.tm Python SDK example
#
#   entry  = RegionPoolEntry('1.1.1.1', 'RPE Label', 5, 'always')
#   region = RTTMRegion(zone, fqdn, 'global', [entry])
#   monitor = Monitor('HTTP', 5, expected='Example')
#   performance_monitor = Monitor('HTTP', 20)
#   rttm = RTTM(zone, fqdn, 'mycontactname', region=[region],
#               monitor=monitor, performance_monitor=performance_monitor)
#   rttm.notify_events = 'ip, nosrv'
#
# with a documentation address in place of 1.1.1.1, plus a second region
# filled from the global pool.

server {
  hostname = "ns1.example.net"
}

contact "mycontactname" {
  email = ["ops@example.net"]
}

zone "example.com" {
  ns = ["ns1.example.net."]
}

rttm "example.com." {
  contact_nickname = "mycontactname"
  notify_events    = ["ip", "nosrv"]
  auto_recover     = true
  ttl              = 150         # at most half of the 5 minute monitor interval

  monitor {
    protocol = "HTTP"
    interval = "5m"
    expected = "Example"
  }

  performance_monitor {          # the SDK's interval 20 is given here as 20 minutes
    protocol = "HTTP"
    interval = "20m"
  }

  syslog {
    server   = "127.0.0.1"
    rttm_fmt = "%hos rttm %tim: %reg %sta %med %rts"
  }

  region "global" {
    serve_count   = 1
    failover_mode = "global"

    pool "192.0.2.30" {
      label      = "RPE Label"
      weight     = 5
      serve_mode = "always"
    }
  }

  region "US East" {
    autopopulate = true          # the pool is copied from the global region
  }
}
