server { state_dir = "{{STATE}}" }
dns { listen = ["127.0.0.1:0", "192.0.2.1:5353"] }
api { listen = "127.0.0.1:0" }
