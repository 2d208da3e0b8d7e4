//go:build unix

package catalogue

import (
	"fmt"
	"net"
	"syscall"
)

// drainBacklog accepts, without waiting, every connection already queued
// on l (a guest that connected and left before the accept loop saw it),
// closes each and returns their peers' addresses, at most maxRecorded+1
// of them; only the first maxRecorded are kept, the count is what matters.
func drainBacklog(l *net.TCPListener) (peers []string, n int) {
	rc, err := l.SyscallConn()
	if err != nil {
		return nil, 0
	}
	_ = rc.Control(func(fd uintptr) {
		for n < 1024 { // bounded; the listener's fd is non-blocking, so EAGAIN ends it
			nfd, sa, err := syscall.Accept(int(fd))
			if err != nil {
				return
			}
			syscall.Close(nfd)
			n++
			if len(peers) < maxRecorded {
				peers = append(peers, sockaddrString(sa))
			}
		}
	})
	return peers, n
}

func sockaddrString(sa syscall.Sockaddr) string {
	if in, ok := sa.(*syscall.SockaddrInet4); ok {
		return fmt.Sprintf("%d.%d.%d.%d:%d", in.Addr[0], in.Addr[1], in.Addr[2], in.Addr[3], in.Port)
	}
	return fmt.Sprintf("%v", sa)
}
