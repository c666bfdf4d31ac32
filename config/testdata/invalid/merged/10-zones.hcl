zone "example.com" {}

server {
  log_level = "loud"
}
