package api

import (
	"context"
	"net/http"
	"time"
)

// SitesController is implemented by a Controller that knows the
// deployment's sites (GET /v1/sites). A single node is one site.
type SitesController interface {
	Sites(ctx context.Context) (*SitesResponse, error)
}

// SitesResponse is GET /v1/sites: the deployment as this node sees it.
type SitesResponse struct {
	// Leader is the site that decides, "" while there is none.
	Leader string `json:"leader"`
	// Connected says whether this node reaches etcd (always true for a
	// single node).
	Connected bool `json:"connected"`
	// Revision is the etcd revision of the last change applied; 0 for a
	// single node.
	Revision int64  `json:"revision"`
	Sites    []Site `json:"sites"`
}

// Site is one live site of the deployment.
type Site struct {
	Site     string    `json:"site"`
	Hostname string    `json:"hostname"`
	Leader   bool      `json:"leader"`
	LastSeen time.Time `json:"last_seen"`
	Version  string    `json:"version"`
}

// SiteReport is one site's view of an entry (ServiceDetail entries'
// "sites").
type SiteReport struct {
	Site       string  `json:"site"`
	Status     string  `json:"status"` // up | down | unk
	Message    string  `json:"message"`
	RTTSeconds float64 `json:"rtt_seconds"`
}

func (s *Server) listSites(r *http.Request) (any, *APIError) {
	sc, ok := s.ctl.(SitesController)
	if !ok {
		return nil, notFound("this server does not report sites")
	}
	v, err := sc.Sites(r.Context())
	if err != nil {
		return nil, errorFor(err)
	}
	if v.Sites == nil {
		v.Sites = []Site{}
	}
	for i := range v.Sites {
		v.Sites[i].LastSeen = v.Sites[i].LastSeen.UTC()
	}
	return v, nil
}

// Sites calls GET /v1/sites.
func (c *Client) Sites(ctx context.Context) (*SitesResponse, error) {
	var r SitesResponse
	if err := c.Do(ctx, http.MethodGet, "/v1/sites", nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
