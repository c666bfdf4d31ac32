//go:build unix

package notify

import (
	"errors"
	"net"
	"syscall"
)

// peerClosed reports whether the receiver has closed or reset a TCP
// connection. A syslog receiver never sends, so a non-blocking peek that
// finds end-of-file or an error means the connection is gone; it costs one
// system call and never waits.
func peerClosed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR):
		case err != nil || n == 0:
			closed = true
		}
		return true // never wait for readability
	})
	return closed || err != nil
}
