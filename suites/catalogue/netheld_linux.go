//go:build linux

package catalogue

import (
	"os"
	"strconv"
	"strings"
)

// listenerHeldBySelf reports whether this process holds the socket that
// listens on TCP port on IPv4 (/proc/net/tcp): after a run, that is the
// embedded runtime's socket (the harness's canary client never listens on
// its port), which the runtime kept past the run.
func listenerHeldBySelf(port int) bool {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false
	}
	inodes := map[string]bool{}
	hexPort := strings.ToUpper(strconv.FormatInt(int64(port), 16))
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
		if len(f) < 10 || f[3] != "0A" {
			continue
		}
		if _, p, ok := strings.Cut(f[1], ":"); ok && strings.TrimLeft(p, "0") == hexPort {
			inodes["socket:["+f[9]+"]"] = true
		}
	}
	if len(inodes) == 0 {
		return false
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return false
	}
	for _, e := range ents {
		if t, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && inodes[t] {
			return true
		}
	}
	return false
}
