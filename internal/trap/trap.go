// Package trap is how a process that runs a guest tells the process that
// started it that the guest trapped, for the two process boundaries wasicert
// owns both sides of:
//
//   - the wazero shim (cmd/containerd-shim-wazero-v1) ends the task with
//     ExitStatus and writes ShimLine on the task's stderr; the containerd
//     runner (runners/containerd) reads both back with FromShim. containerd
//     carries one exit status and the stdio, nothing else.
//   - a worker executable (cmd/wasicert-worker-*, through
//     internal/process.WorkerEnd) writes a "trap" report on fd 3, which
//     internal/process reads, and exits with ExitStatus.
//
// ExitStatus is 128+SIGABRT (134), what a native process that aborts ends
// with and what wasmtime's and wasmer's CLIs exit with on a trap.
package trap

import "strings"

// ExitStatus is the exit status of a process whose guest trapped:
// 128+SIGABRT, as a shell reports a native process that aborted.
const ExitStatus = 128 + 6

// ShimPrefix starts the one line the wazero shim writes to a task's stderr
// when its guest traps; the trap message follows it.
const ShimPrefix = "containerd-shim-wazero-v1: trap: "

// ShimLine is the line, without its newline, that the wazero shim writes to
// the task's stderr for a trap with message msg: ShimPrefix and msg up to
// its first newline, so that the line stays one line.
func ShimLine(msg string) string {
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return ShimPrefix + msg
}

// FromShim reads a task's end as the wazero shim reports it: the guest
// trapped when status is ExitStatus and the last line of stderr (the tail of
// the task's stderr, its end included) holds ShimPrefix; msg is what follows
// the last ShimPrefix on that line, and an empty msg is not a trap (the
// shim always has one).
//
// The shim writes its line right after whatever the guest wrote, which need
// not end with a newline, so the prefix may sit inside the last line. Any
// other status, or no such line, is not a trap: ok is false.
func FromShim(status int, stderr []byte) (msg string, ok bool) {
	if status != ExitStatus {
		return "", false
	}
	s := strings.TrimRight(string(stderr), "\n")
	last := s[strings.LastIndexByte(s, '\n')+1:]
	i := strings.LastIndex(last, ShimPrefix)
	if i < 0 {
		return "", false
	}
	msg = last[i+len(ShimPrefix):]
	return msg, msg != ""
}
