//go:build !unix

package notify

import (
	"errors"
	"net"
	"os"
	"time"
)

// peerClosed reports whether the receiver has closed a TCP connection: a
// syslog receiver never sends, so anything but a read timeout means the
// connection is gone.
func peerClosed(c net.Conn) bool {
	_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
	var buf [1]byte
	_, err := c.Read(buf[:])
	_ = c.SetReadDeadline(time.Time{})
	if err == nil {
		return false
	}
	return !errors.Is(err, os.ErrDeadlineExceeded)
}
