# Mirrors no hosted product: the failoverd quickstart, everything on one
# machine with no outside network.
#
#   failoverd run -config examples/quickstart.hcl
#
# Then, from another terminal:
#
#   dig @127.0.0.1 -p 5353 static.example.test A +short
#     127.0.0.53                     (a static record)
#
#   dig @127.0.0.1 -p 5353 up.example.test A +short
#     127.0.0.1                      (the primary: its TCP monitor connects to
#                                     the daemon's own API port 8053, so it is up)
#
#   dig @127.0.0.1 -p 5353 down.example.test A +short
#     127.0.0.4                      (nothing listens on 127.0.0.3 port 9: the
#                                     connection is refused, so within a few
#                                     seconds the backup is served instead of
#                                     127.0.0.3)
#
#   dig @127.0.0.1 -p 5353 pool.example.test A +short
#     127.0.0.1                      (the region pool: 127.0.0.5 does not answer
#                                     on port 8053, so once probed only
#                                     127.0.0.1 is served and the service
#                                     status is "trouble")
#
#   curl -s http://127.0.0.1:8053/v1/services    (statuses: ok, failover, trouble)

server {
  site      = "local"
  state_dir = "./state/quickstart"   # relative to the working directory
  log_level = "info"
}

dns {
  listen = ["127.0.0.1:5353"]
}

api {
  listen = "127.0.0.1:8053"   # loopback: no token needed
}

zone "example.test" {
  ttl = 300
  ns  = ["ns1.example.test."]

  record "ns1" {
    type  = "A"
    rdata = ["127.0.0.1"]
  }

  record "static" {
    type  = "A"
    ttl   = 60
    rdata = ["127.0.0.53"]
  }
}

# Up: the monitored primary is the daemon's own API port.
active_failover "up.example.test." {
  address       = "127.0.0.1"
  failover_mode = "ip"
  failover_data = "127.0.0.2"
  ttl           = 1

  monitor {
    protocol = "TCP"
    interval = "2s"
    port     = 8053
  }
}

# Down: nothing listens on port 9, so the backup 127.0.0.4 is served.
active_failover "down.example.test." {
  address       = "127.0.0.3"
  failover_mode = "ip"
  failover_data = "127.0.0.4"
  ttl           = 1

  monitor {
    protocol = "TCP"
    interval = "2s"
    port     = 9
  }
}

# A region pool: 127.0.0.1 is up, 127.0.0.5 is down (trouble), so dig
# answers 127.0.0.1; serve_count 2 would show both while both were up.
gslb "pool.example.test." {
  ttl = 1

  monitor {
    protocol = "TCP"
    interval = "2s"
    port     = 8053
  }

  region "global" {
    serve_count = 2

    pool "127.0.0.1" {
      label  = "local-api"
      weight = 10
    }
    pool "127.0.0.5" {
      label  = "nothing-here"
      weight = 5
    }
  }
}
