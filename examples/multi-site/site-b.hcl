# Site "b" of the three-site example (make run-sites): three failoverd
# nodes on one machine, one etcd on loopback. The files differ only in the
# server, dns and api blocks; see docs/operations.md, "Running several sites".

server {
  site         = "b"
  hostname     = "ns2.example.test"
  probe_source = "127.0.0.12"          # each site probes from its own address
  state_dir    = "./state/multi-site/b"
  log_level    = "info"
}

dns {
  listen = ["127.0.0.1:5352"]
}

api {
  listen = "127.0.0.1:8052"
}

etcd {
  endpoints    = ["http://127.0.0.1:2379"]
  lease_ttl    = "3s"
  quorum       = "majority"
  on_partition = "local"
}

zone "example.test" {
  ttl = 300
  ns  = ["ns1.example.test.", "ns2.example.test.", "ns3.example.test."]
}

# The primary is the API of site a: up while that node runs, down once it
# is stopped, as seen from every site.
active_failover "www.example.test." {
  address       = "127.0.0.1"
  failover_data = "127.0.0.4"
  ttl           = 1
  monitor {
    protocol = "TCP"
    interval = "2s"
    timeout  = "1s"
    port     = 8051
  }
}
