server { state_dir = "{{STATE}}" }
dns {
  listen         = ["127.0.0.1:0"]
  geoip_database = "good.token"
}
api { listen = "127.0.0.1:0" }
