package probe

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// probeHTTP sends one HTTP(S) request and applies the target's status rule
// and expected string. It follows no redirects, reads at most MaxBodyBytes of
// body, and verifies certificates unless TLSSkipVerify is set.
func (o ProberOptions) probeHTTP(ctx context.Context, t Target) Result {
	t = t.WithDefaults()
	return o.exchangeHTTP(ctx, t, o.prepareHTTP(t))
}

// boundHTTP returns the probe function of one HTTP(S) target (after
// WithDefaults), which builds the request once rather than every round:
// the Scheduler probes each target with its own. It sends the same bytes
// as probeHTTP.
func (o *ProberOptions) boundHTTP(t Target) Func {
	prepared := o.prepareHTTP(t)
	probe := func(ctx context.Context, t Target) Result {
		return o.exchangeHTTP(ctx, t, prepared)
	}
	if _, err := netip.ParseAddr(t.Address); err == nil {
		return probe // an address has no addresses to report (withAddresses)
	}
	return o.withAddresses(probe)
}

// httpRequest is a target's probe request as it goes on the wire.
type httpRequest struct {
	// wire is the request's bytes, Connection: close and body included.
	wire []byte
	// read is what http.ReadResponse is given: it reads only the method.
	read *http.Request
	// invalid is why no request can be built (a bad path or header line):
	// every attempt fails with it before dialing. writeErr is why the
	// request cannot be written (a bad Host): attempts fail with it once
	// connected, where writing it failed before requests were built once.
	invalid, writeErr error
}

// prepareHTTP builds t's probe request (t after WithDefaults).
func (o ProberOptions) prepareHTTP(t Target) *httpRequest {
	req, err := o.newRequest(context.Background(), t)
	if err != nil {
		return &httpRequest{invalid: err}
	}
	// One request per connection: what an http.Transport with
	// DisableKeepAlives sends.
	req.Close = true
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		return &httpRequest{writeErr: err}
	}
	read, ok := readRequests[req.Method]
	if !ok {
		read = &http.Request{Method: req.Method}
	}
	return &httpRequest{wire: bytes.Clone(b.Bytes()), read: read}
}

// readRequests are the requests http.ReadResponse is given for the common
// methods, shared by all targets (it only reads them).
var readRequests = map[string]*http.Request{
	http.MethodGet:  {Method: http.MethodGet},
	http.MethodPost: {Method: http.MethodPost},
	http.MethodHead: {Method: http.MethodHead},
}

// exchangeHTTP runs one attempt of t with its prepared request.
func (o ProberOptions) exchangeHTTP(ctx context.Context, t Target, prepared *httpRequest) Result {
	start := time.Now()
	if prepared.invalid != nil {
		return Result{Target: t, Message: prepared.invalid.Error(), Time: time.Now()}
	}
	conn, err := o.dial(ctx, t)
	if err != nil {
		return failure(ctx, t, start, err)
	}
	defer conn.Close()
	if t.Protocol == HTTPS {
		tc := tls.Client(conn, &tls.Config{
			ServerName:         tlsServerName(t),
			InsecureSkipVerify: t.TLSSkipVerify, //nolint:gosec // opt-in per monitor
			RootCAs:            o.RootCAs,
			NextProtos:         []string{"http/1.1"},
		})
		if err := tc.HandshakeContext(ctx); err != nil {
			return failure(ctx, t, start, err)
		}
		conn = tc
	}
	if prepared.writeErr != nil {
		return failure(ctx, t, start, prepared.writeErr)
	}
	bufs := exchangeBuffers.Get().(*exchangeBuf)
	defer bufs.release()
	resp, err := exchange(conn, prepared, bufs)
	if err != nil {
		return failure(ctx, t, start, err)
	}
	// Deferred after release, so it runs first: the body reads from bufs.
	defer resp.Body.Close()
	code := resp.StatusCode
	msg := statusMessage(code)
	if !statusUp(t.StatusRule, code) {
		return Result{Target: t, RTT: time.Since(start), Message: msg, Time: time.Now()}
	}
	if t.Expected != "" {
		body, err := bufs.readBody(resp.Body)
		if !bytes.Contains(body, []byte(t.Expected)) {
			if err != nil {
				return failure(ctx, t, start, err)
			}
			return Result{Target: t, RTT: time.Since(start), Message: "expected string not found", Time: time.Now()}
		}
	}
	return Result{Target: t, Up: true, RTT: time.Since(start), Message: msg, Time: time.Now()}
}

// MaxInformational is how many 1xx answers may come before the real one,
// as in net/http's Transport.
const MaxInformational = 5

// exchange sends the prepared request on conn and reads the answer's status
// line and header, at most MaxBodyBytes of it. It is what an http.Transport
// with DisableKeepAlives does on the wire, done in the caller's goroutine:
// a transport per attempt cost two goroutines, their stack growth and its
// buffers on every round, more CPU than the probe's own syscalls. conn's
// deadline and close-on-cancel (dial) bound every read and write.
func exchange(conn net.Conn, prepared *httpRequest, bufs *exchangeBuf) (*http.Response, error) {
	if _, err := conn.Write(prepared.wire); err != nil {
		return nil, err
	}
	lr := &bufs.limit
	*lr = io.LimitedReader{R: conn, N: MaxBodyBytes}
	br := bufs.r
	br.Reset(lr)
	for range MaxInformational + 1 {
		resp, err := http.ReadResponse(br, prepared.read)
		if err != nil {
			if lr.N <= 0 {
				return nil, fmt.Errorf("server response headers exceeded %d bytes; aborted", MaxBodyBytes)
			}
			return nil, err
		}
		if resp.StatusCode < 100 || resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			// The body is read from here on, bounded by the caller.
			lr.N = 1 << 62
			return resp, nil
		}
		_ = resp.Body.Close()
	}
	return nil, fmt.Errorf("too many 1xx informational responses")
}

// exchangeBuf is the buffers of one exchange, reused across rounds:
// 100,000 targets at a 10 s interval would otherwise allocate 45 MB/s of
// them.
type exchangeBuf struct {
	r     *bufio.Reader
	limit io.LimitedReader
	body  []byte
}

// keptBodyBytes is the largest body buffer kept for the next exchange: a
// rare large body does not pin MaxBodyBytes per pooled buffer.
const keptBodyBytes = 4 << 10

// readBody reads at most MaxBodyBytes of body into b's buffer; the result
// is valid until release.
func (b *exchangeBuf) readBody(body io.Reader) ([]byte, error) {
	buf := b.body[:0]
	for len(buf) < MaxBodyBytes {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(max(512, cap(buf)), MaxBodyBytes-len(buf)))
		}
		n, err := body.Read(buf[len(buf):min(cap(buf), MaxBodyBytes)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			b.body = buf
			return buf, err
		}
	}
	b.body = buf
	return buf, nil
}

// release returns the buffers to the pool without the connection.
func (b *exchangeBuf) release() {
	b.r.Reset(nil)
	b.limit = io.LimitedReader{}
	if cap(b.body) > keptBodyBytes {
		b.body = nil
	}
	exchangeBuffers.Put(b)
}

// statusMessages are the messages of the status codes 100 to 599, built
// once: "HTTP 200".
var statusMessages = func() (m [500]string) {
	for i := range m {
		m[i] = "HTTP " + strconv.Itoa(100+i)
	}
	return m
}()

// statusMessage is the message of an HTTP status code: "HTTP 200".
func statusMessage(code int) string {
	if code >= 100 && code < 600 {
		return statusMessages[code-100]
	}
	return "HTTP " + strconv.Itoa(code)
}

var exchangeBuffers = sync.Pool{New: func() any {
	return &exchangeBuf{r: bufio.NewReaderSize(nil, 4096)}
}}

// statusUp applies a status rule to an HTTP status code.
func statusUp(rule StatusRule, code int) bool {
	switch rule {
	case Require2xx:
		return code >= 200 && code <= 299
	case Require2xx3xx:
		return code >= 200 && code <= 399
	}
	return true
}

// newRequest builds the probe request: method, path, Host header, body,
// User-Agent and the target's header lines.
func (o ProberOptions) newRequest(ctx context.Context, t Target) (*http.Request, error) {
	scheme := "http"
	if t.Protocol == HTTPS {
		scheme = "https"
	}
	ref, err := url.ParseRequestURI(t.Path)
	if err != nil {
		return nil, fmt.Errorf("invalid path %q", t.Path)
	}
	u := &url.URL{Scheme: scheme, Host: hostPort(t.Address, t.Port), Path: ref.Path, RawPath: ref.RawPath, RawQuery: ref.RawQuery}
	var body io.Reader
	if t.Body != "" {
		body = strings.NewReader(t.Body)
	}
	req, err := http.NewRequestWithContext(ctx, t.Method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("invalid request: %v", err)
	}
	req.Host = hostHeader(t)
	req.Header.Set("User-Agent", "failoverd/"+o.Version)
	if t.Body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, line := range t.Header {
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if !ok || name == "" {
			return nil, fmt.Errorf("invalid header line %q", line)
		}
		switch http.CanonicalHeaderKey(name) {
		case "Host":
			req.Host = value
		case "User-Agent", "Content-Type":
			req.Header.Set(name, value)
		default:
			req.Header.Add(name, value)
		}
	}
	return req, nil
}

// hostHeader is the target's Host, or its address with a non-default port.
func hostHeader(t Target) string {
	if t.Host != "" {
		return t.Host
	}
	if t.Port == DefaultPort(t.Protocol) {
		if strings.Contains(t.Address, ":") {
			return "[" + t.Address + "]"
		}
		return t.Address
	}
	return hostPort(t.Address, t.Port)
}

// tlsServerName is the name the certificate must match: the host part of
// Host when set, else the address (an IP address is matched against the
// certificate's IP SANs and sends no SNI).
func tlsServerName(t Target) string {
	name := t.Host
	if name == "" {
		return t.Address
	}
	if h, _, err := net.SplitHostPort(name); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
}
