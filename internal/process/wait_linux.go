//go:build linux

package process

import (
	"os"
	"slices"
	"strconv"
	"strings"
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

// killPipeHolders SIGKILLs every process but this one that holds the write
// end of a pipe whose inode is in inodes: a process of a run that left the
// run's group (setsid) and still holds its stdout, stderr or report pipe.
// Only the run's own processes can hold those write ends (the harness
// closes its copies at start, and Run holds startMu so that no other run's
// child is between fork and exec with a copy), and the process is checked
// again through a pidfd before the kill, so a reused pid is never hit.
// Without pidfds (Linux < 5.3) nothing is killed.
func killPipeHolders(inodes []uint64) {
	ents, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self || !holdsWriteEnd(pid, inodes) {
			continue
		}
		fd, err := unix.PidfdOpen(pid, 0)
		if err != nil {
			continue
		}
		if holdsWriteEnd(pid, inodes) {
			_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		}
		unix.Close(fd)
	}
}

// holdsWriteEnd reports whether pid has an fd open for writing on a pipe
// whose inode is in inodes.
func holdsWriteEnd(pid int, inodes []uint64) bool {
	dir := "/proc/" + strconv.Itoa(pid)
	fds, _ := os.ReadDir(dir + "/fd")
	for _, f := range fds {
		link, _ := os.Readlink(dir + "/fd/" + f.Name())
		ino, ok := strings.CutPrefix(link, "pipe:[")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(ino, "]"), 10, 64)
		if err != nil || !slices.Contains(inodes, n) {
			continue
		}
		info, _ := os.ReadFile(dir + "/fdinfo/" + f.Name())
		for _, line := range strings.Split(string(info), "\n") {
			if v, ok := strings.CutPrefix(line, "flags:"); ok {
				flags, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64)
				if err == nil && flags&unix.O_ACCMODE == unix.O_WRONLY {
					return true
				}
			}
		}
	}
	return false
}
