server { state_dir = "{{STATE}}" }
dns { listen = ["127.0.0.1:0"] }
api { listen = "127.0.0.1:0" }

zone "example.test" {
  record "www" {
    type  = "A"
    rdata = ["192.0.2.1", "not-an-ip"]
  }
}
