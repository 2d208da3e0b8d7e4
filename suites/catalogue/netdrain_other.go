//go:build !unix

package catalogue

import "net"

// drainBacklog is a no-op where raw accept is not available: the accept
// loop alone counts connections.
func drainBacklog(*net.TCPListener) ([]string, int) { return nil, 0 }
