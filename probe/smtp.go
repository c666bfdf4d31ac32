package probe

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// errBannerTooLong reports a banner over maxBannerBytes.
var errBannerTooLong = errors.New("SMTP banner too long")

// probeSMTP reads the whole (possibly multi-line) greeting, checks that it
// is a 220 containing the expected string, and says QUIT. A 4xx or 5xx
// greeting is down. Replies are parsed by net/textproto, which also reads
// net/smtp's replies; its read is bounded by the connection's deadline (the
// attempt's) and by maxBannerBytes over the whole session.
func (o ProberOptions) probeSMTP(ctx context.Context, t Target) Result {
	t = t.WithDefaults()
	start := time.Now()
	conn, err := o.dial(ctx, t)
	if err != nil {
		return failure(ctx, t, start, err)
	}
	defer conn.Close()
	lr := &io.LimitedReader{R: conn, N: maxBannerBytes}
	tr := textproto.NewReader(bufio.NewReader(lr))
	code, banner, err := tr.ReadResponse(0) // 0: any code; judged below
	if err != nil {
		var bad textproto.ProtocolError
		switch {
		case lr.N <= 0:
			err = errBannerTooLong
		case errors.As(err, &bad):
			// The RFC 5321 greeting is "220 <domain> [text]": a bare
			// code or a line without one is not a greeting.
			err = errors.New("malformed SMTP reply: " + clip(string(bad), 200))
		}
		return failure(ctx, t, start, err)
	}
	rtt := time.Since(start)
	down := func(msg string) Result {
		return Result{Target: t, RTT: rtt, Message: msg, Time: time.Now()}
	}
	if code != 220 {
		first, _, _ := strings.Cut(banner, "\n")
		return down("SMTP " + strconv.Itoa(code) + " " + clip(strings.TrimSpace(first), 200))
	}
	// Say goodbye politely, but give a slow server at most a second.
	w := textproto.NewWriter(bufio.NewWriter(conn))
	_ = w.PrintfLine("QUIT")
	quitBy := time.Now().Add(time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(quitBy) {
		quitBy = dl
	}
	_ = conn.SetReadDeadline(quitBy)
	_, _, _ = tr.ReadResponse(221)
	if t.Expected != "" && !strings.Contains(wireReply(code, banner), t.Expected) {
		return down("expected string not found")
	}
	return Result{Target: t, Up: true, RTT: rtt, Message: "SMTP 220", Time: time.Now()}
}

// wireReply rebuilds a reply as it was sent ("220-first\n220 last"), so
// that expected matches the banner an operator sees in telnet, codes
// included.
func wireReply(code int, text string) string {
	lines := strings.Split(text, "\n")
	c := strconv.Itoa(code)
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		lines[i] = c + sep + l
	}
	return strings.Join(lines, "\n")
}

// clip shortens s to at most n bytes.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
