package probe

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"time"
)

// errBannerTooLong reports a banner over maxBannerBytes.
var errBannerTooLong = errors.New("SMTP banner too long")

// probeSMTP reads the whole (possibly multi-line) greeting, checks that it
// is a 220 containing the expected string, and says QUIT. A 4xx or 5xx
// greeting is down.
func (o ProberOptions) probeSMTP(ctx context.Context, t Target) Result {
	t = t.WithDefaults()
	start := time.Now()
	conn, err := o.dial(ctx, t)
	if err != nil {
		return failure(ctx, t, start, err)
	}
	defer conn.Close()
	lr := &io.LimitedReader{R: conn, N: maxBannerBytes}
	code, banner, err := readReply(bufio.NewReader(lr))
	if err != nil {
		if lr.N <= 0 {
			err = errBannerTooLong
		}
		return failure(ctx, t, start, err)
	}
	rtt := time.Since(start)
	down := func(msg string) Result {
		return Result{Target: t, RTT: rtt, Message: msg, Time: time.Now()}
	}
	if code != "220" {
		first, _, _ := strings.Cut(banner, "\n")
		return down("SMTP " + clip(strings.TrimSpace(first), 200))
	}
	// Say goodbye politely, but give a slow server at most a second.
	_, _ = io.WriteString(conn, "QUIT\r\n")
	quitBy := time.Now().Add(time.Second)
	if dl, ok := ctx.Deadline(); ok && dl.Before(quitBy) {
		quitBy = dl
	}
	_ = conn.SetReadDeadline(quitBy)
	_, _, _ = readReply(bufio.NewReader(&io.LimitedReader{R: conn, N: 4096}))
	if t.Expected != "" && !strings.Contains(banner, t.Expected) {
		return down("expected string not found")
	}
	return Result{Target: t, Up: true, RTT: rtt, Message: "SMTP 220", Time: time.Now()}
}

// readReply reads one SMTP reply, all its lines, and returns its code and
// its text (lines joined by "\n", codes included).
func readReply(r *bufio.Reader) (code, text string, err error) {
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) < 3 || !isDigits(line[:3]) || (len(line) > 3 && line[3] != ' ' && line[3] != '-') {
			return "", "", errors.New("malformed SMTP reply " + strings.TrimSpace(clip(line, 100)))
		}
		if code == "" {
			code = line[:3]
		}
		lines = append(lines, line)
		if len(line) == 3 || line[3] == ' ' {
			return code, strings.Join(lines, "\n"), nil
		}
	}
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// clip shortens s to at most n bytes.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
