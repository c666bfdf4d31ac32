server { state_dir = "{{STATE}}" }
dns { listen = ["127.0.0.1:0"] }
api {
  listen     = "192.0.2.1:8053"
  token_file = "good.token"
}
