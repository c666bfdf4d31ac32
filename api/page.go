package api

import (
	"embed"
	"io/fs"
	"net/http"
)

// The status page is static: index.html, app.js and style.css, embedded in
// the binary, with no external assets. It is served without a token; its
// script reads the same JSON API as everyone else (/v1/services,
// /v1/services/{fqdn}, .../log, /v1/clusters, .../real_services, and
// /v1/explain for its explain box, which /?explain=NAME&client=IP fills
// in and runs, so an explanation can be linked to). When the
// API has a token, the page asks for it once and keeps it in the tab's
// sessionStorage; /#token=TOKEN hands it over in the URL fragment, which
// browsers never send to the server. No unauthenticated data endpoint exists.
//
//go:embed static
var staticFiles embed.FS

// contentSecurityPolicy allows nothing but this server's own script, style
// and API: the page loads no external asset.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

func pageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		next.ServeHTTP(w, r)
	})
}

// statusPage registers GET / and GET /static/.
func (s *Server) statusPage(mux *http.ServeMux) {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	index, err := fs.ReadFile(sub, "index.html")
	if err != nil {
		panic(err)
	}
	mux.Handle("GET /{$}", pageHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(index)
	})))
	mux.Handle("GET /static/", pageHeaders(http.StripPrefix("/static/", http.FileServerFS(sub))))
}
