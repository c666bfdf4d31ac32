server { state_dir = "{{STATE}}" }
dns { listen = ["127.0.0.1:0"] }
api { listen = "127.0.0.1:0" }

zone "example.test" {
  file = "bad.zone"
}
