server { state_dir = "testdata/prepare/good.token" }
dns { listen = ["127.0.0.1:0"] }
api { listen = "127.0.0.1:0" }
