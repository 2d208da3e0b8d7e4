//go:build unix && !linux

package process

// Without waitid(WNOWAIT) the runtime is reaped before its group is killed,
// which leaves a tiny window in which the group id could be reused.
const canWaitNoReap = false

func waitNoReap(pid int) {}

// killPipeHolders needs /proc and pidfds: elsewhere a process that escaped
// its run's group is left running (and Run waits GraceAfterExit for it).
func killPipeHolders(inodes []uint64) {}
