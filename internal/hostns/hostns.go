// Package hostns shows a run token-bearing stand-ins for well-known host
// files (runners.Invocation.HostFiles), so that an escape that reads
// /etc/passwd or /etc/hostname prints a canary the harness finds, although
// no fixture file was touched.
//
// The stand-ins are bind-mounted over the real files inside a private mount
// namespace that only the run sees: a locked OS thread of wasicert's own
// process for an embedded engine (EnterThread), or the runtime's process for
// one started from outside (Wrap, through util-linux's unshare(1) and
// mount(8)). Mount propagation is private, so nothing reaches the host's
// namespace. Both need CAP_SYS_ADMIN (root here): without it Supported says
// why, runners leave HostFiles unapplied, and the summary reports the
// detection as inactive.
package hostns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"

	"github.com/wasicert/wasicert/runners"
)

var (
	once      sync.Once
	supported error
)

// Supported reports whether stand-ins can be applied on this host, and if
// not, why. The answer is found once, by trying.
func Supported() error {
	once.Do(func() { supported = probe() })
	return supported
}

func probe() error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (a private mount namespace)")
	}
	errc := make(chan error, 1)
	go func() {
		// The thread is locked and never unlocked: Go ends it with the
		// goroutine, and its namespace with it.
		runtime.LockOSThread()
		errc <- enter(nil)
	}()
	if err := <-errc; err != nil {
		return err
	}
	for _, tool := range []string{"unshare", "mount"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("needs %s(8) from util-linux for out-of-process runtimes: %w", tool, err)
		}
	}
	return nil
}

// EnterThread moves the calling goroutine's OS thread into a private mount
// namespace in which each file's Path shows its StandIn. The caller must
// have called runtime.LockOSThread and must never unlock it: the thread then
// ends with the goroutine, and Go starts new threads from a clean template
// thread, so no other goroutine ever sees the stand-ins.
func EnterThread(files []runners.HostFile) error {
	if err := Supported(); err != nil {
		return err
	}
	return enter(files)
}

func enter(files []runners.HostFile) error {
	if err := syscall.Unshare(syscall.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWNS): %w", err)
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	for _, f := range files {
		if err := syscall.Mount(f.StandIn, f.Path, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind %s over %s: %w", f.StandIn, f.Path, err)
		}
	}
	return nil
}

// script bind-mounts pairs of arguments (stand-in, host path) up to "--",
// then execs the rest: the runtime keeps the pid, so its process group,
// signals and exit status are its own.
const script = `while [ "$1" != "--" ]; do mount --bind -- "$1" "$2" || exit 125; shift 2; done; shift; exec "$@"`

// Wrap returns the command line that runs path with args in a private mount
// namespace showing the stand-ins: unshare(1) with private propagation, a
// shell that bind-mounts them, then exec of the runtime. A failed mount
// exits 125 before the runtime starts.
func Wrap(path string, args []string, files []runners.HostFile) (string, []string, error) {
	if err := Supported(); err != nil {
		return "", nil, err
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return "", nil, err
	}
	out := []string{"--mount", "--propagation", "private", "/bin/sh", "-c", script, "wasicert-hostns"}
	for _, f := range files {
		out = append(out, f.StandIn, f.Path)
	}
	out = append(out, "--", path)
	return unshare, append(out, args...), nil
}
