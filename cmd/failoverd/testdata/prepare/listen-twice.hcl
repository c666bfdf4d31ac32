server { state_dir = "{{STATE}}" }
dns { listen = ["127.0.0.1:53999", "127.0.0.1:53999"] }
api { listen = "127.0.0.1:0" }
