server { state_dir = "{{STATE}}" }
dns {
  listen = ["127.0.0.1:0"]
  region_map = {
    "office" = ["198.51.100.0/24"]
    "lab"    = ["198.51.100.0/24", "203.0.113.0/24"]
  }
}
api { listen = "127.0.0.1:0" }
