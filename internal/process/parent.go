package process

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Parent is pid's parent process (the PPid line of /proc/<pid>/status), 0
// when pid is gone or there is no /proc.
func Parent(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "PPid:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}
