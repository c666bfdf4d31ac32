server { state_dir = "{{STATE}}" }
dns {
  listen         = ["127.0.0.1:0"]
  geoip_database = "missing.mmdb"
}
api { listen = "127.0.0.1:0" }
