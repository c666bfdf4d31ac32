server { state_dir = "{{STATE}}" }
dns { listen = ["127.0.0.1:0"] }
api {
  listen     = "127.0.0.1:0"
  token_file = "good.token"
}
zone "example.test" {
  file = "good.zone"
}
