// Command linux is the entrypoint of the sandbox image cri.sh imports
// (package tripwire): a static Linux binary (CGO_ENABLED=0) that no wasm
// runtime handler should ever execute. If one does, it leaves evidence
// (tripwire.Marker in its root, tripwire.Banner on stderr, a process named
// tripwire.Comm) and behaves like pause: it sleeps until SIGINT or SIGTERM,
// then exits 0; other signals have their default action.
//
//	CGO_ENABLED=0 go build -o wasicert-pause ./ci/kubernetes/pause/linux
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"unsafe"

	"github.com/wasicert/wasicert/ci/kubernetes/pause/tripwire"
	"golang.org/x/sys/unix"
)

// init names the process tripwire.Comm whatever path or name it was
// executed by (a runtime that copies or renames the entrypoint, or execs it
// from a memfd, gives it another comm and exe): init runs on the main
// thread, whose name is the process's /proc/<pid>/comm.
func init() {
	_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&append([]byte(tripwire.Comm), 0)[0])), 0, 0, 0)
}

func main() {
	fmt.Fprintf(os.Stderr, "%s (pid %d)\n", tripwire.Banner, os.Getpid())
	_ = os.WriteFile(tripwire.Marker, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	<-ch
	os.Exit(0)
}
