# Mirrors Dyn Traffic Management's hosted Active Failover service.
#
# The dyn.tm Python SDK example
#
#   mon = HealthMonitor(protocol='HTTP', interval='1', expected='Example')
#   afo = ActiveFailover('example.com', 'example.com.', '127.0.0.1', 'ip',
#                        '127.0.0.2', mon, 'mycontact')
#   afo.notify_events = 'ip, nosrv'
#
# with documentation addresses: the primary 192.0.2.1 is served while its
# HTTP page contains "Example"; when it does not, the backup 192.0.2.2 is.

server {
  hostname = "ns1.example.net"
}

contact "mycontact" {
  email = ["ops@example.net"]
}

zone "example.com" {
  ns = ["ns1.example.net."]
}

active_failover "example.com." {
  address          = "192.0.2.1"
  failover_mode    = "ip"
  failover_data    = "192.0.2.2"
  auto_recover     = true
  notify_events    = ["ip", "nosrv"]
  contact_nickname = "mycontact"
  ttl              = 30          # at most half of the 1 minute interval

  monitor {
    protocol = "HTTP"
    interval = "1m"
    expected = "Example"
  }

  syslog {
    server   = "127.0.0.1"
    port     = 514
    ident    = "dynect"     # the default: Dyn's monitoring logged under it, so existing syslog filters keep matching
    facility = "daemon"
    delivery = "change"
  }
}
