//go:build linux

package process

import (
	"syscall"

	"golang.org/x/sys/unix"
)

const canWaitNoReap = true

// waitNoReap blocks until pid has exited, leaving it a zombie so that its pid
// (and with it the process group id) cannot be reused before Run kills the
// group and reaps it.
func waitNoReap(pid int) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != syscall.EINTR {
			return
		}
	}
}
