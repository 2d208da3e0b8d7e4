//go:build !linux

package process

import (
	"syscall"

	"github.com/wasicert/wasicert/runners"
)

// Bounds need Linux (cgroup v2, prlimit, ptrace): elsewhere runs are bounded
// only by their timeout and their process group.
func boundsOf(lim Limits) []string {
	return []string{"memory, file size, open files, processes: not bounded on this system (Linux only)"}
}

type bound struct{}

func newBound(Limits) *bound                                      { return &bound{} }
func (b *bound) active() bool                                     { return false }
func (b *bound) attr(*syscall.SysProcAttr)                        {}
func (b *bound) startFailed(error)                                {}
func (b *bound) started(int)                                      {}
func (b *bound) killAll()                                         {}
func (b *bound) annotate(*runners.Result, []byte, syscall.Signal) {}
func (b *bound) remove()                                          {}
