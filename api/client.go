package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Client calls the control API, one method per call. Failed calls return
// an *APIError carrying the API's error type, text and HTTP status.
type Client struct {
	base    string // scheme://host:port[/prefix], no trailing slash
	baseErr error
	token   string
	// HTTPClient sends the requests; NewClient sets one with a 30 s timeout.
	HTTPClient *http.Client
}

// NewClient returns a client for addr, a URL such as http://127.0.0.1:8053
// or a bare host:port, sending token as a bearer token unless it is "".
func NewClient(addr, token string) *Client {
	c := &Client{token: strings.TrimSpace(token), HTTPClient: &http.Client{Timeout: 30 * time.Second}}
	c.base, c.baseErr = baseURL(addr)
	return c
}

// SetCAFile makes the client trust the PEM certificates in path (besides
// the system's) for an https:// API, e.g. the API's own self-signed
// certificate.
func (c *Client) SetCAFile(path string) error {
	pem, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("ca file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("ca file %s: no PEM certificate in it", path)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	c.HTTPClient.Transport = tr
	return nil
}

func baseURL(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		addr = DefaultListen
	}
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return "", fmt.Errorf("api address %q: %w", addr, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("api address %q: scheme must be http or https", addr)
	}
	if u.Host == "" {
		return "", fmt.Errorf("api address %q: no host", addr)
	}
	return strings.TrimSuffix(u.Scheme+"://"+u.Host+u.EscapedPath(), "/"), nil
}

// Do sends one request: in (when not nil) is encoded as the JSON body, and
// a 200 answer is decoded into out (when not nil). Any other status becomes
// an *APIError.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	if c.baseErr != nil {
		return c.baseErr
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil || (method != http.MethodGet && method != http.MethodHead) {
		// The API refuses a write without it (a browser's cross-site
		// "no-cors" request cannot send it), body or not.
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var er ErrorResponse
		if json.Unmarshal(data, &er) == nil && er.ErrorType != "" {
			return &APIError{Type: er.ErrorType, Message: er.Error, Status: resp.StatusCode, Diagnostics: er.Diagnostics}
		}
		text := strings.TrimSpace(string(data))
		if len(text) > 200 {
			text = text[:200]
		}
		return &APIError{Message: fmt.Sprintf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, text), Status: resp.StatusCode}
	}
	if out == nil {
		return nil
	}
	if s, ok := out.(*string); ok {
		*s = string(data)
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func svcPath(fqdn string, rest ...string) string {
	p := "/v1/services/" + url.PathEscape(fqdn)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

func realPath(cluster, service, real string, rest ...string) string {
	p := "/v1/clusters/" + url.PathEscape(cluster) + "/services/" + url.PathEscape(service) + "/real_services"
	if real != "" {
		p += "/" + url.PathEscape(real)
	}
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// Healthz calls GET /healthz.
func (c *Client) Healthz(ctx context.Context) error {
	var s string
	if err := c.Do(ctx, http.MethodGet, "/healthz", nil, &s); err != nil {
		return err
	}
	if s != "ok" {
		return fmt.Errorf("healthz answered %q", s)
	}
	return nil
}

// Services calls GET /v1/services.
func (c *Client) Services(ctx context.Context) ([]ServiceSummary, error) {
	var r ServicesResponse
	err := c.Do(ctx, http.MethodGet, "/v1/services", nil, &r)
	return r.Services, err
}

// Service calls GET /v1/services/{fqdn}.
func (c *Client) Service(ctx context.Context, fqdn string) (*ServiceDetail, error) {
	var r ServiceDetail
	if err := c.Do(ctx, http.MethodGet, svcPath(fqdn), nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

func (c *Client) job(ctx context.Context, path string, in any) (*Job, error) {
	var r JobResponse
	if err := c.Do(ctx, http.MethodPost, path, in, &r); err != nil {
		return nil, err
	}
	return r.Job, nil
}

// Activate calls POST /v1/services/{fqdn}/activate; a nil Job means
// nothing changed.
func (c *Client) Activate(ctx context.Context, fqdn string) (*Job, error) {
	return c.job(ctx, svcPath(fqdn, "activate"), nil)
}

// Deactivate calls POST /v1/services/{fqdn}/deactivate.
func (c *Client) Deactivate(ctx context.Context, fqdn string) (*Job, error) {
	return c.job(ctx, svcPath(fqdn, "deactivate"), nil)
}

// Recover calls POST /v1/services/{fqdn}/recover, for one address or
// (address "") the whole service.
func (c *Client) Recover(ctx context.Context, fqdn, address string) (*Job, error) {
	var in any
	if address != "" {
		in = RecoverRequest{Address: address}
	}
	return c.job(ctx, svcPath(fqdn, "recover"), in)
}

// Force calls POST /v1/services/{fqdn}/force.
func (c *Client) Force(ctx context.Context, fqdn string) (*Job, error) {
	return c.job(ctx, svcPath(fqdn, "force"), nil)
}

// Unforce calls POST /v1/services/{fqdn}/unforce.
func (c *Client) Unforce(ctx context.Context, fqdn string) (*Job, error) {
	return c.job(ctx, svcPath(fqdn, "unforce"), nil)
}

// Log calls GET /v1/services/{fqdn}/log; a zero end means now.
func (c *Client) Log(ctx context.Context, fqdn string, start, end time.Time) ([]Event, error) {
	q := url.Values{"start": {start.UTC().Format(time.RFC3339)}}
	if !end.IsZero() {
		q.Set("end", end.UTC().Format(time.RFC3339))
	}
	var r LogResponse
	err := c.Do(ctx, http.MethodGet, svcPath(fqdn, "log")+"?"+q.Encode(), nil, &r)
	return r.Events, err
}

// RRSets calls GET /v1/services/{fqdn}/rrsets.
func (c *Client) RRSets(ctx context.Context, fqdn string, ts time.Time) (*RRSetReport, error) {
	var r RRSetReport
	if err := c.Do(ctx, http.MethodGet, svcPath(fqdn, "rrsets")+"?ts="+strconv.FormatInt(ts.Unix(), 10), nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Job calls GET /v1/jobs/{id}.
func (c *Client) Job(ctx context.Context, id uint64) (*Job, error) {
	var r JobResponse
	if err := c.Do(ctx, http.MethodGet, "/v1/jobs/"+strconv.FormatUint(id, 10), nil, &r); err != nil {
		return nil, err
	}
	return r.Job, nil
}

// Clusters calls GET /v1/clusters.
func (c *Client) Clusters(ctx context.Context) ([]ClusterSummary, error) {
	var r ClustersResponse
	err := c.Do(ctx, http.MethodGet, "/v1/clusters", nil, &r)
	return r.Clusters, err
}

// RealServices calls GET /v1/clusters/{c}/services/{s}/real_services.
func (c *Client) RealServices(ctx context.Context, cluster, service string) ([]RealService, error) {
	var r RealServicesResponse
	err := c.Do(ctx, http.MethodGet, realPath(cluster, service, ""), nil, &r)
	return r.RealServices, err
}

// RealService calls GET .../real_services/{r}.
func (c *Client) RealService(ctx context.Context, cluster, service, real string) (*RealService, error) {
	var r RealService
	if err := c.Do(ctx, http.MethodGet, realPath(cluster, service, real), nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// RealServiceStatistics calls GET .../real_services/{r}/statistics.
func (c *Client) RealServiceStatistics(ctx context.Context, cluster, service, real string) (*RealServiceStatistics, error) {
	var r RealServiceStatistics
	if err := c.Do(ctx, http.MethodGet, realPath(cluster, service, real, "statistics"), nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ClusterOp calls POST .../real_services/{r}/{action} with action one of
// enable, disable, enable_fallback, disable_fallback.
func (c *Client) ClusterOp(ctx context.Context, cluster, service, real, action string) (*Job, error) {
	return c.job(ctx, realPath(cluster, service, real, url.PathEscape(action)), nil)
}

// SetWeight calls POST .../real_services/{r}/weight.
func (c *Client) SetWeight(ctx context.Context, cluster, service, real string, weight int) (*Job, error) {
	return c.job(ctx, realPath(cluster, service, real, "weight"), WeightRequest{Weight: &weight})
}

// ZoneDNSSEC calls GET /v1/zones/{zone}/dnssec.
func (c *Client) ZoneDNSSEC(ctx context.Context, zone string) (*ZoneDNSSEC, error) {
	var r ZoneDNSSEC
	if err := c.Do(ctx, http.MethodGet, "/v1/zones/"+url.PathEscape(zone)+"/dnssec", nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}
