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
	"net/url"
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
	start := time.Now()
	req, err := o.newRequest(ctx, t)
	if err != nil {
		return Result{Target: t, Message: err.Error(), Time: time.Now()}
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
	bufs := exchangeBuffers.Get().(*exchangeBuf)
	defer bufs.release()
	resp, err := exchange(conn, req, bufs)
	if err != nil {
		return failure(ctx, t, start, err)
	}
	// Deferred after release, so it runs first: the body reads from bufs.
	defer resp.Body.Close()
	code := resp.StatusCode
	msg := "HTTP " + strconv.Itoa(code)
	if !statusUp(t.StatusRule, code) {
		return Result{Target: t, RTT: time.Since(start), Message: msg, Time: time.Now()}
	}
	if t.Expected != "" {
		body, err := io.ReadAll(io.LimitReader(resp.Body, MaxBodyBytes))
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

// exchange sends req on conn, one request per connection (Connection:
// close, no keep-alive, no compression asked for), and reads the answer's
// status line and header, at most MaxBodyBytes of it. It is what an
// http.Transport with DisableKeepAlives does on the wire, done in the
// caller's goroutine: a transport per attempt cost two goroutines, their
// stack growth and its buffers on every round, more CPU than the probe's
// own syscalls. conn's deadline and close-on-cancel (dial) bound every read
// and write.
func exchange(conn net.Conn, req *http.Request, bufs *exchangeBuf) (*http.Response, error) {
	req.Close = true
	bw := bufs.w
	bw.Reset(conn)
	defer bw.Reset(nil)
	if err := req.Write(bw); err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		return nil, err
	}
	lr := &bufs.limit
	*lr = io.LimitedReader{R: conn, N: MaxBodyBytes}
	br := bufs.r
	br.Reset(lr)
	for range MaxInformational + 1 {
		resp, err := http.ReadResponse(br, req)
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

// exchangeBuf is the buffers of one exchange, reused across rounds: 100,000
// targets at a 10 s interval would otherwise allocate 50 MB/s of them.
type exchangeBuf struct {
	w     *bufio.Writer
	r     *bufio.Reader
	limit io.LimitedReader
}

// release returns the buffers to the pool without the connection.
func (b *exchangeBuf) release() {
	b.r.Reset(nil)
	b.limit = io.LimitedReader{}
	exchangeBuffers.Put(b)
}

var exchangeBuffers = sync.Pool{New: func() any {
	return &exchangeBuf{w: bufio.NewWriterSize(nil, 1024), r: bufio.NewReaderSize(nil, 4096)}
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
