server { state_dir = "{{STATE}}" }
dns { listen = ["127.0.0.1:0"] }
api { listen = "127.0.0.1:0" }

smtp {
  server        = "127.0.0.1:25"
  from          = "failoverd@example.test"
  username      = "failoverd"
  password_file = "missing.password"
}
