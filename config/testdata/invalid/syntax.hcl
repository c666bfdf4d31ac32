zone "example.com" {
  ttl = 
}
